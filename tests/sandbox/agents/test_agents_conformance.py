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
