"""Bad input to the Agents API: each answers a 4xx with the API's error body, never a 5xx."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai.types.beta import Agent

from asst_deploy.sandbox.server import SandboxServer
from tests.sandbox.agents.conftest import WEATHER_TOOL

HEADERS = {"OpenAI-Beta": "agents=v1", "Authorization": "Bearer sk-sandbox-test"}
NONE = {"type": "none"}


def _fn(**changes: Any) -> dict[str, Any]:
    return {k: v for k, v in {**WEATHER_TOOL, **changes}.items() if v is not None}


def _message(text: str) -> dict[str, Any]:
    return {
        "type": "agent.session.input.message",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}],
    }


# (what, method, path, json body or raw bytes, status, code); {ids} filled per run
CASES: list[tuple[str, str, str, Any, int, str | None]] = [
    ("create without model", "POST", "/agents", {}, 400, "missing_required_parameter"),
    ("model of the wrong type", "POST", "/agents", {"model": 5}, 400, "invalid_type"),
    (
        "an assistants-only field",
        "POST",
        "/agents",
        {"model": "m", "temperature": 1},
        400,
        "unknown_parameter",
    ),
    (
        "17 metadata pairs",
        "POST",
        "/agents",
        {"model": "m", "metadata": {f"k{i}": "v" for i in range(17)}},
        400,
        "object_above_max_properties",
    ),
    (
        "a metadata key of 65",
        "POST",
        "/agents",
        {"model": "m", "metadata": {"k" * 65: "v"}},
        400,
        "string_above_max_length",
    ),
    (
        "a metadata value of 513",
        "POST",
        "/agents",
        {"model": "m", "metadata": {"k": "v" * 513}},
        400,
        "string_above_max_length",
    ),
    (
        "tools over 3 MiB",
        "POST",
        "/agents",
        {"model": "m", "tools": [_fn(description="x" * (3 * 1024 * 1024))]},
        400,
        "tools_above_max_size",
    ),
    (
        "a function without description",
        "POST",
        "/agents",
        {"model": "m", "tools": [_fn(description=None)]},
        400,
        "missing_required_parameter",
    ),
    (
        "a function without parameters",
        "POST",
        "/agents",
        {"model": "m", "tools": [_fn(parameters=None)]},
        400,
        "missing_required_parameter",
    ),
    (
        "a function with strict",
        "POST",
        "/agents",
        {"model": "m", "tools": [_fn(strict=True)]},
        400,
        "unknown_parameter",
    ),
    (
        "an unknown tool type",
        "POST",
        "/agents",
        {"model": "m", "tools": [{"type": "code_interpreter"}]},
        400,
        "invalid_value",
    ),
    (
        "mcp without transport",
        "POST",
        "/agents",
        {"model": "m", "tools": [{"type": "mcp", "server_label": "x"}]},
        400,
        "missing_required_parameter",
    ),
    (
        "mcp with an unknown transport",
        "POST",
        "/agents",
        {
            "model": "m",
            "tools": [{"type": "mcp", "server_label": "x", "transport": {"type": "ws"}}],
        },
        400,
        "invalid_value",
    ),
    (
        "web_search with a bad mode",
        "POST",
        "/agents",
        {"model": "m", "tools": [{"type": "web_search", "mode": "sometimes"}]},
        400,
        "invalid_value",
    ),
    (
        "two functions of one name",
        "POST",
        "/agents",
        {"model": "m", "tools": [_fn(), _fn()]},
        400,
        "invalid_value",
    ),
    (
        "a reasoning effort",
        "POST",
        "/agents",
        {"model": "m", "reasoning": {"effort": "huge"}},
        400,
        "invalid_value",
    ),
    (
        "json_schema without schema",
        "POST",
        "/agents",
        {"model": "m", "text": {"format": {"type": "json_schema"}}},
        400,
        "missing_required_parameter",
    ),
    ("model cleared on update", "POST", "/agents/{agent}", {"model": None}, 400, "invalid_type"),
    ("limit 0", "GET", "/agents?limit=0", None, 400, "integer_below_min_value"),
    ("limit 101", "GET", "/agents?limit=101", None, 400, "integer_above_max_value"),
    ("order sideways", "GET", "/agents?order=sideways", None, 400, "invalid_value"),
    ("before is no parameter", "GET", "/agents?before=agent_x", None, 400, "unknown_parameter"),
    ("an unknown agent", "GET", "/agents/agent_nope", None, 404, None),
    (
        "agents have no metadata filter",
        "GET",
        "/agents?metadata[team]=a",
        None,
        400,
        "unknown_parameter",
    ),
    ("a malformed JSON body", "POST", "/agents", b"{not json", 400, None),
    ("a body that is no object", "POST", "/agents", [1, 2], 400, "invalid_type"),
    (
        "a template file that does not exist",
        "POST",
        "/agents/environments/templates",
        {"files": [{"type": "file_id", "file_id": "file-nope", "path": "/a"}]},
        404,
        None,
    ),
    (
        "a template network access",
        "POST",
        "/agents/environments/templates",
        {"network": {"access": "open"}},
        400,
        "invalid_value",
    ),
    (
        "metadata on a template",
        "POST",
        "/agents/environments/templates",
        {"metadata": {}},
        400,
        "unknown_parameter",
    ),
    ("an unknown template", "GET", "/agents/environments/templates/envtpl_nope", None, 404, None),
    (
        "a session without environment",
        "POST",
        "/agents/sessions",
        {"agent_id": "{agent}"},
        400,
        "missing_required_parameter",
    ),
    (
        "a session without agent",
        "POST",
        "/agents/sessions",
        {"environment": NONE},
        400,
        "missing_required_parameter",
    ),
    (
        "an inline agent without model",
        "POST",
        "/agents/sessions",
        {"environment": NONE, "agent": {"instructions": "x"}},
        400,
        "missing_required_parameter",
    ),
    (
        "a session of an unknown agent",
        "POST",
        "/agents/sessions",
        {"environment": NONE, "agent_id": "agent_nope"},
        404,
        None,
    ),
    (
        "a self_hosted environment",
        "POST",
        "/agents/sessions",
        {
            "agent_id": "{agent}",
            "environment": {"type": "self_hosted", "workspace_directory": "/w"},
        },
        400,
        "unsupported_value",
    ),
    (
        "an unknown environment template",
        "POST",
        "/agents/sessions",
        {
            "agent_id": "{agent}",
            "environment": {"type": "openai_hosted", "environment_template_id": "envtpl_nope"},
        },
        404,
        None,
    ),
    (
        "an unknown vault",
        "POST",
        "/agents/sessions",
        {"agent_id": "{agent}", "environment": NONE, "vault_ids": ["vault_nope"]},
        404,
        None,
    ),
    (
        "tool_search inline on a session",
        "POST",
        "/agents/sessions",
        {"agent": {"model": "m", "tools": [{"type": "tool_search"}]}, "environment": NONE},
        400,
        "invalid_value",
    ),
    (
        "an empty events list",
        "POST",
        "/agents/sessions/{idle}/events",
        {"events": []},
        400,
        "empty_array",
    ),
    (
        "an unknown event type",
        "POST",
        "/agents/sessions/{idle}/events",
        {"events": [{"type": "agent.session.input.poke"}]},
        400,
        "invalid_value",
    ),
    (
        "a message without content",
        "POST",
        "/agents/sessions/{idle}/events",
        {
            "events": [
                {"type": "agent.session.input.message", "input": [{"role": "user", "content": []}]}
            ]
        },
        400,
        "empty_array",
    ),
    (
        "a tool_result for an unknown call_id",
        "POST",
        "/agents/sessions/{waiting}/events",
        {
            "events": [
                {
                    "type": "agent.session.input.tool_result",
                    "call_id": "call_nope",
                    "turn_id": "{turn}",
                    "success": True,
                    "output": "x",
                }
            ]
        },
        400,
        "invalid_request_error",
    ),
    # 409: "The request conflicted with the current session state" (the Agents OpenAPI)
    (
        "input while a turn runs",
        "POST",
        "/agents/sessions/{waiting}/events",
        {"events": [_message("hello")]},
        409,
        "active_turn",
    ),
    (
        "cancel with no active turn",
        "POST",
        "/agents/sessions/{idle}/events",
        {"events": [{"type": "agent.session.input.cancel"}]},
        409,
        "no_active_turn",
    ),
    (
        "input to a failed session",
        "POST",
        "/agents/sessions/{failed}/events",
        {"events": [_message("hello")]},
        409,
        "session_failed",
    ),
    (
        "a spend limit of 0",
        "POST",
        "/agents/sessions",
        {"agent_id": "{agent}", "environment": NONE, "spend_control": {"limit": 0}},
        400,
        "integer_below_min_value",
    ),
    (
        "a spend limit as a string",
        "POST",
        "/agents/sessions",
        {"agent_id": "{agent}", "environment": NONE, "spend_control": {"limit": "5"}},
        400,
        "invalid_type",
    ),
    (
        "spend_control without its limit",
        "POST",
        "/agents/sessions",
        {"agent_id": "{agent}", "environment": NONE, "spend_control": {}},
        400,
        "missing_required_parameter",
    ),
    (
        "a negative spend limit on update",
        "POST",
        "/agents/sessions/{idle}",
        {"spend_control": {"limit": -1}},
        400,
        "integer_below_min_value",
    ),
    (
        "an unknown vault on update",
        "POST",
        "/agents/sessions/{idle}",
        {"vault_ids": ["vault_nope"]},
        404,
        None,
    ),
    (
        "session tools over 8 MiB",
        "POST",
        "/agents/sessions",
        {
            "agent": {"model": "m", "tools": [_fn(description="x" * (8 * 1024 * 1024))]},
            "environment": NONE,
        },
        400,
        "tools_above_max_size",
    ),
    (
        "a skill version that is no number",
        "POST",
        "/agents/environments/templates",
        {"skills": [{"type": "skill_reference", "skill_id": "skill_1", "version": "v2"}]},
        400,
        "invalid_value",
    ),
    (
        "events on a deleted session",
        "POST",
        "/agents/sessions/{deleted}/events",
        {"events": [_message("hi")]},
        404,
        None,
    ),
    ("streaming a deleted session", "GET", "/agents/sessions/{deleted}/events", None, 404, None),
    ("items of a deleted session", "GET", "/agents/sessions/{deleted}/items", None, 404, None),
    ("an unknown turn", "GET", "/agents/sessions/{idle}/turns/turn_nope", None, 404, None),
    ("a session list limit", "GET", "/agents/sessions?limit=abc", None, 400, "invalid_type"),
    (
        "an unknown stream parameter",
        "GET",
        "/agents/sessions/{idle}/events?since=1",
        None,
        400,
        "unknown_parameter",
    ),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, id in ids.items():
            value = value.replace("{" + key + "}", id)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.fixture
def ids(client: openai.OpenAI, rules: Callable[..., None]) -> Iterator[dict[str, str]]:
    rules("weather", function_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
    rules("explode", status="session_failed", error="The sandbox session broke.")
    agent = client.beta.agents.create(model="gpt-5", tools=[WEATHER_TOOL])  # type: ignore[list-item]
    sessions = client.beta.agents.sessions
    idle = sessions.create(agent_id=agent.id, environment=NONE)  # type: ignore[arg-type]
    waiting = sessions.create(agent_id=agent.id, environment=NONE, input="weather?")  # type: ignore[arg-type]
    failed = sessions.create(agent_id=agent.id, environment=NONE, input="explode")  # type: ignore[arg-type]
    deleted = sessions.create(agent_id=agent.id, environment=NONE)  # type: ignore[arg-type]
    sessions.delete(deleted.id)
    deadline = time.monotonic() + 5
    while sessions.retrieve(waiting.id).status != "requires_action":
        assert time.monotonic() < deadline, "the session never asked for the tool result"
        time.sleep(0.01)
    while sessions.retrieve(failed.id).status != "failed":
        assert time.monotonic() < deadline, "the session_failed rule never failed the session"
        time.sleep(0.01)
    turn = sessions.turns.list(waiting.id).data[0]
    yield {
        "agent": agent.id,
        "idle": idle.id,
        "waiting": waiting.id,
        "deleted": deleted.id,
        "failed": failed.id,
        "turn": turn.id,
    }
    client.beta.agents.delete(agent.id)


def test_every_bad_request_answers_4xx_with_an_error_body(
    server: SandboxServer, ids: dict[str, str]
) -> None:
    assert len(CASES) >= 25
    wrong = []
    with httpx2.Client(base_url=server.base_url, headers=HEADERS, timeout=10) as http:
        for what, method, path, body, status, code in CASES:
            kwargs: dict[str, Any] = {}
            if isinstance(body, bytes):
                kwargs = {"content": body, "headers": {"content-type": "application/json"}}
            elif body is not None:
                kwargs = {"json": _fill(body, ids)}
            answer = http.request(method, _fill(path, ids), **kwargs)
            error = answer.json().get("error") if answer.content else None
            ok = (
                answer.status_code == status
                and isinstance(error, dict)
                and isinstance(error.get("message"), str)
                and error["message"]
                and error.get("type") == "invalid_request_error"
                and (code is None or error.get("code") == code)
            )
            if not ok:
                wrong.append(f"{what}: {answer.status_code} {answer.text[:300]}")
    assert not wrong, "\n".join(wrong)


def test_the_sdk_raises_its_error_classes(client: openai.OpenAI, ids: dict[str, str]) -> None:
    with pytest.raises(openai.NotFoundError):
        client.beta.agents.sessions.retrieve(ids["deleted"])
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.agents.create(model="m", metadata={"k" * 65: "v"})
    assert caught.value.code == "string_above_max_length"
    with pytest.raises(openai.BadRequestError) as unknown_call:
        client.beta.agents.sessions.events.create(
            ids["waiting"],
            events=[
                {
                    "type": "agent.session.input.tool_result",
                    "call_id": "call_nope",
                    "turn_id": ids["turn"],
                    "success": True,
                    "output": "x",
                }
            ],
        )
    assert unknown_call.value.message.endswith("Unknown pending tool call: call_nope")
    # The SDK adds the beta header itself; without it the front refuses the request.
    with pytest.raises(openai.BadRequestError) as no_beta:
        client.beta.agents.list(extra_headers={"OpenAI-Beta": "assistants=v2"})
    assert no_beta.value.code == "invalid_beta"


def test_an_unknown_model_is_refused_on_agents_and_sessions(
    client: openai.OpenAI, agent: Agent
) -> None:
    # the agents list is the one validate checks specs against (the Responses models)
    for call in (
        lambda: client.beta.agents.create(model="gpt-4o-mimi"),
        lambda: client.beta.agents.update(agent.id, model="gpt-4o-mimi"),
        lambda: client.beta.agents.sessions.create(
            agent={"model": "gpt-4o-mimi"}, environment={"type": "none"}
        ),
    ):
        with pytest.raises(openai.BadRequestError) as exc:
            call()
        assert exc.value.code == "model_not_found"
        assert "The requested model 'gpt-4o-mimi' does not exist." in str(exc.value)
    assert client.beta.agents.retrieve(agent.id).model == agent.model
    assert client.beta.agents.create(model="gpt-5.5").model == "gpt-5.5"
