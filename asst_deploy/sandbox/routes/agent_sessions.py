"""Agents API (beta): sessions, their input events (POST) and event stream (GET, SSE), items, turns."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from asst_deploy.sandbox import agent_objects, agent_sessions, environments, vaults
from asst_deploy.sandbox.agent_sessions import IDEMPOTENCY, ITEM, SESSION, TURN
from asst_deploy.sandbox.apierrors import APIError, invalid_type
from asst_deploy.sandbox.app import Sandbox, json_body, sandbox_of
from asst_deploy.sandbox.routes.agent_environments import template_base
from asst_deploy.sandbox.routes.agents import AGENT, agent_page
from asst_deploy.sandbox.routes.common import deleted, fetch, path_param
from asst_deploy.sandbox.store import new_id
from asst_deploy.sandbox.streaming import DONE, encode
from asst_deploy.sandbox.validation import (
    METADATA,
    AnyValue,
    Arr,
    Bool,
    ByType,
    Int,
    Nullable,
    Obj,
    Str,
    Tagged,
    const,
    missing,
    unknown,
    validate,
)

# How often an open event stream looks for new events (it settles the session each time).
POLL_SECONDS = 0.01
# Sandbox.extras key: how many event streams are open now (tests wait for them to close).
OPEN_STREAMS = "agent_sessions.open_streams"

_CONTENT = Tagged(
    {
        "input_text": const("input_text", "text", text=Str()),
        "input_image": const("input_image", "image_url", image_url=Str()),
    }
)
_MESSAGE = Obj(
    {
        "type": Str(enum=["message"]),
        "role": Str(enum=["user"]),
        "content": Arr(_CONTENT, min_items=1),
    },
    required=["role", "content"],
)
_MESSAGES = Arr(_MESSAGE, min_items=1)
_INPUT = Nullable(
    ByType({str: Str(), list: _MESSAGES}, expected="a string or an array of messages")
)
_EFFORT = Nullable(Str(enum=agent_objects.EFFORTS))
_TIER = Nullable(Str(enum=agent_objects.SERVICE_TIERS))
_INLINE_AGENT = Obj(
    {k: v for k, v in agent_objects.AGENT_FIELDS.items() if k not in ("name", "metadata")}
    | {"tools": agent_objects.SESSION_TOOLS}
)
# shared with automations, whose new_session targets carry both
MESSAGES = _MESSAGES
INLINE_AGENT = _INLINE_AGENT
_CACHE = Nullable(Obj({"ttl": Str(enum=["30m", "12h"])}, required=["ttl"]))
_REVIEW = Str(enum=["none", "auto_review"])
# "Positive USD cents, or null to remove the limit"; the object itself may be null too.
_SPEND = Nullable(Obj({"limit": Nullable(Int(min=1))}, required=["limit"]))
_VAULTS = Nullable(Arr(Str()))
CREATE_SESSION = Obj(
    {
        "environment": agent_objects.ENVIRONMENT,
        "agent": _INLINE_AGENT,
        "agent_id": Str(),
        "input": _INPUT,
        "metadata": METADATA,
        "prompt_cache_options": _CACHE,
        "review": _REVIEW,
        "spend_control": _SPEND,
        "stream": Nullable(Bool()),
        "stream_options": Obj({"include_obfuscation": Bool()}),
        "vault_ids": _VAULTS,
    },
    required=["environment"],
)
UPDATE_SESSION = Obj(
    {
        "agent": Obj(
            {
                "model": Str(),
                "reasoning": Obj({"effort": _EFFORT}),
                "service_tier": _TIER,
                "tools": agent_objects.SESSION_TOOLS,
            }
        ),
        "metadata": METADATA,
        "prompt_cache_options": _CACHE,
        "review": _REVIEW,
        "spend_control": _SPEND,
        "vault_ids": _VAULTS,
    }
)
_APPROVAL = {"request_id": Str(), "response": Obj(values=AnyValue())}
INPUT_EVENTS = Obj(
    {
        "events": Arr(
            Tagged(
                {
                    "agent.session.input.message": const(
                        "agent.session.input.message", "input", input=_MESSAGES
                    ),
                    "agent.session.input.tool_result": const(
                        "agent.session.input.tool_result",
                        "call_id",
                        "success",
                        "turn_id",
                        call_id=Str(),
                        success=Bool(),
                        turn_id=Str(),
                        error=Nullable(Str()),
                        output=Nullable(
                            ByType(
                                {str: Str(), list: Arr(_CONTENT)},
                                expected="a string or an array of content parts",
                            )
                        ),
                    ),
                    "agent.session.input.cancel": const("agent.session.input.cancel"),
                    "agent.session.input.mcp_approval_request_result": const(
                        "agent.session.input.mcp_approval_request_result",
                        "request_id",
                        "response",
                        **_APPROVAL,
                    ),
                    "agent.session.input.computer_use_approval_request_result": const(
                        "agent.session.input.computer_use_approval_request_result",
                        "request_id",
                        "response",
                        **_APPROVAL,
                    ),
                }
            ),
            min_items=1,
            max_items=100,
        )
    },
    required=["events"],
)


# --- building a session ----------------------------------------------------------------


def _agent(sandbox: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """The saved agent, inline fields overriding it; or the inline agent alone."""
    inline = body.get("agent")
    sandbox.check_model((inline or {}).get("model"), "agents", param="agent.model")
    if "agent_id" in body:
        saved = fetch(sandbox.store, AGENT, body["agent_id"], "agent")
        return agent_objects.settings(inline or {}, saved) | {"id": saved["id"]}
    if inline is None:
        raise missing("agent_id")
    if "model" not in inline:
        raise missing("agent.model")
    return agent_objects.settings(inline) | {"id": new_id("agent")}


def _environment(
    sandbox: Sandbox, spec: dict[str, Any], session_id: str, vault_ids: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the session shows, what it keeps privately, write-only parts included).

    A hosted environment is registered as an environment of its own (retrievable, with
    live files); `environment_id` attaches a prewarmed one instead, alone: "Cannot be
    combined with a template or inline configuration"."""
    kind = spec["type"]
    if kind == "none":
        return {"type": "none"}, {"type": "none"}
    if kind == "self_hosted":
        raise APIError(
            400,
            "The sandbox does not serve self_hosted environments; use none or openai_hosted.",
            param="environment.type",
            code="unsupported_value",
        )
    if "environment_id" in spec:
        extra = sorted(set(spec) - {"type", "environment_id"})
        if extra:
            raise APIError(
                400,
                f"Invalid 'environment.{extra[0]}': an existing environment "
                "(environment_id) cannot be combined with a template or inline configuration.",
                param=f"environment.{extra[0]}",
                code="invalid_value",
            )
        shown = environments.attach(
            sandbox, spec["environment_id"], session_id, "environment.environment_id"
        )
        found = environments.get(sandbox, spec["environment_id"])
        return shown, {**found["_definition"], **shown}
    base = None
    if "environment_template_id" in spec:
        base = template_base(
            sandbox, spec["environment_template_id"], "environment.environment_template_id"
        )
    fields = {k: v for k, v in spec.items() if k in agent_objects.HOSTED_FIELDS}
    definition = environments.definition(sandbox, fields, base, "environment.")
    size = spec.get("container_size", environments.CONTAINER_SIZE)
    shown = environments.shown(sandbox, new_id("env"), definition, size, "environment.")
    environments.register(
        sandbox,
        shown,
        definition,
        status="connected",
        vault_ids=vault_ids,
        session_id=session_id,
    )
    return shown, {**definition, **shown}


