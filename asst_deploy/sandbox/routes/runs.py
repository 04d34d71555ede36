"""Runs and their steps: create (also with a new thread), poll, stream, submit outputs, cancel."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from asst_deploy import limits
from asst_deploy.sandbox import lifecycle
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import Sandbox, json_body, sandbox_of
from asst_deploy.sandbox.lifecycle import ASSISTANT, MESSAGE, RUN, STEP, Event
from asst_deploy.sandbox.routes.common import fetch, path_param, store_listing
from asst_deploy.sandbox.routes.threads import (
    CREATE_MESSAGE,
    CREATE_THREAD,
    TOOL_RESOURCES,
    add_message,
    create_thread,
    get_thread,
)
from asst_deploy.sandbox.streaming import event_stream
from asst_deploy.sandbox.validation import (
    ASSISTANT_TOOLS,
    METADATA,
    REASONING_EFFORT,
    RESPONSE_FORMAT,
    TEMPERATURE,
    TOP_P,
    Arr,
    Bool,
    ByType,
    Int,
    Nullable,
    Obj,
    Schema,
    Str,
    Tagged,
    bad_value,
    const,
    validate,
)

_TOOL_CHOICE = ByType(
    {
        str: Str(enum=["none", "auto", "required"]),
        dict: Tagged(
            {
                "function": const("function", function=Obj({"name": Str()}, required=["name"])),
                "code_interpreter": const("code_interpreter"),
                "file_search": const("file_search"),
            }
        ),
    },
    expected="a string or an object",
)
_TRUNCATION = Obj(
    {"type": Str(enum=["auto", "last_messages"]), "last_messages": Nullable(Int(min=1))},
    required=["type"],
)
# The spec says max_*_tokens >= 256; the real service took 16 (ruby-openai recordings).
_RUN_FIELDS: dict[str, Schema] = {
    "assistant_id": Str(),
    "model": Nullable(Str()),
    "reasoning_effort": REASONING_EFFORT,
    "instructions": Nullable(Str(max_len=limits.INSTRUCTIONS_MAX)),
    "tools": Nullable(ASSISTANT_TOOLS),
    "metadata": METADATA,
    "temperature": TEMPERATURE,
    "top_p": TOP_P,
    "stream": Nullable(Bool()),
    "max_prompt_tokens": Nullable(Int(min=limits.MAX_PROMPT_TOKENS_MIN)),
    "max_completion_tokens": Nullable(Int(min=limits.MAX_COMPLETION_TOKENS_MIN)),
    "truncation_strategy": Nullable(_TRUNCATION),
    "tool_choice": Nullable(_TOOL_CHOICE),
    "parallel_tool_calls": Bool(),
    "response_format": RESPONSE_FORMAT,
}
CREATE_RUN = Obj(
    _RUN_FIELDS
    | {
        "additional_instructions": Nullable(Str()),
        "additional_messages": Nullable(Arr(CREATE_MESSAGE)),
    },
    required=["assistant_id"],
)
CREATE_THREAD_AND_RUN = Obj(
    _RUN_FIELDS | {"thread": CREATE_THREAD, "tool_resources": TOOL_RESOURCES},
    required=["assistant_id"],
)
SUBMIT_TOOL_OUTPUTS = Obj(
    {
        "tool_outputs": Arr(Obj({"tool_call_id": Str(), "output": Str()})),
        "stream": Nullable(Bool()),
    },
    required=["tool_outputs"],
)
MODIFY_RUN = Obj({"metadata": METADATA})
_INCLUDE = [lifecycle.FILE_SEARCH_CONTENT]


def _include(request: Request) -> list[str]:
    include = request.query_params.getlist("include[]")
    for i, value in enumerate(include):
        if value not in _INCLUDE:
            raise bad_value(f"include[{i}]", value, _INCLUDE)
    return include


def _run_response(
    sandbox: Sandbox, run: dict[str, Any], events: list[Event], stream: bool
) -> Response:
    if stream:
        return event_stream(events)
    # no openai-poll-after-ms: the real service sends none (pollers use their own interval)
    return JSONResponse(run)


def _run(request: Request) -> tuple[Sandbox, dict[str, Any]]:
    sandbox = sandbox_of(request)
    thread_id = path_param(request, "thread_id")
    get_thread(sandbox, thread_id)
    lifecycle.settle(sandbox, thread_id)
    return sandbox, fetch(
        sandbox.store, RUN, path_param(request, "run_id"), "run", parent=thread_id
    )


def _assistant(sandbox: Sandbox, assistant_id: str) -> dict[str, Any]:
    return fetch(sandbox.store, ASSISTANT, assistant_id, "assistant")


def _check_runnable(
    messages: list[dict[str, Any]], assistant: dict[str, Any], body: dict[str, Any]
) -> None:
    instructions = body.get("instructions") or assistant.get("instructions")
    if not instructions and not any(m["role"] == "user" for m in messages):
        raise APIError(
            400,
            "Run creation requires a Thread with a user message or an assistant with instructions.",
            code="invalid_thread",
        )


async def create(request: Request) -> Response:
    sandbox = sandbox_of(request)
    _include(request)  # accepted; file search result content is read from the steps
    thread = get_thread(sandbox, path_param(request, "thread_id"))
    body = validate(CREATE_RUN, await json_body(request))
    sandbox.check_model(body.get("model"), "assistants")
    assistant = _assistant(sandbox, body["assistant_id"])
    active = lifecycle.active_run(sandbox, thread["id"])
    if active is not None:
        raise APIError(400, f"Thread {thread['id']} already has an active run {active['id']}.")
    for message in body.get("additional_messages") or []:
        add_message(sandbox, thread["id"], message)
    _check_runnable(sandbox.store.list(MESSAGE, parent=thread["id"]), assistant, body)
    run, events = lifecycle.start(sandbox, thread, assistant, body)
    return _run_response(sandbox, run, events, bool(body.get("stream")))


async def create_thread_and_run(request: Request) -> Response:
    sandbox = sandbox_of(request)
    body = validate(CREATE_THREAD_AND_RUN, await json_body(request))
    sandbox.check_model(body.get("model"), "assistants")
    assistant = _assistant(sandbox, body["assistant_id"])
    thread_body = dict(body.get("thread") or {})
    if body.get("tool_resources") is not None:
        thread_body["tool_resources"] = body["tool_resources"]
    _check_runnable(thread_body.get("messages", []), assistant, body)
    thread = create_thread(sandbox, thread_body)
    run, events = lifecycle.start(sandbox, thread, assistant, body)
    return _run_response(
        sandbox, run, [("thread.created", thread), *events], bool(body.get("stream"))
    )


async def list_(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    thread_id = path_param(request, "thread_id")
    get_thread(sandbox, thread_id)
    lifecycle.settle(sandbox, thread_id)
    return store_listing(request, RUN, parent=thread_id)


async def retrieve(request: Request) -> Response:
    sandbox, run = _run(request)
    return _run_response(sandbox, run, [], False)


async def modify(request: Request) -> Response:
    sandbox, run = _run(request)
    body = validate(MODIFY_RUN, await json_body(request))
    if "metadata" in body:
        run["metadata"] = body["metadata"] or {}
    sandbox.store.put(RUN, run, parent=run["thread_id"])
    return _run_response(sandbox, run, [], False)


async def submit_tool_outputs(request: Request) -> Response:
    sandbox, run = _run(request)
    body = validate(SUBMIT_TOOL_OUTPUTS, await json_body(request))
    stream = bool(body.get("stream"))
    run, events = lifecycle.submit_tool_outputs(sandbox, run, body["tool_outputs"], stream=stream)
    return _run_response(sandbox, run, events, stream)


async def cancel(request: Request) -> Response:
    sandbox, run = _run(request)
    return _run_response(sandbox, lifecycle.cancel(sandbox, run), [], False)


async def list_steps(request: Request) -> JSONResponse:
    include = _include(request)
    _, run = _run(request)
    return store_listing(
        request, STEP, parent=run["id"], view=lambda s: lifecycle.public_step(s, include)
    )


async def retrieve_step(request: Request) -> JSONResponse:
    include = _include(request)
    sandbox, run = _run(request)
    step = fetch(sandbox.store, STEP, path_param(request, "step_id"), "run step", parent=run["id"])
    return JSONResponse(lifecycle.public_step(step, include))


routes = [
    Route("/threads/runs", create_thread_and_run, methods=["POST"]),
    Route("/threads/{thread_id}/runs", create, methods=["POST"]),
    Route("/threads/{thread_id}/runs", list_, methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}", retrieve, methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}", modify, methods=["POST"]),
    Route("/threads/{thread_id}/runs/{run_id}/cancel", cancel, methods=["POST"]),
    Route(
        "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
        submit_tool_outputs,
        methods=["POST"],
    ),
    Route("/threads/{thread_id}/runs/{run_id}/steps", list_steps, methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}/steps/{step_id}", retrieve_step, methods=["GET"]),
]
