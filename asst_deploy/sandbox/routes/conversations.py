"""/conversations and their /items: create, retrieve, update, delete, as the real service."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy.sandbox import responding
from asst_deploy.sandbox.app import Sandbox, json_body, sandbox_of
from asst_deploy.sandbox.responding import CONVERSATION, CONVERSATION_ITEM
from asst_deploy.sandbox.routes.common import path_param
from asst_deploy.sandbox.routes.responses import (
    SAFETY_IDENTIFIER,
    InputItem,
    include_param,
    page_of,
)
from asst_deploy.sandbox.store import new_id
from asst_deploy.sandbox.validation import METADATA, Arr, Nullable, Obj, validate

ITEMS = Arr(InputItem(), max_items=20)
# safety_identifier (openai 3.60) is for the service's abuse monitoring: accepted, and
# neither stored nor echoed (the SDK's Conversation has no such field)
CREATE = Obj(
    {"metadata": METADATA, "items": Nullable(ITEMS), "safety_identifier": SAFETY_IDENTIFIER}
)
UPDATE = Obj({"metadata": METADATA}, required=["metadata"])
CREATE_ITEMS = Obj({"items": ITEMS}, required=["items"])


def _conversation(request: Request) -> tuple[Sandbox, dict[str, Any]]:
    sandbox = sandbox_of(request)
    return sandbox, responding.get_conversation(sandbox, path_param(request, "conversation_id"))


def _add_items(sandbox: Sandbox, conversation_id: str, raw: list[Any]) -> list[dict[str, Any]]:
    """Store items on a conversation (the caller holds the transaction)."""
    items = [responding.stored_item(i) for i in raw]
    for item in items:
        sandbox.store.insert(CONVERSATION_ITEM, item, parent=conversation_id)
    return items


async def create(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    body = validate(CREATE, await json_body(request))
    conversation: dict[str, Any] = {
        "id": new_id("conv"),
        "object": "conversation",
        "created_at": int(sandbox.clock()),
        "metadata": body.get("metadata") or {},
    }
    with sandbox.store.transaction():
        sandbox.store.insert(CONVERSATION, conversation)
        _add_items(sandbox, str(conversation["id"]), body.get("items") or [])
    return JSONResponse(conversation)


async def retrieve(request: Request) -> JSONResponse:
    return JSONResponse(_conversation(request)[1])


async def update(request: Request) -> JSONResponse:
    sandbox, conversation = _conversation(request)
    body = validate(UPDATE, await json_body(request))
    conversation["metadata"] = body["metadata"] or {}
    sandbox.store.put(CONVERSATION, conversation)
    return JSONResponse(conversation)


async def delete(request: Request) -> JSONResponse:
    sandbox, conversation = _conversation(request)
    with sandbox.store.transaction():
        sandbox.store.delete_children(conversation["id"])
        sandbox.store.delete(CONVERSATION, conversation["id"])
    return JSONResponse(
        {"id": conversation["id"], "object": "conversation.deleted", "deleted": True}
    )


async def list_items(request: Request) -> JSONResponse:
    include_param(request)
    _, conversation = _conversation(request)
    return page_of(request, CONVERSATION_ITEM, conversation["id"])


async def create_items(request: Request) -> JSONResponse:
    include_param(request)
    sandbox, conversation = _conversation(request)
    body = validate(CREATE_ITEMS, await json_body(request))
    with sandbox.store.transaction():
        items = _add_items(sandbox, conversation["id"], body["items"])
    return JSONResponse(
        {
            "object": "list",
            "data": items,
            "first_id": items[0]["id"] if items else None,
            "last_id": items[-1]["id"] if items else None,
            "has_more": False,
        }
    )


def _item(request: Request) -> tuple[Sandbox, dict[str, Any], dict[str, Any]]:
    sandbox, conversation = _conversation(request)
    item_id = path_param(request, "item_id")
    item = sandbox.store.get(CONVERSATION_ITEM, item_id, parent=conversation["id"])
    if item is None:
        raise responding.item_not_found(item_id)
    return sandbox, conversation, item


async def retrieve_item(request: Request) -> JSONResponse:
    include_param(request)
    return JSONResponse(_item(request)[2])


async def delete_item(request: Request) -> JSONResponse:
    sandbox, conversation, item = _item(request)
    sandbox.store.delete(CONVERSATION_ITEM, item["id"], parent=conversation["id"])
    return JSONResponse(conversation)


_ONE = "/conversations/{conversation_id}"
routes = [
    Route("/conversations", create, methods=["POST"]),
    Route(_ONE, retrieve, methods=["GET"]),
    Route(_ONE, update, methods=["POST"]),
    Route(_ONE, delete, methods=["DELETE"]),
    Route(f"{_ONE}/items", list_items, methods=["GET"]),
    Route(f"{_ONE}/items", create_items, methods=["POST"]),
    Route(f"{_ONE}/items/{{item_id}}", retrieve_item, methods=["GET"]),
    Route(f"{_ONE}/items/{{item_id}}", delete_item, methods=["DELETE"]),
]
