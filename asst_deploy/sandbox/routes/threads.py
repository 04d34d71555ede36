"""/threads and their /messages: create, retrieve, modify, delete, list, as the real service."""

from __future__ import annotations

from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy.sandbox import lifecycle
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import Sandbox, json_body, sandbox_of
from asst_deploy.sandbox.lifecycle import MESSAGE, RUN, STATE, THREAD
from asst_deploy.sandbox.routes.common import (
    deleted,
    fetch,
    file_search_store_ids,
    path_param,
    store_listing,
)
from asst_deploy.sandbox.store import new_id
from asst_deploy.sandbox.validation import (
    CHUNKING_STRATEGY,
    CODE_INTERPRETER_RESOURCES,
    METADATA,
    Arr,
    ByType,
    Nullable,
    Obj,
    Str,
    Tagged,
    const,
    validate,
)

_DETAIL = Str(enum=["auto", "low", "high"])
CONTENT = ByType(
    {
        str: Str(),
        list: Arr(
            Tagged(
                {
                    "text": const("text", text=Str()),
                    "image_file": const(
                        "image_file",
                        image_file=Obj({"file_id": Str(), "detail": _DETAIL}, required=["file_id"]),
                    ),
                    "image_url": const(
                        "image_url",
                        image_url=Obj({"url": Str(), "detail": _DETAIL}, required=["url"]),
                    ),
                }
            ),
            min_items=1,
        ),
    },
    expected="a string or an array",
)
ATTACHMENTS = Nullable(
    Arr(
        Obj(
            {
                "file_id": Str(),
                "tools": Arr(
                    Tagged(
                        {
                            "code_interpreter": const("code_interpreter"),
                            "file_search": const("file_search"),
                        }
                    )
                ),
            },
            required=["file_id"],
        )
    )
)
CREATE_MESSAGE = Obj(
    {
        "role": Str(enum=["user", "assistant"]),
        "content": CONTENT,
        "attachments": ATTACHMENTS,
        "metadata": METADATA,
    },
    required=["role", "content"],
)
_NEW_VECTOR_STORE = Obj(
    {
        "file_ids": Arr(Str(), max_items=10_000),
        "chunking_strategy": CHUNKING_STRATEGY,
        "metadata": METADATA,
    }
)
TOOL_RESOURCES = Nullable(
    Obj(
        {
            "code_interpreter": CODE_INTERPRETER_RESOURCES,
            "file_search": Obj(
                {
                    "vector_store_ids": Arr(Str(), max_items=1),
                    "vector_stores": Arr(_NEW_VECTOR_STORE, max_items=1),
                }
            ),
        }
    )
)
CREATE_THREAD = Obj(
    {"messages": Arr(CREATE_MESSAGE), "tool_resources": TOOL_RESOURCES, "metadata": METADATA}
)
MODIFY_THREAD = Obj({"tool_resources": TOOL_RESOURCES, "metadata": METADATA})
MODIFY_MESSAGE = Obj({"metadata": METADATA})


def get_thread(sandbox: Sandbox, thread_id: str) -> dict[str, Any]:
    return fetch(sandbox.store, THREAD, thread_id, "thread")


def _tool_resources(sandbox: Sandbox, given: dict[str, Any] | None) -> dict[str, Any]:
    """Resources as the thread reports them; `vector_stores` creates the store on the spot."""
    resources: dict[str, Any] = {}
    given = given or {}
    if "code_interpreter" in given:
        resources["code_interpreter"] = {"file_ids": given["code_interpreter"].get("file_ids", [])}
    if "file_search" in given:
        ids = file_search_store_ids(sandbox, given["file_search"] or {})
        resources["file_search"] = {"vector_store_ids": ids}
    return resources


def _content_part(part: dict[str, Any]) -> dict[str, Any]:
    kind: str = part["type"]
    if kind == "text":
        return {"type": "text", "text": {"value": part["text"], "annotations": []}}
    return {"type": kind, kind: {"detail": "auto", **part[kind]}}


