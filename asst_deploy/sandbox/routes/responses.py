"""/responses: create (also streamed), compact, retrieve, delete, cancel, list input items."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from asst_deploy.sandbox import responding
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import json_body, sandbox_of
from asst_deploy.sandbox.responding import INPUT_ITEM, MODEL_ROLE, Event
from asst_deploy.sandbox.routes.common import path_param, store_listing
from asst_deploy.sandbox.routes.vector_stores import FILTER
from asst_deploy.sandbox.validation import (
    METADATA,
    NAME_PATTERN,
    TEMPERATURE,
    TOP_P,
    AnyValue,
    Arr,
    Bool,
    ByType,
    Int,
    Nullable,
    Num,
    Obj,
    Schema,
    Str,
    Tagged,
    bad_value,
    const,
    join,
    validate,
)

INCLUDE = (
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
)
_STATUS = Str(enum=["in_progress", "completed", "incomplete"])
_INPUT_ROLES = ("input_text",)
_OUTPUT_ROLES = ("output_text", "refusal")


# --- strict mode: the rules the real service checks before it answers ------------------------


def strict_problem(schema: Any, context: tuple[str, ...] = ()) -> str | None:
    """The first strict-mode violation in a JSON schema, worded as the real service does."""
    if not isinstance(schema, dict):
        return None
    where = f"In context={context!r}"
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return f"{where}, 'additionalProperties' is required to be supplied and to be false."
        properties = schema.get("properties") or {}
        required = schema.get("required") or []
        for key in properties:
            if key not in required:
                return (
                    f"{where}, 'required' is required to be supplied and to be an array "
                    f"including every key in properties. Missing '{key}'."
                )
        for key, sub in properties.items():
            problem = strict_problem(sub, (*context, "properties", key))
            if problem:
                return problem
    if isinstance(schema.get("items"), dict):
        return strict_problem(schema["items"], (*context, "items"))
    for name in ("anyOf", "$defs", "definitions"):
        subs = schema.get(name) or ()
        pairs = subs.items() if isinstance(subs, dict) else enumerate(subs)
        for key, sub in pairs:
            problem = strict_problem(sub, (*context, name, str(key)))
            if problem:
                return problem
    return None


def _strict_function(tool: dict[str, Any], path: str) -> None:
    if tool.get("strict") is False or tool.get("parameters") is None:
        return
    problem = strict_problem(tool["parameters"])
    if problem:
        param = join(path, "parameters")
        raise APIError(
            400,
            f"Invalid schema for function '{tool['name']}': {problem}",
            param=param,
            code="invalid_function_parameters",
        )


def _strict_format(fmt: dict[str, Any], path: str) -> None:
    if fmt.get("type") != "json_schema" or not fmt.get("strict"):
        return
    problem = strict_problem(fmt["schema"])
    if problem:
        raise APIError(
            400,
            f"Invalid schema for response_format '{fmt['name']}': {problem}",
            param=join(path, "schema"),
            code="invalid_json_schema",
        )


# --- request schemas ------------------------------------------------------------------------

FUNCTION_TOOL = Obj(
    {
        "type": Str(),
        "name": Str(max_len=64, pattern=NAME_PATTERN),
        "description": Nullable(Str()),
        "parameters": Nullable(Obj(values=AnyValue())),
        "strict": Nullable(Bool()),
        "output_schema": Nullable(Obj(values=AnyValue())),
    },
    required=["type", "name"],
    post=_strict_function,
)
FILE_SEARCH_TOOL = Obj(
    {
        "type": Str(),
        "vector_store_ids": Arr(Str(), max_items=2),
        "max_num_results": Int(min=1, max=50),
        "ranking_options": Obj(
            {
                "ranker": Str(enum=["auto", "default-2024-11-15"]),
                "score_threshold": Num(min=0, max=1),
            }
        ),
        "filters": Nullable(FILTER),
    },
    required=["type", "vector_store_ids"],
)
CONTAINER = ByType(
    {
        str: Str(),
        dict: Obj(
            {
                "type": Str(enum=["auto"]),
                "file_ids": Arr(Str(), max_items=50),
                "memory_limit": Nullable(Str(enum=["1g", "4g", "16g", "64g"])),
            },
            required=["type"],
        ),
    },
    expected="a string or an object",
)
TOOLS = Arr(
    Tagged(
        {
            "function": FUNCTION_TOOL,
            "file_search": FILE_SEARCH_TOOL,
            "code_interpreter": const("code_interpreter", "container", container=CONTAINER),
        }
    ),
    max_items=128,
)
TOOL_CHOICE = ByType(
    {
        str: Str(enum=["none", "auto", "required"]),
        dict: Tagged(
            {
                "function": const("function", "name", name=Str()),
                "file_search": const("file_search"),
                "code_interpreter": const("code_interpreter"),
            }
        ),
    },
    expected="a string or an object",
)
TEXT_FORMAT = Tagged(
    {
        "text": const("text"),
        "json_object": const("json_object"),
        "json_schema": Obj(
            {
                "type": Str(),
                "name": Str(max_len=64, pattern=NAME_PATTERN),
                "description": Str(),
                "schema": Obj(values=AnyValue()),
                "strict": Nullable(Bool()),
            },
            required=["type", "name", "schema"],
            post=_strict_format,
        ),
    }
)
REASONING = Obj(
    {
        "effort": Nullable(Str(enum=["none", "minimal", "low", "medium", "high", "xhigh", "max"])),
        "summary": Nullable(Str(enum=["auto", "concise", "detailed"])),
        "generate_summary": Nullable(Str(enum=["auto", "concise", "detailed"])),
        "context": Nullable(Str(enum=["auto", "current_turn", "all_turns"])),
        "mode": Nullable(Str()),  # the SDK's Union[str, Literal["standard", "pro"]]
    }
)


def _parts_fit_role(message: dict[str, Any], path: str) -> None:
    """User, system and developer messages hold input parts; assistant ones output parts."""
    if isinstance(message["content"], str):
        return
    allowed = _OUTPUT_ROLES if message["role"] == MODEL_ROLE else _INPUT_ROLES
    for i, part in enumerate(message["content"]):
        if part["type"] not in allowed:
            raise bad_value(join(path, f"content[{i}].type"), part["type"], allowed)


_CONTENT_PART = Tagged(
    {
        "input_text": const("input_text", "text", text=Str()),
        "output_text": const(
            "output_text",
            "text",
            text=Str(),
            annotations=Arr(Obj(values=AnyValue())),
            logprobs=Arr(AnyValue()),
        ),
        "refusal": const("refusal", "refusal", refusal=Str()),
    }
)
MESSAGE = Obj(
    {
        "type": Str(enum=["message"]),
        "id": Str(),
        "role": Str(enum=["user", "assistant", "system", "developer"]),
        "content": ByType({str: Str(), list: Arr(_CONTENT_PART)}, expected="a string or an array"),
        "status": _STATUS,
    },
    required=["role", "content"],
    post=_parts_fit_role,
)
FUNCTION_CALL = Obj(
    {
        "type": Str(),
        "id": Str(),
        "call_id": Str(),
        "name": Str(),
        "arguments": Str(),
        "status": _STATUS,
    },
    required=["type", "call_id", "name", "arguments"],
)
FUNCTION_CALL_OUTPUT = Obj(
    {
        "type": Str(),
        "id": Nullable(Str()),
        "call_id": Str(max_len=64),
        "output": ByType(
            {
                str: Str(max_len=10_485_760),
                list: Arr(Tagged({"input_text": const("input_text", "text", text=Str())})),
            },
            expected="a string or an array",
        ),
        "status": Nullable(_STATUS),
    },
    required=["type", "call_id", "output"],
)
COMPACTION = Obj(
    {"type": Str(), "id": Nullable(Str()), "encrypted_content": Str(max_len=20_971_520)},
    required=["type", "encrypted_content"],
)
_TYPED_ITEM = Tagged(
    {
        "message": MESSAGE,
        "function_call": FUNCTION_CALL,
        "function_call_output": FUNCTION_CALL_OUTPUT,
        "compaction": COMPACTION,
    }
)


class InputItem(Schema):
    """An input item; a message may leave out its `type` (the "easy" input message)."""

    def check(self, value: Any, path: str) -> Any:
        if isinstance(value, dict) and "type" not in value and "role" in value:
            return MESSAGE.check(value, path)
        return _TYPED_ITEM.check(value, path)


INPUT = ByType({str: Str(), list: Arr(InputItem())}, expected="a string or an array")
# The SDK's limit (openai 3.60: "a maximum length of 128 characters"); openapi.yaml says 64.
SAFETY_IDENTIFIER = Nullable(Str(max_len=128))
CONVERSATION = ByType(
    {str: Str(), dict: Obj({"id": Str()}, required=["id"])}, expected="a string or an object"
)


def _tool_choice_declared(body: dict[str, Any], path: str) -> None:
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return
    tools = body.get("tools") or []
    if choice["type"] == "function":
        found = any(t["type"] == "function" and t["name"] == choice["name"] for t in tools)
    else:
        found = any(t["type"] == choice["type"] for t in tools)
    if not found:
        raise APIError(
            400,
            f"Tool choice '{choice['type']}' not found in 'tools' parameter.",
            param="tool_choice",
        )


CREATE = Obj(
    {
        "model": Str(),
        "input": INPUT,
        "instructions": Nullable(Str()),
        "tools": Nullable(TOOLS),
        "tool_choice": Nullable(TOOL_CHOICE),
        "parallel_tool_calls": Nullable(Bool()),
        "temperature": TEMPERATURE,
        "top_p": TOP_P,
        "top_logprobs": Nullable(Int(min=0, max=20)),
        "text": Nullable(
            Obj(
                {
                    "format": TEXT_FORMAT,
                    "verbosity": Nullable(Str(enum=["low", "medium", "high"])),
                }
            )
        ),
        "reasoning": Nullable(REASONING),
        "metadata": METADATA,
        "conversation": Nullable(CONVERSATION),
        "previous_response_id": Nullable(Str()),
        "store": Nullable(Bool()),
        "stream": Nullable(Bool()),
        "stream_options": Nullable(Obj({"include_obfuscation": Bool()})),
        "include": Nullable(Arr(Str(enum=INCLUDE))),
        "max_output_tokens": Nullable(Int(min=16)),
        "max_tool_calls": Nullable(Int(min=1)),
        "truncation": Nullable(Str(enum=["auto", "disabled"])),
        "background": Nullable(Bool()),
        # openai 3.60's ServiceTier (the answer still says "default": one tier here)
        "service_tier": Nullable(
            Str(enum=["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"])
        ),
        "user": Str(),
        "safety_identifier": SAFETY_IDENTIFIER,
        "prompt_cache_key": Nullable(Str()),
        "prompt_cache_retention": Nullable(Str(enum=["in_memory", "24h"])),
        # no `prewarm`: a response that prepares the cache and answers nothing is not served
        "prompt_cache_options": Nullable(
            Obj(
                {
                    "comparison_response_id": Nullable(Str()),
                    "mode": Str(enum=["implicit", "explicit"]),
                    "ttl": Str(enum=["30m", "12h"]),
                }
            )
        ),
    },
    required=["model"],
    post=_tool_choice_declared,
)
# client.responses.compact's parameters (openai 3.60's ResponseCompactParams)
COMPACT = Obj(
    {
        "model": Nullable(Str()),
        "input": Nullable(INPUT),
        "instructions": Nullable(Str()),
        "previous_response_id": Nullable(Str()),
        "image": Obj({"context_compression": Str(enum=["auto", "enabled", "disabled"])}),
        "prompt_cache_key": Nullable(Str(max_len=64)),
        "prompt_cache_options": Nullable(
            Obj({"mode": Str(enum=["implicit", "explicit"]), "ttl": Str(enum=["30m"])})
        ),
        "prompt_cache_retention": Nullable(Str(enum=["in_memory", "24h"])),
        "safety_identifier": SAFETY_IDENTIFIER,
        "service_tier": Nullable(Str(enum=["auto", "default", "fast", "flex", "priority"])),
    },
    required=["model"],
)


# --- handlers -------------------------------------------------------------------------------


def sse(events: Sequence[Event]) -> StreamingResponse:
    """Events as the real service streams a response: `event:`/`data:` pairs, no [DONE]."""

    async def body() -> AsyncIterator[bytes]:
        for event in events:
            data = json.dumps(event, separators=(",", ":"))
            yield f"event: {event['type']}\ndata: {data}\n\n".encode()

    return StreamingResponse(body(), media_type="text/event-stream")


def include_param(request: Request) -> list[str]:
    include = request.query_params.getlist("include[]") or request.query_params.getlist("include")
    for i, value in enumerate(include):
        if value not in INCLUDE:
            raise bad_value(f"include[{i}]", value, INCLUDE)
    return include


def page_of(request: Request, kind: str, parent: str) -> JSONResponse:
    """The one place the Responses surfaces page a listing (in SQL, as the other routes)."""
    return store_listing(request, kind, parent=parent)


async def create(request: Request) -> Response:
    sandbox = sandbox_of(request)
    body = validate(CREATE, await json_body(request))
    sandbox.check_model(body["model"], "responses")
    answer = responding.create(sandbox, body)
    if body.get("stream"):
        return sse(answer.events)
    return JSONResponse(answer.response)


async def compact(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    body = validate(COMPACT, await json_body(request))
    sandbox.check_model(body.get("model"), "responses")
    return JSONResponse(responding.compact(sandbox, body))


async def retrieve(request: Request) -> JSONResponse:
    include_param(request)
    return JSONResponse(
        responding.get_response(sandbox_of(request), path_param(request, "response_id"))
    )


async def delete(request: Request) -> Response:
    responding.delete(sandbox_of(request), path_param(request, "response_id"))
    # openapi.yaml declares a 200 without a body and the SDK reads none (its delete
    # returns None); no recording shows what the real service sends
    return Response(status_code=200)


async def cancel(request: Request) -> JSONResponse:
    response = responding.get_response(sandbox_of(request), path_param(request, "response_id"))
    if not response["background"]:
        raise APIError(400, "Only background responses can be cancelled.")
    # the sandbox answers background requests at once, so there is nothing left to stop
    return JSONResponse(response)


async def input_items(request: Request) -> JSONResponse:
    include_param(request)
    sandbox = sandbox_of(request)
    response = responding.get_response(sandbox, path_param(request, "response_id"))
    return page_of(request, INPUT_ITEM, response["id"])


routes = [
    Route("/responses", create, methods=["POST"]),
    Route("/responses/compact", compact, methods=["POST"]),
    Route("/responses/{response_id}", retrieve, methods=["GET"]),
    Route("/responses/{response_id}", delete, methods=["DELETE"]),
    Route("/responses/{response_id}/cancel", cancel, methods=["POST"]),
    Route("/responses/{response_id}/input_items", input_items, methods=["GET"]),
]