def _session(sandbox: Sandbox, session_id: str) -> dict[str, Any]:
    found = fetch(sandbox.store, SESSION, session_id, "session")
    return agent_sessions.settle(sandbox, found)


def _limit(body: dict[str, Any]) -> int | None:
    return (body.get("spend_control") or {}).get("limit")


def _check_query(request: Request, *allowed: str) -> None:
    for key in request.query_params:
        if key not in allowed:
            raise unknown(key)


# --- handlers ----------------------------------------------------------------------------


def start_session(sandbox: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """A new session from a CREATE_SESSION body (validated here), its first turn started
    when the body has input: for `POST /agents/sessions` and automations alike."""
    body = validate(CREATE_SESSION, body)
    agent = _agent(sandbox, body)
    vault_ids = vaults.check_ids(sandbox.store, body.get("vault_ids"), "vault_ids")
    if body.get("input") == "":
        raise APIError(400, "Invalid 'input': empty string.", param="input", code="empty_string")
    session_id = new_id("sess")
    with sandbox.store.transaction():  # a refused environment leaves nothing behind
        shown, private = _environment(sandbox, body["environment"], session_id, vault_ids)
        now = int(sandbox.clock())
        session = {
            "id": session_id,
            "object": "agent.session",
            "created_at": now,
            "last_active_at": now,
            "agent": agent_objects.session_agent(agent),
            "environment": shown,
            "error": None,
            "metadata": body.get("metadata") or {},
            "required_actions": [],
            "spend_control": {"limit": _limit(body), "consumed": 0},
            "status": "idle",
            "usage": None,
            "vault_ids": vault_ids,
            "prompt_cache_options": body.get("prompt_cache_options"),
            "review": body.get("review", "none"),
        }
        messages = agent_sessions.messages_of(body["input"]) if body.get("input") else None
        return agent_sessions.create(sandbox, session, private, messages)


async def create(request: Request) -> Response:
    sandbox = sandbox_of(request)
    body = await json_body(request)
    session = start_session(sandbox, body)
    if body.get("stream"):
        return _event_stream(request, session["id"], 0, until_rest=True)
    return JSONResponse(session)


def _matches(request: Request, session: dict[str, Any]) -> bool:
    agent_id = request.query_params.get("agent_id")
    if agent_id is not None and session["agent"]["id"] != agent_id:
        return False
    for key, value in request.query_params.items():
        wanted = key.startswith("metadata[") and key.endswith("]")
        if wanted and session["metadata"].get(key[len("metadata[") : -1]) != value:
            return False
    return True


async def list_(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    return agent_page(
        request,
        SESSION,
        where=lambda s: _matches(request, s),
        extra=("agent_id", "metadata"),
        view=lambda s: agent_sessions.settle(sandbox, s),
    )


async def retrieve(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    return JSONResponse(_session(sandbox, path_param(request, "session_id")))


async def update(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    session = _session(sandbox, path_param(request, "session_id"))
    body = validate(UPDATE_SESSION, await json_body(request))
    vault_ids = vaults.check_ids(sandbox.store, body.get("vault_ids"), "vault_ids")
    changes = body.get("agent") or {}
    sandbox.check_model(changes.get("model"), "agents", param="agent.model")
    agent = session["agent"]
    if "model" in changes:
        agent["model"] = changes["model"]
    if "reasoning" in changes:
        agent["reasoning"] = {**agent["reasoning"], **changes["reasoning"]}
        agent["reasoning"]["effort"] = agent["reasoning"]["effort"] or "medium"
    if "service_tier" in changes:
        agent["service_tier"] = changes["service_tier"] or "auto"
    if "tools" in changes:
        resolved = [agent_objects.resolve_tool(t) for t in changes["tools"] or []]
        agent["tools"] = agent_objects.session_tools(resolved)
    if "metadata" in body:
        session["metadata"] = body["metadata"] or {}
    for key in ("prompt_cache_options", "review"):
        if key in body:
            session[key] = body[key]
    if "vault_ids" in body:
        session["vault_ids"] = vault_ids  # null or [] clears them
    if "spend_control" in body:
        session["spend_control"]["limit"] = _limit(body)
    return JSONResponse(agent_sessions.updated(sandbox, session))


async def delete(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    session_id = path_param(request, "session_id")
    session = fetch(sandbox.store, SESSION, session_id, "session")
    with sandbox.store.transaction():
        if session["environment"].get("id"):
            environments.detach(sandbox, session["environment"]["id"])
        sandbox.store.delete_children(session_id)
        sandbox.store.delete(SESSION, session_id)
    return deleted(session_id, "agent.session.deleted")


async def post_events(request: Request) -> Response:
    sandbox = sandbox_of(request)
    session = _session(sandbox, path_param(request, "session_id"))
    body = validate(INPUT_EVENTS, await json_body(request))
    key = request.headers.get("idempotency-key")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    if key:
        seen = sandbox.store.get(IDEMPOTENCY, key, parent=session["id"])
        if seen is not None:
            if seen["body"] != canonical:
                raise APIError(
                    400,
                    f"Idempotency-Key '{key}' was already used with a different request body.",
                    param="Idempotency-Key",
                    code="idempotency_key_reused",
                )
            return Response(status_code=202)
    agent_sessions.apply_events(sandbox, session, body["events"])
    if key:
        sandbox.store.insert(IDEMPOTENCY, {"id": key, "body": canonical}, parent=session["id"])
    return Response(status_code=202)


def _event_stream(
    request: Request, session_id: str, cursor: int, *, until_rest: bool
) -> StreamingResponse:
    sandbox = sandbox_of(request)

    async def body() -> AsyncIterator[bytes]:
        sandbox.extras[OPEN_STREAMS] = sandbox.extras.get(OPEN_STREAMS, 0) + 1
        try:
            async for chunk in _tail(request, session_id, cursor, until_rest=until_rest):
                yield chunk
        finally:
            sandbox.extras[OPEN_STREAMS] -= 1

    return StreamingResponse(body(), media_type="text/event-stream")


async def _tail(
    request: Request, session_id: str, cursor: int, *, until_rest: bool
) -> AsyncIterator[bytes]:
    sandbox = sandbox_of(request)
    seen = cursor
    # A quiet stream sends nothing, so a client that left is noticed on the receive side.
    while not await request.is_disconnected():
        found = sandbox.store.get(SESSION, session_id)
        if found is None:  # deleted while streaming
            yield DONE
            return
        agent_sessions.settle(sandbox, found)
        for event in agent_sessions.events_since(sandbox, session_id, seen):
            seen += 1
            yield encode(event["type"], event)
            if until_rest and event["type"] in agent_sessions.RESTING:
                yield DONE
                return
        await asyncio.sleep(POLL_SECONDS)


async def stream_events(request: Request) -> Response:
    sandbox = sandbox_of(request)
    _check_query(request, "include_obfuscation")
    flag = request.query_params.get("include_obfuscation")
    if flag is not None and flag not in ("true", "false"):
        raise invalid_type("include_obfuscation", "a boolean", f"'{flag}'")
    session = _session(sandbox, path_param(request, "session_id"))
    # Live from now on: the cursor is taken before the answer starts, so an input posted
    # right after the subscription is never missed.
    cursor = agent_sessions.event_count(sandbox, session["id"])
    return _event_stream(request, session["id"], cursor, until_rest=False)


async def list_items(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    session = _session(sandbox, path_param(request, "session_id"))
    return agent_page(request, ITEM, parent=session["id"])


async def list_turns(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    session = _session(sandbox, path_param(request, "session_id"))
    return agent_page(request, TURN, parent=session["id"])


def _turn(sandbox: Sandbox, request: Request) -> dict[str, Any]:
    session = _session(sandbox, path_param(request, "session_id"))
    return fetch(sandbox.store, TURN, path_param(request, "turn_id"), "turn", parent=session["id"])


async def retrieve_turn(request: Request) -> JSONResponse:
    return JSONResponse(_turn(sandbox_of(request), request))


async def list_turn_items(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    turn = _turn(sandbox, request)
    return agent_page(
        request, ITEM, parent=turn["session_id"], where=lambda i: i["turn_id"] == turn["id"]
    )


routes = [
    Route("/agents/sessions", create, methods=["POST"]),
    Route("/agents/sessions", list_, methods=["GET"]),
    Route("/agents/sessions/{session_id}", retrieve, methods=["GET"]),
    Route("/agents/sessions/{session_id}", update, methods=["POST"]),
    Route("/agents/sessions/{session_id}", delete, methods=["DELETE"]),
    Route("/agents/sessions/{session_id}/events", post_events, methods=["POST"]),
    Route("/agents/sessions/{session_id}/events", stream_events, methods=["GET"]),
    Route("/agents/sessions/{session_id}/items", list_items, methods=["GET"]),
    Route("/agents/sessions/{session_id}/turns", list_turns, methods=["GET"]),
    Route("/agents/sessions/{session_id}/turns/{turn_id}", retrieve_turn, methods=["GET"]),
    Route("/agents/sessions/{session_id}/turns/{turn_id}/items", list_turn_items, methods=["GET"]),
]
