"""Agents API (beta): saved agents, CRUD with cursor pages; the Agents API's list page helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy.sandbox import agent_objects
from asst_deploy.sandbox.apierrors import invalid_type
from asst_deploy.sandbox.app import json_body, sandbox_of
from asst_deploy.sandbox.routes.common import deleted, fetch, path_param, store_listing
from asst_deploy.sandbox.store import new_id
from asst_deploy.sandbox.validation import unknown, validate

AGENT = "agent"
TEMPLATE = "agent.environment.template"
# The Agents API pages forwards only: `before` is not one of its list parameters.
_LIST_PARAMS = ("after", "limit", "order")


def agent_page(
    request: Request,
    kind: str,
    *,
    parent: str = "",
    where: Callable[[dict[str, Any]], bool] | None = None,
    extra: tuple[str, ...] = (),
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> JSONResponse:
    """One Agents API list page, paged in SQL; only `after`, `limit`, `order` (and the
    route's `extra` filters) are list parameters here."""
    for key in request.query_params:
        filter_by_metadata = "metadata" in extra and key.startswith("metadata[")
        if key not in _LIST_PARAMS + extra and not filter_by_metadata:
            raise unknown(key)
    return store_listing(request, kind, parent=parent, where=where, view=view)


# --- agents --------------------------------------------------------------------------


async def create_agent(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    body = validate(agent_objects.CREATE_AGENT, await json_body(request))
    sandbox.check_model(body["model"], "agents")
    now = int(sandbox.clock())
    agent = {
        "id": new_id("agent"),
        "object": "agent",
        "created_at": now,
        "updated_at": now,
        **agent_objects.settings(body),
    }
    return JSONResponse(sandbox.store.insert(AGENT, agent))


async def list_agents(request: Request) -> JSONResponse:
    return agent_page(request, AGENT)


async def retrieve_agent(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    return JSONResponse(fetch(sandbox.store, AGENT, path_param(request, "agent_id"), "agent"))


async def update_agent(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    agent = fetch(sandbox.store, AGENT, path_param(request, "agent_id"), "agent")
    body = validate(agent_objects.UPDATE_AGENT, await json_body(request))
    if "model" in body and body["model"] is None:
        raise invalid_type("model", "a string", "null")
    sandbox.check_model(body.get("model"), "agents")
    agent.update(agent_objects.settings(body, agent))
    agent["updated_at"] = int(sandbox.clock())
    return JSONResponse(sandbox.store.put(AGENT, agent))


async def delete_agent(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    agent_id = path_param(request, "agent_id")
    fetch(sandbox.store, AGENT, agent_id, "agent")
    sandbox.store.delete(AGENT, agent_id)
    return deleted(agent_id, "agent.deleted")


# agent_sessions, agent_environments and agent_automations are registered before this
# module, so /agents/sessions, /agents/environments, /agents/automations are no agent ids.
routes = [
    Route("/agents", create_agent, methods=["POST"]),
    Route("/agents", list_agents, methods=["GET"]),
    Route("/agents/{agent_id}", retrieve_agent, methods=["GET"]),
    Route("/agents/{agent_id}", update_agent, methods=["POST"]),
    Route("/agents/{agent_id}", delete_agent, methods=["DELETE"]),
]