def add_message(sandbox: Sandbox, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Store a validated CreateMessageRequest on a thread."""
    raw = body["content"]
    parts: list[dict[str, Any]] = [{"type": "text", "text": raw}] if isinstance(raw, str) else raw
    content = [_content_part(p) for p in parts]
    message = lifecycle.message_object(
        thread_id,
        body["role"],
        content,
        created_at=int(sandbox.clock()),
        attachments=body.get("attachments"),
        metadata=body.get("metadata"),
    )
    return sandbox.store.insert(MESSAGE, message, parent=thread_id)


def create_thread(sandbox: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """Store a validated CreateThreadRequest, its messages included."""
    thread: dict[str, Any] = {
        "id": new_id("thread"),
        "object": "thread",
        "created_at": int(sandbox.clock()),
        "metadata": body.get("metadata") or {},
        "tool_resources": _tool_resources(sandbox, body.get("tool_resources")),
    }
    with sandbox.store.transaction():
        sandbox.store.insert(THREAD, thread)
        for message in body.get("messages", []):
            add_message(sandbox, thread["id"], message)
    return thread


async def create(request: Request) -> JSONResponse:
    body = validate(CREATE_THREAD, await json_body(request))
    return JSONResponse(create_thread(sandbox_of(request), body))


async def retrieve(request: Request) -> JSONResponse:
    return JSONResponse(get_thread(sandbox_of(request), path_param(request, "thread_id")))


async def modify(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    thread = get_thread(sandbox, path_param(request, "thread_id"))
    body = validate(MODIFY_THREAD, await json_body(request))
    if "metadata" in body:
        thread["metadata"] = body["metadata"] or {}
    if "tool_resources" in body:
        thread["tool_resources"] = _tool_resources(sandbox, body["tool_resources"])
    sandbox.store.put(THREAD, thread)
    return JSONResponse(thread)


async def delete(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    thread_id = path_param(request, "thread_id")
    get_thread(sandbox, thread_id)
    store = sandbox.store
    with store.transaction():
        for run in store.list(RUN, parent=thread_id):
            store.delete_children(run["id"])  # its steps
        for kind in (MESSAGE, RUN, STATE):
            for obj in store.list(kind, parent=thread_id):
                store.delete(kind, obj["id"], parent=thread_id)
        store.delete(THREAD, thread_id)
    return deleted(thread_id, "thread.deleted")


def _message(request: Request) -> tuple[Sandbox, dict[str, Any]]:
    sandbox = sandbox_of(request)
    thread_id = path_param(request, "thread_id")
    get_thread(sandbox, thread_id)
    lifecycle.settle(sandbox, thread_id)
    message_id = path_param(request, "message_id")
    return sandbox, fetch(sandbox.store, MESSAGE, message_id, "message", parent=thread_id)


async def create_message(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    thread_id = path_param(request, "thread_id")
    get_thread(sandbox, thread_id)
    body = validate(CREATE_MESSAGE, await json_body(request))
    run = lifecycle.active_run(sandbox, thread_id)
    if run is not None:
        raise APIError(400, f"Can't add messages to {thread_id} while a run {run['id']} is active.")
    return JSONResponse(lifecycle.public_message(add_message(sandbox, thread_id, body)))


async def list_messages(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    thread_id = path_param(request, "thread_id")
    get_thread(sandbox, thread_id)
    lifecycle.settle(sandbox, thread_id)
    run_id = request.query_params.get("run_id")
    return store_listing(
        request,
        MESSAGE,
        parent=thread_id,
        where=None if run_id is None else lambda m: bool(m["run_id"] == run_id),
        view=lifecycle.public_message,
    )


async def retrieve_message(request: Request) -> JSONResponse:
    _, message = _message(request)
    return JSONResponse(lifecycle.public_message(message))


async def modify_message(request: Request) -> JSONResponse:
    sandbox, message = _message(request)
    body = validate(MODIFY_MESSAGE, await json_body(request))
    if "metadata" in body:
        message["metadata"] = body["metadata"] or {}
    sandbox.store.put(MESSAGE, message, parent=message["thread_id"])
    return JSONResponse(lifecycle.public_message(message))


async def delete_message(request: Request) -> JSONResponse:
    sandbox, message = _message(request)
    sandbox.store.delete(MESSAGE, message["id"], parent=message["thread_id"])
    return deleted(message["id"], "thread.message.deleted")


class _ThreadId(Convertor[str]):
    """Any thread id but "runs": POST /threads/runs is create-thread-and-run (runs module),
    and route modules are mounted threads first."""

    regex = "(?!runs$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("thread_id", _ThreadId())

routes = [
    Route("/threads", create, methods=["POST"]),
    Route("/threads/{thread_id}", retrieve, methods=["GET"]),
    Route("/threads/{thread_id:thread_id}", modify, methods=["POST"]),
    Route("/threads/{thread_id}", delete, methods=["DELETE"]),
    Route("/threads/{thread_id}/messages", create_message, methods=["POST"]),
    Route("/threads/{thread_id}/messages", list_messages, methods=["GET"]),
    Route("/threads/{thread_id}/messages/{message_id}", retrieve_message, methods=["GET"]),
    Route("/threads/{thread_id}/messages/{message_id}", modify_message, methods=["POST"]),
    Route("/threads/{thread_id}/messages/{message_id}", delete_message, methods=["DELETE"]),
]
