"""Session spending (`spend_control`, `budget_reached`), failed turns vs failed sessions, vaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai.types.beta import Agent, AgentSession

from tests.sandbox.agents.conftest import events_until

NONE = {"type": "none"}


def _message(text: str) -> Any:
    return {
        "type": "agent.session.input.message",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}],
    }


@pytest.fixture
def priced_rules(rules: Callable[..., None]) -> None:
    rules(
        "(?i)weather",
        function_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}],
        reply="It is {outputs[get_weather]}.",
        cost_cents=8,
    )
    rules("(?i)research", reply="Researched.", cost_cents=8)
    rules("(?i)cheap", reply="Cheap.", cost_cents=1)
    rules("(?i)break the turn", status="failed", error="The model broke.")
    rules("(?i)break the session", status="session_failed", error="The host broke.")


def _session(client: openai.OpenAI, agent: Agent, **kwargs: Any) -> AgentSession:
    return client.beta.agents.sessions.create(agent_id=agent.id, environment=NONE, **kwargs)  # type: ignore[arg-type]


def test_spend_control_is_on_every_session_and_accepted_on_create_and_update(
    client: openai.OpenAI, agent: Agent, priced_rules: None
) -> None:
    sessions = client.beta.agents.sessions
    unlimited = _session(client, agent)
    assert (unlimited.spend_control.limit, unlimited.spend_control.consumed) == (None, 0)
    limited = _session(client, agent, spend_control={"limit": 500})
    assert limited.spend_control.limit == 500
    assert sessions.retrieve(limited.id).spend_control.limit == 500
    listed = {s.id: s.spend_control.limit for s in sessions.list(agent_id=agent.id)}
    assert listed[limited.id] == 500 and listed[unlimited.id] is None
    assert sessions.update(limited.id, spend_control={"limit": 900}).spend_control.limit == 900
    assert sessions.update(limited.id, metadata={"k": "v"}).spend_control.limit == 900  # kept
    assert sessions.update(limited.id, spend_control={"limit": None}).spend_control.limit is None
    assert sessions.update(unlimited.id, spend_control={"limit": 40}).spend_control.limit == 40
    assert sessions.update(unlimited.id, spend_control=None).spend_control.limit is None
    with sessions.stream(limited.id, input="cheap") as stream:
        events = list(stream)
    carried = [(e.type, e.session.spend_control) for e in events if hasattr(e, "session")]
    assert [(t, c.limit, c.consumed) for t, c in carried] == [
        ("agent.session.in_progress", None, 0),  # before the model call
        ("agent.session.idle", None, 1),
    ]
    assert sessions.retrieve(limited.id).spend_control.consumed == 1


def test_a_turn_that_passes_the_limit_completes_and_pauses_the_session(
    client: openai.OpenAI, agent: Agent, priced_rules: None
) -> None:
    sessions = client.beta.agents.sessions
    session = _session(client, agent, spend_control={"limit": 5})
    with sessions.stream(session.id, input="research this") as stream:
        events = list(stream)
        # The SDK's helper ends the turn at budget_reached once the turn has ended.
        assert [e.type for e in events[-2:]] == [
            "agent.session.turn.completed",
            "agent.session.budget_reached",
        ]
    paused = sessions.retrieve(session.id)
    assert paused.status == "budget_reached"
    assert (paused.spend_control.limit, paused.spend_control.consumed) == (5, 8)
    assert sessions.items.list(session.id).data[0].type == "message"  # the reply was kept
    with pytest.raises(openai.ConflictError) as caught:
        sessions.events.create(session.id, events=[_message("cheap")])
    assert caught.value.status_code == 409 and caught.value.code == "session_budget_exceeded"
    # Raising the limit resumes the session, announced as idle; spend is never reset.
    with sessions.events.stream(session.id) as stream:
        resumed = sessions.update(session.id, spend_control={"limit": 20})
        idle = events_until(stream, "agent.session.idle")[-1]
    assert resumed.status == "idle" and resumed.spend_control.consumed == 8
    assert idle.type == "agent.session.idle" and idle.session.spend_control.limit == 20
    with sessions.stream(session.id, input="cheap") as stream:
        assert stream.get_final_result().output_text == "Cheap."
    assert sessions.retrieve(session.id).spend_control.consumed == 9


def test_a_turn_that_needs_a_model_call_past_the_limit_fails_with_the_budget_error(
    client: openai.OpenAI, agent: Agent, priced_rules: None
) -> None:
    sessions = client.beta.agents.sessions
    session = _session(client, agent, spend_control={"limit": 5})
    handlers = {"get_weather": lambda args: "sunny"}
    with sessions.stream(session.id, input="weather?", tool_handlers=handlers) as stream:
        events = list(stream)
    assert [e.type for e in events[-2:]] == [
        "agent.session.turn.failed",
        "agent.session.budget_reached",
    ]
    failed = events[-2]
    assert failed.type == "agent.session.turn.failed" and failed.turn.error is not None
    assert failed.turn.error.code == "session_budget_exceeded"
    reached = events[-1]
    assert reached.type == "agent.session.budget_reached"
    assert reached.session.status == "budget_reached"
    assert reached.session.spend_control.consumed == 8
    turn = sessions.turns.list(session.id).data[0]
    assert turn.status == "failed" and turn.error is not None
    assert turn.error.code == "session_budget_exceeded"
    # Removing the limit resumes the session too.
    assert sessions.update(session.id, spend_control={"limit": None}).status == "idle"


def test_lowering_the_limit_to_the_spend_pauses_an_idle_session(
    client: openai.OpenAI, agent: Agent, priced_rules: None
) -> None:
    sessions = client.beta.agents.sessions
    session = _session(client, agent)
    with sessions.stream(session.id, input="cheap") as stream:
        stream.until_done()
    with sessions.events.stream(session.id) as stream:
        paused = sessions.update(session.id, spend_control={"limit": 1})
        reached = events_until(stream, "agent.session.budget_reached")[-1]
    assert paused.status == "budget_reached"
    assert reached.type == "agent.session.budget_reached" and reached.session.id == session.id
    assert sessions.update(session.id, spend_control={"limit": 2}).status == "idle"


def test_a_failed_turn_leaves_the_session_usable(
    client: openai.OpenAI, agent: Agent, priced_rules: None
) -> None:
    sessions = client.beta.agents.sessions
    session = _session(client, agent)
    with sessions.stream(session.id, input="break the turn") as stream:
        events = list(stream)
    assert [e.type for e in events[-2:]] == ["agent.session.turn.failed", "agent.session.idle"]
    rested = sessions.retrieve(session.id)
    assert rested.status == "idle" and rested.error is None
    turn = sessions.turns.list(session.id).data[0]
    assert turn.status == "failed" and turn.error is not None
    assert (turn.error.code, turn.error.message) == ("server_error", "The model broke.")
    with sessions.stream(session.id, input="cheap") as stream:
        assert stream.get_final_result().output_text == "Cheap."


def test_a_session_failure_fails_the_session_for_good(
    client: openai.OpenAI, agent: Agent, priced_rules: None
) -> None:
    sessions = client.beta.agents.sessions
    session = _session(client, agent)
    with sessions.stream(session.id, input="break the session") as stream:
        events = list(stream)
    assert [e.type for e in events[-2:]] == ["agent.session.turn.failed", "agent.session.failed"]
    failed = sessions.retrieve(session.id)
    assert failed.status == "failed" and failed.error == "The host broke."
    with pytest.raises(openai.ConflictError) as caught:
        sessions.events.create(session.id, events=[_message("cheap")])
    assert caught.value.code == "session_failed"


def test_vault_ids_on_update(client: openai.OpenAI, agent: Agent) -> None:
    sessions = client.beta.agents.sessions
    session = _session(client, agent)
    assert sessions.update(session.id, vault_ids=[]).vault_ids == []
    assert sessions.update(session.id, vault_ids=None).vault_ids == []
    with pytest.raises(openai.NotFoundError) as caught:
        sessions.update(session.id, vault_ids=["vault_nope"], metadata={"k": "v"})
    assert caught.value.body["param"] == "vault_ids[0]"  # type: ignore[index]
    assert sessions.retrieve(session.id).metadata == {}  # a refused update changes nothing
