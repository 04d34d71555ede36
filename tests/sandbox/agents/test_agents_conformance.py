"""The SDK-type conformance check itself: it sees every answer, streams too, and catches bad shapes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai.types.beta import Agent

from asst_deploy.sandbox.faults import LoggedRequest
from asst_deploy.sandbox.server import SandboxServer
from tests.sandbox.agents.conftest import problems, sse_events, wait_for_streams


def _entries(server: SandboxServer, start: int) -> list[LoggedRequest]:
    wait_for_streams(server)
    return server.log.since(start)


def _with_body(entry: LoggedRequest, body: Any) -> LoggedRequest:
    return dataclasses.replace(entry, body=json.dumps(body).encode())


def _with_events(entry: LoggedRequest, events: list[dict[str, Any]]) -> LoggedRequest:
    raw = "".join(f"event: {e.get('type')}\ndata: {json.dumps(e)}\n\n" for e in events)
    return dataclasses.replace(entry, body=raw.encode())


def test_a_required_field_missing_or_mistyped_is_caught(
    server: SandboxServer, client: openai.OpenAI, agent: Agent, rules: Callable[..., None]
) -> None:
    rules("hi", reply="Hi.")
    start = server.log.total
    client.beta.agents.retrieve(agent.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.agents.retrieve("agent_missing")
    session = client.beta.agents.sessions.create(agent_id=agent.id, environment={"type": "none"})
    with client.beta.agents.sessions.stream(session.id, input="hi") as stream:
        stream.until_done()
    entries = _entries(server, start)
    got, missing_agent = entries[0], entries[1]
    streamed = next(e for e in entries if e.content_type.startswith("text/event-stream"))
    assert [problems(e) for e in (got, missing_agent, streamed)] == [[], [], []]

    body = json.loads(got.body or b"")
    assert problems(_with_body(got, {k: v for k, v in body.items() if k != "model"}))
    assert problems(_with_body(got, {**body, "created_at": "yesterday"}))
    assert problems(_with_body(got, {**body, "reasoning": {**body["reasoning"], "effort": "huge"}}))
    assert problems(_with_body(missing_agent, {"error": {"type": "invalid_request_error"}}))

    events = sse_events(streamed.body or b"")
    assert "agent.session.turn.output_text.delta" in [e["type"] for e in events]
    turn_event = next(e for e in events if e["type"] == "agent.session.turn.completed")
    assert problems(
        _with_events(streamed, [{**turn_event, "turn": {**turn_event["turn"], "status": "done"}}])
    )
    assert problems(
        _with_events(streamed, [{k: v for k, v in turn_event.items() if k != "event_id"}])
    )
    assert problems(_with_events(streamed, [{**turn_event, "type": "agent.session.turn.unknown"}]))


def test_undeclared_keys_and_lax_types_are_caught_at_any_depth(
    server: SandboxServer, client: openai.OpenAI, agent: Agent, rules: Callable[..., None]
) -> None:
    rules("hi", reply="Hi.")
    start = server.log.total
    session = client.beta.agents.sessions.create(
        agent_id=agent.id, environment={"type": "none"}, spend_control={"limit": 100}
    )
    client.beta.agents.sessions.list(agent_id=agent.id)
    with client.beta.agents.sessions.stream(session.id, input="hi") as stream:
        stream.until_done()
    entries = _entries(server, start)
    created, page = entries[0], entries[1]
    streamed = next(e for e in entries if e.content_type.startswith("text/event-stream"))
    assert [problems(e) for e in (created, page, streamed)] == [[], [], []]

    body = json.loads(created.body or b"")
    tool = body["agent"]["tools"][0]
    undeclared = [
        {**body, "cost": 1},  # top level
        {**body, "spend_control": {**body["spend_control"], "currency": "usd"}},  # nested
        {**body, "agent": {**body["agent"], "tools": [{**tool, "strict": True}]}},  # union in list
        {**body, "environment": {"type": "none", "id": "env_1"}},  # a union member
    ]
    for changed in undeclared:
        found = problems(_with_body(created, changed))
        assert found and "undeclared keys" in found[0], changed
    # Lax pydantic would coerce each of these; strict validation refuses them.
    lax = [
        {**body, "created_at": str(body["created_at"])},
        {**body, "spend_control": {"limit": 100.0, "consumed": 0}},
        {**body, "metadata": {"k": 1}},
        {**body, "agent": {**body["agent"], "tools": [{**tool, "defer_loading": 0}]}},
    ]
    for changed in lax:
        assert problems(_with_body(created, changed)), changed

    listed = json.loads(page.body or b"")
    assert problems(_with_body(page, {**listed, "total": 3}))
    item = {**listed["data"][0], "extra": True}
    assert problems(_with_body(page, {**listed, "data": [item]}))

    events = sse_events(streamed.body or b"")
    idle = next(e for e in events if e["type"] == "agent.session.idle")
    assert problems(_with_events(streamed, [{**idle, "session": {**idle["session"], "x": 1}}]))
    assert problems(_with_events(streamed, [{**idle, "sequence_number": 1}]))
