"""/assistants: create, list, retrieve, modify, delete, in the shapes the real service answers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy import limits
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import json_body, sandbox_of
from asst_deploy.sandbox.routes.common import (
    deleted,
    fetch,
    file_search_store_ids,
    path_param,
    store_listing,
)
from asst_deploy.sandbox.store import new_id
from asst_deploy.sandbox.validation import (
    ASSISTANT_TOOLS,
    CHUNKING_STRATEGY,
    CODE_INTERPRETER_RESOURCES,
    METADATA,
    MODEL,
    REASONING_EFFORT,
    RESPONSE_FORMAT,
    TEMPERATURE,
    TOP_P,
    Arr,
    Nullable,
    Obj,
    Schema,
    Str,
    validate,
)

KIND = "assistant"


def _one_vector_store_source(file_search: dict[str, Any], path: str) -> None:
    if "vector_store_ids" in file_search and "vector_stores" in file_search:
        raise APIError(
            400,
            f"Invalid '{path}': provide either 'vector_store_ids' or 'vector_stores', not both.",
            param=path,
            code="invalid_value",
        )


def _resources(file_search: Obj) -> Nullable:
    return Nullable(
        Obj({"code_interpreter": CODE_INTERPRETER_RESOURCES, "file_search": file_search})
    )


_FIELDS: dict[str, Schema] = {
    "model": MODEL,
    "name": Nullable(Str(max_len=limits.NAME_MAX)),
    "description": Nullable(Str(max_len=limits.DESCRIPTION_MAX)),
    "instructions": Nullable(Str(max_len=limits.INSTRUCTIONS_MAX)),
    "reasoning_effort": REASONING_EFFORT,
    "tools": ASSISTANT_TOOLS,
    "metadata": METADATA,
    "temperature": TEMPERATURE,
    "top_p": TOP_P,
    "response_format": RESPONSE_FORMAT,
}

CREATE = Obj(
    _FIELDS
    | {
        "tool_resources": _resources(
            Obj(
                {
                    "vector_store_ids": Arr(Str(), max_items=limits.FILE_SEARCH_VECTOR_STORES_MAX),
                    # a helper: create a vector store from these files and attach it
                    "vector_stores": Arr(
                        Obj(
                            {
                                "file_ids": Arr(Str(), max_items=10_000),
                                "chunking_strategy": CHUNKING_STRATEGY,
                                "metadata": METADATA,
                            }
                        ),
                        max_items=limits.FILE_SEARCH_VECTOR_STORES_MAX,
                    ),
                },
                post=_one_vector_store_source,
            )
        )
    },
    required=["model"],
)

MODIFY = Obj(
    _FIELDS
    | {
        "tool_resources": _resources(
            Obj({"vector_store_ids": Arr(Str(), max_items=limits.FILE_SEARCH_VECTOR_STORES_MAX)})
        )
    }
)


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as the real service echoes it, with its defaults filled in."""
    if tool["type"] == "function":
        return {
            "type": "function",
            "function": {**tool["function"], "strict": tool["function"].get("strict") or False},
        }
    if tool["type"] == "file_search":
        options = dict(tool.get("file_search") or {})
        options.setdefault(
            "ranking_options", {"ranker": "default_2024_08_21", "score_threshold": 0.0}
        )
        options["ranking_options"].setdefault("ranker", "default_2024_08_21")
        return {"type": "file_search", "file_search": options}
    return {"type": tool["type"]}


def _tool_resources(
    request: Request,
    tools: list[dict[str, Any]],
    given: dict[str, Any] | None,
    current: dict[str, Any],
) -> dict[str, Any]:
    """Given resources override per tool; tools without resources get empty ones."""
    sandbox = sandbox_of(request)
    resources = dict(current)
    given = given or {}
    if "code_interpreter" in given:
        resources["code_interpreter"] = {
            "file_ids": list(given["code_interpreter"].get("file_ids", []))
        }
    if "file_search" in given:
        ids = file_search_store_ids(sandbox, given["file_search"])
        resources["file_search"] = {"vector_store_ids": ids}
    types = {t["type"] for t in tools}
    if "code_interpreter" in types:
        resources.setdefault("code_interpreter", {"file_ids": []})
    if "file_search" in types:
        resources.setdefault("file_search", {"vector_store_ids": []})
    return resources


def _apply(request: Request, asst: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    for key in ("model", "name", "description", "instructions", "reasoning_effort", "metadata"):
        if key in body:
            asst[key] = body[key] if key != "metadata" else body[key] or {}
    for key, default in (("temperature", 1.0), ("top_p", 1.0), ("response_format", "auto")):
        if key in body:
            asst[key] = default if body[key] is None else body[key]
    if "tools" in body:
        asst["tools"] = [_tool(t) for t in body["tools"]]
    asst["tool_resources"] = _tool_resources(
        request, asst["tools"], body.get("tool_resources"), asst["tool_resources"]
    )
    return asst


async def create(request: Request) -> JSONResponse:
    body = validate(CREATE, await json_body(request))
    sandbox = sandbox_of(request)
    sandbox.check_model(body["model"], "assistants")
    asst: dict[str, Any] = {
        "id": new_id("asst"),
        "object": "assistant",
        "created_at": int(sandbox.clock()),
        "name": None,
        "description": None,
        "model": body["model"],
        "instructions": None,
        "tools": [],
        "top_p": 1.0,
        "temperature": 1.0,
        "reasoning_effort": None,
        "tool_resources": {},
        "metadata": {},
        "response_format": "auto",
    }
    sandbox.store.insert(KIND, _apply(request, asst, body))
    return JSONResponse(asst)


async def list_(request: Request) -> JSONResponse:
    return store_listing(request, KIND)


async def retrieve(request: Request) -> JSONResponse:
    store = sandbox_of(request).store
    return JSONResponse(fetch(store, KIND, path_param(request, "assistant_id"), "assistant"))


async def modify(request: Request) -> JSONResponse:
    store = sandbox_of(request).store
    asst = fetch(store, KIND, path_param(request, "assistant_id"), "assistant")
    body = validate(MODIFY, await json_body(request))
    sandbox_of(request).check_model(body.get("model"), "assistants")
    store.put(KIND, _apply(request, asst, body))
    return JSONResponse(asst)


async def delete(request: Request) -> JSONResponse:
    store = sandbox_of(request).store
    assistant_id = path_param(request, "assistant_id")
    fetch(store, KIND, assistant_id, "assistant")
    store.delete(KIND, assistant_id)
    return deleted(assistant_id, "assistant.deleted")


routes = [
    Route("/assistants", create, methods=["POST"]),
    Route("/assistants", list_, methods=["GET"]),
    Route("/assistants/{assistant_id}", retrieve, methods=["GET"]),
    Route("/assistants/{assistant_id}", modify, methods=["POST"]),
    Route("/assistants/{assistant_id}", delete, methods=["DELETE"]),
]
