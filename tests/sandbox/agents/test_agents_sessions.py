"""Agent sessions through the official SDK and raw HTTP: turns, function calls, commands, events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai.types.beta import Agent
from openai.types.beta.agent_session_event import AgentSessionEvent

from asst_deploy.sandbox.faults import FaultRule
from asst_deploy.sandbox.server import SandboxServer
from tests.sandbox.agents.conftest import aevents_until, events_until, sse_events, validate_as

NONE = {"type": "none"}
HEADERS = {"OpenAI-Beta": "agents=v1", "Authorization": "Bearer sk-sandbox-test"}


@pytest.fixture
def weather_rules(rules: Callable[..., None]) -> None:
    """Round one: two parallel calls; round two: one call; the reply uses the outputs."""
    rules(
        r"compare (?P<a>\w+) and (?P<b>\w+)",
        agent="Weather agent",
        function_calls=[
            {"name": "get_weather", "arguments": {"city": "{match[a]}"}},
            {"name": "get_time", "arguments": {"city": "{match[b]}"}},
        ],
        reply="{match[a]}: {outputs[get_weather]}; {match[b]}: {outputs[get_time]}.",
    )
    rules(
        r"weather in (?P<city>\w+)",
        agent="Weather agent",
        function_calls=[{"name": "get_weather", "arguments": {"city": "{match[city]}"}}],
        reply="It is {outputs[get_weather]} in {arguments[get_weather][city]}.",
    )
    rules(r"hello", reply="Hello there.")


def _message(text: str) -> Any:
    return {
        "type": "agent.session.input.message",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}],
    }


def _session(client: openai.OpenAI, agent: Agent, **kwargs: Any) -> Any:
    return client.beta.agents.sessions.create(agent_id=agent.id, environment=NONE, **kwargs)  # type: ignore[arg-type]


def test_two_rounds_of_function_calls_through_the_sdk_helper(
    client: openai.OpenAI, agent: Agent, weather_rules: None
) -> None:
    session = _session(client, agent)
    calls: list[tuple[str, dict[str, Any]]] = []

    def weather(args: dict[str, Any]) -> str:
        calls.append(("get_weather", args))
        return f"sunny in {args['city']}"

    def clock(args: dict[str, Any]) -> str:
        calls.append(("get_time", args))
        return "noon"

    handlers = {"get_weather": weather, "get_time": clock}
    sessions = client.beta.agents.sessions
    with sessions.stream(session.id, input="compare Paris and Oslo", tool_handlers=handlers) as s:
        first = s.get_final_result()
    assert first.output_text == "Paris: sunny in Paris; Oslo: noon."
    with sessions.stream(session.id, input="weather in Rome", tool_handlers=handlers) as s:
        types = [event.type for event in s]
    assert calls == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"city": "Oslo"}),
        ("get_weather", {"city": "Rome"}),
    ]
    assert types[0] == "agent.session.turn.created" and types[-1] == "agent.session.idle"
    assert "agent.session.requires_action" in types
    done = sessions.retrieve(session.id)
    assert done.status == "idle" and done.required_actions == []
    assert done.usage is not None and done.usage.total_tokens > 0
    turns = sessions.turns.list(session.id, order="asc").data
    assert [t.status for t in turns] == ["completed", "completed"]
    items = sessions.items.list(session.id, order="asc").data
    assert [i.type for i in items] == [
        "message",
        "function_call",
        "function_call",
        "function_call_output",
        "function_call_output",
        "message",
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    last = items[-1]
    assert last.type == "message" and last.role == "assistant"
    assert last.output_text == "It is sunny in Rome in Rome."
    turn_items = sessions.turns.items.list(turns[1].id, session_id=session.id).data
    assert {i.turn_id for i in turn_items} == {turns[1].id} and len(turn_items) == 4
    assert sessions.turns.retrieve(turns[0].id, session_id=session.id).status == "completed"


@pytest.mark.anyio
async def test_async_helper_with_an_async_handler(
    aclient: openai.AsyncOpenAI, client: openai.OpenAI, agent: Agent, weather_rules: None
) -> None:
    session = await aclient.beta.agents.sessions.create(agent_id=agent.id, environment=NONE)  # type: ignore[arg-type]

    async def weather(args: dict[str, Any]) -> str:
        return "rainy"

    async with aclient.beta.agents.sessions.stream(
        session.id, input="weather in Bergen", tool_handlers={"get_weather": weather}
    ) as stream:
        result = await stream.get_final_result()
    assert result.output_text == "It is rainy in Bergen."
    got = await aclient.beta.agents.sessions.retrieve(session.id)
    assert got.status == "idle"
    listed = [s.id async for s in aclient.beta.agents.sessions.list(agent_id=agent.id)]
    assert session.id in listed
    await aclient.beta.agents.sessions.delete(session.id)


def _read_until(lines: Iterator[str], last: str) -> list[dict[str, Any]]:
    """Raw SSE events up to and including the first of type `last`, each validated."""
    events: list[dict[str, Any]] = []
    block: list[str] = []
    try:
        for line in lines:
            if line:
                block.append(line)
                continue
            parsed = sse_events(("\n".join(block) + "\n\n").encode())
            block = []
            for event in parsed:
                validate_as(AgentSessionEvent, event)
                events.append(event)
                if event["type"] == last:
                    return events
    except httpx2.TimeoutException:
        pytest.fail(f"the stream went quiet before {last}; saw {[e['type'] for e in events]}")
    raise AssertionError(f"the stream ended before {last}")


def test_two_rounds_through_raw_post_and_get_events(
    server: SandboxServer, client: openai.OpenAI, agent: Agent, weather_rules: None
) -> None:
    session = _session(client, agent)
    url = f"/agents/sessions/{session.id}/events"
    with (
        httpx2.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as http,
        http.stream("GET", url) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        for text, outputs in (
            ("compare Lima and Quito", ["warm", "1pm"]),
            ("weather in Oslo", ["cold"]),
        ):
            message = {
                "type": "agent.session.input.message",
                "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}],
            }
            posted = http.post(url, json={"events": [message]})
            assert posted.status_code == 202
            events = _read_until(lines, "agent.session.requires_action")
            calls = [
                e["item"]
                for e in events
                if e["type"] == "agent.session.turn.item.added"
                and e["item"]["type"] == "function_call"
            ]
            assert len(calls) == len(outputs)
            pending = events[-1]["session"]["required_actions"]
            assert [a["call_id"] for a in pending] == [c["call_id"] for c in calls]
            results = [
                {
                    "type": "agent.session.input.tool_result",
                    "call_id": call["call_id"],
                    "turn_id": call["turn_id"],
                    "success": True,
                    "output": output,
                }
                for call, output in zip(calls, outputs, strict=True)
            ]
            # One result at a time: the session waits until every call has its result.
            assert http.post(url, json={"events": results[:1]}).status_code == 202
            if len(results) > 1:
                assert client.beta.agents.sessions.retrieve(session.id).status == "requires_action"
                assert http.post(url, json={"events": results[1:]}).status_code == 202
            events = _read_until(lines, "agent.session.idle")
            done = [e for e in events if e["type"] == "agent.session.turn.output_text.done"]
            assert len(done) == 1
        assert done[0]["text"] == "It is cold in Oslo."
        ids = [e["event_id"] for e in events]
        assert len(set(ids)) == len(ids)


def test_a_text_turn_emits_events_in_order(
    client: openai.OpenAI, agent: Agent, weather_rules: None
) -> None:
    stream = client.beta.agents.sessions.create(
        agent_id=agent.id,
        environment=NONE,
        input="hello",
        stream=True,  # type: ignore[arg-type]
    )
    types = [event.type for event in stream]
    deltas = types.count("agent.session.turn.output_text.delta")
    assert deltas == 2  # "Hello" " there."
    assert types == [
        "agent.session.created",
        "agent.session.turn.created",
        "agent.session.turn.item.added",  # the user message
        "agent.session.in_progress",
        "agent.session.turn.in_progress",
        "agent.session.turn.item.added",
        "agent.session.turn.content_part.added",
        *["agent.session.turn.output_text.delta"] * deltas,
        "agent.session.turn.output_text.done",
        "agent.session.turn.content_part.done",
        "agent.session.turn.item.done",
        "agent.session.turn.completed",
        "agent.session.idle",
    ]


def test_command_execution_in_a_hosted_environment(
    client: openai.OpenAI, agent: Agent, rules: Callable[..., None]
) -> None:
    rules(
        "(?i)count",
        code_interpreter={"input": "wc -l data.csv", "logs": "3 data.csv"},
        reply="3 lines.",
    )
    file = client.files.create(file=("data.csv", b"a\nb\nc\n"), purpose="assistants")
    template = client.beta.agents.environments.templates.create(
        name="shell",
        files=[{"type": "file_id", "file_id": file.id, "path": "/workspace/data.csv"}],
        env={"SECRET": "x"},
    )
    session = _session_in(client, agent, template.id)
    try:
        assert session.environment.type == "openai_hosted"
        assert session.environment.files[0].type == "file_id"
        assert session.environment.files[0].size_bytes == 6
        assert "env" not in session.environment.to_dict()
        with client.beta.agents.sessions.stream(session.id, input="count the rows") as s:
            events = list(s)
        added = [e for e in events if e.type == "agent.session.turn.item.added"]
        command = [e.item for e in added if e.item.type == "command_execution"]
        assert len(command) == 1
        delta = [e for e in events if e.type == "agent.output.command_execution_output.delta"]
        assert "".join(d.delta for d in delta) == "3 data.csv"
        items = client.beta.agents.sessions.items.list(session.id, order="asc").data
        ran = [i for i in items if i.type == "command_execution"]
        assert ran[0].type == "command_execution"
        assert (ran[0].command, ran[0].output, ran[0].exit_code) == (
            "wc -l data.csv",
            "3 data.csv",
            0,
        )
        assert items[-1].type == "message" and items[-1].output_text == "3 lines."
        # Without an environment the same rule fails the turn; the session stays usable.
        bare = _session(client, agent)
        with client.beta.agents.sessions.stream(bare.id, input="count again") as s:
            last = list(s)
        assert [e.type for e in last[-2:]] == ["agent.session.turn.failed", "agent.session.idle"]
        failed_turn = last[-2]
        assert failed_turn.type == "agent.session.turn.failed"
        assert failed_turn.turn.error is not None
        assert failed_turn.turn.error.code == "sandbox_error"
        rested = client.beta.agents.sessions.retrieve(bare.id)
        assert rested.status == "idle" and rested.error is None
    finally:
        client.beta.agents.environments.templates.delete(template.id)
        client.files.delete(file.id)


def _session_in(client: openai.OpenAI, agent: Agent, template_id: str) -> Any:
    return client.beta.agents.sessions.create(
        agent_id=agent.id,
        environment={"type": "openai_hosted", "environment_template_id": template_id},
    )


def test_cancel_a_waiting_turn(client: openai.OpenAI, agent: Agent, weather_rules: None) -> None:
    # Subscribe first, then post the input: the stream only sends events after the
    # subscription, so an input sent with the create could be answered before it.
    session = _session(client, agent)
    sessions = client.beta.agents.sessions
    with sessions.events.stream(session.id) as stream:
        sessions.events.create(session.id, events=[_message("weather in Kyiv")])
        events_until(stream, "agent.session.requires_action")
    waiting = sessions.retrieve(session.id)
    assert waiting.status == "requires_action"
    action = waiting.required_actions[0]
    assert action.type == "function_call" and action.name == "get_weather"
    sessions.events.create(session.id, events=[{"type": "agent.session.input.cancel"}])
    idle = sessions.retrieve(session.id)
    assert idle.status == "idle" and idle.required_actions == []
    assert sessions.turns.list(session.id).data[0].status == "cancelled"


def test_idempotency_key_applies_an_input_once(
    client: openai.OpenAI, agent: Agent, weather_rules: None
) -> None:
    session = _session(client, agent)
    message = _message("hello")
    events = client.beta.agents.sessions.events
    for _ in range(2):
        events.create(session.id, events=[message], idempotency_key="key-1")  # type: ignore[list-item]
    assert len(client.beta.agents.sessions.turns.list(session.id).data) == 1
    with pytest.raises(openai.BadRequestError) as caught:
        events.create(
            session.id, events=[{"type": "agent.session.input.cancel"}], idempotency_key="key-1"
        )
    assert caught.value.code == "idempotency_key_reused"


def test_inline_agent_list_filters_and_update(client: openai.OpenAI, agent: Agent) -> None:
    sessions = client.beta.agents.sessions
    inline = sessions.create(
        agent={"model": "gpt-5-mini", "instructions": "Inline."},
        environment=NONE,
        metadata={"suite": "filters"},
    )
    saved = sessions.create(
        agent_id=agent.id,
        agent={"instructions": "Override."},
        environment=NONE,
        metadata={"suite": "filters", "kind": "saved"},
    )
    assert inline.agent.id.startswith("agent_") and inline.agent.model == "gpt-5-mini"
    assert saved.agent.id == agent.id and saved.agent.name == "Weather agent"
    assert saved.agent.instructions == "Override."
    by_agent = [s.id for s in sessions.list(agent_id=agent.id)]
    assert saved.id in by_agent and inline.id not in by_agent
    by_meta = [s.id for s in sessions.list(metadata={"kind": "saved"})]
    assert by_meta == [saved.id]
    updated = sessions.update(saved.id, agent={"model": "gpt-5.1"}, metadata={"k": "v"})
    assert updated.agent.model == "gpt-5.1" and updated.metadata == {"k": "v"}
    assert updated.agent.instructions == "Override."
    gone = sessions.delete(inline.id)
    assert gone.object == "agent.session.deleted" and gone.deleted
    sessions.delete(saved.id)


def test_faults_latency_and_the_request_log_cover_agent_routes(
    server: SandboxServer,
    client: openai.OpenAI,
    faults: Callable[..., Any],
) -> None:
    faults(FaultRule(method="POST", path="/agents", rate_500=1.0))
    with pytest.raises(openai.InternalServerError):
        client.beta.agents.create(model="gpt-5")
    faults(FaultRule(path="/agents*", latency_ms=60))
    start = server.log.total
    listed = client.beta.agents.list()
    assert listed.object == "list"  # type: ignore[attr-defined]
    entries = server.log.since(start)
    assert [(e.method, e.path, e.status) for e in entries] == [("GET", "/v1/agents", 200)]
    assert entries[0].duration_ms >= 60
    body = json.loads(entries[0].body or b"")
    assert body["object"] == "list"


def test_create_stream_runs_tool_handlers_until_idle(
    client: openai.OpenAI, agent: Agent, weather_rules: None
) -> None:
    stream = client.beta.agents.sessions.create(
        agent_id=agent.id,
        environment=NONE,  # type: ignore[arg-type]
        input="weather in Nice",
        stream=True,
        tool_handlers={"get_weather": lambda args: f"mild ({args['city']})"},
    )
    events = list(stream)
    types = [e.type for e in events]
    assert types[0] == "agent.session.created" and types[-1] == "agent.session.idle"
    assert types.index("agent.session.requires_action") < types.index(
        "agent.session.turn.completed"
    )
    text = [e for e in events if e.type == "agent.session.turn.output_text.done"]
    assert text[0].text == "It is mild (Nice) in Nice."


@pytest.mark.anyio
async def test_async_client_drives_every_session_endpoint(
    aclient: openai.AsyncOpenAI, agent: Agent, weather_rules: None
) -> None:
    templates = aclient.beta.agents.environments.templates
    template = await templates.create(name="async", packages={"npm": ["left-pad"]})
    assert (await templates.retrieve(template.id)).packages.npm == ["left-pad"]
    assert (await templates.update(template.id, name="async 2")).name == "async 2"
    assert template.id in [t.id async for t in templates.list()]
    sessions = aclient.beta.agents.sessions
    session = await sessions.create(
        agent_id=agent.id,
        environment={"type": "openai_hosted", "environment_template_id": template.id},
    )
    updated = await sessions.update(session.id, metadata={"mode": "async"})
    assert updated.metadata == {"mode": "async"}
    stream = await sessions.events.stream(session.id)
    await sessions.events.create(session.id, events=[_message("hello")])
    types = [e.type for e in await aevents_until(stream, "agent.session.idle")]
    await stream.close()
    assert "agent.session.turn.completed" in types
    turns = (await sessions.turns.list(session.id)).data
    turn = await sessions.turns.retrieve(turns[0].id, session_id=session.id)
    assert turn.status == "completed" and turn.usage is not None
    items = [i async for i in sessions.turns.items.list(turn.id, session_id=session.id)]
    assert [i.type for i in items] == ["message", "message"]
    assert [i.id async for i in sessions.items.list(session.id)] == [
        i.id for i in items
    ]  # both newest first
    assert (await sessions.delete(session.id)).deleted
    assert (await templates.delete(template.id)).deleted
