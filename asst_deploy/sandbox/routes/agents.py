"""Agents API (beta): saved agents and environment templates, CRUD with cursor pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy.sandbox import agent_objects, filestore
from asst_deploy.sandbox.apierrors import invalid_type, not_found
from asst_deploy.sandbox.app import Sandbox, json_body, sandbox_of
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


def file_size(sandbox: Sandbox, file_id: str, param: str) -> int:
    """A file's byte size, for mounting it into an environment; 404 when it is gone."""
    found = sandbox.store.get(filestore.KIND, file_id)
    if found is None:
        error = not_found("file", file_id)
        error.param = param
        raise error
    return int(found["bytes"])


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


# --- environment templates -----------------------------------------------------------


def _template_view(template: dict[str, Any]) -> dict[str, Any]:
    return agent_objects.template_view(template)


async def create_template(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    body = validate(agent_objects.TEMPLATE, await json_body(request))
    now = int(sandbox.clock())
    template = {
        "id": new_id("envtpl"),
        "object": "agent.environment.template",
        "created_at": now,
        "updated_at": now,
        "name": body.get("name"),
        **agent_objects.hosted(body, None, lambda f, p: file_size(sandbox, f, p)),
    }
    return JSONResponse(_template_view(sandbox.store.insert(TEMPLATE, template)))


async def list_templates(request: Request) -> JSONResponse:
    return agent_page(request, TEMPLATE, view=_template_view)


def _template(sandbox: Sandbox, request: Request) -> dict[str, Any]:
    template_id = path_param(request, "template_id")
    return fetch(sandbox.store, TEMPLATE, template_id, "environment template")


async def retrieve_template(request: Request) -> JSONResponse:
    return JSONResponse(_template_view(_template(sandbox_of(request), request)))


async def update_template(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    template = _template(sandbox, request)
    body = validate(agent_objects.TEMPLATE, await json_body(request))
    if "name" in body:
        template["name"] = body["name"]
    template.update(agent_objects.hosted(body, template, lambda f, p: file_size(sandbox, f, p)))
    template["updated_at"] = int(sandbox.clock())
    return JSONResponse(_template_view(sandbox.store.put(TEMPLATE, template)))


async def delete_template(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    template = _template(sandbox, request)
    sandbox.store.delete(TEMPLATE, template["id"])
    return deleted(template["id"], "agent.environment.template.deleted")


# agent_sessions is registered before this module, so /agents/sessions is not an agent id.
routes = [
    Route("/agents/environments/templates", create_template, methods=["POST"]),
    Route("/agents/environments/templates", list_templates, methods=["GET"]),
    Route("/agents/environments/templates/{template_id}", retrieve_template, methods=["GET"]),
    Route("/agents/environments/templates/{template_id}", update_template, methods=["POST"]),
    Route("/agents/environments/templates/{template_id}", delete_template, methods=["DELETE"]),
    Route("/agents", create_agent, methods=["POST"]),
    Route("/agents", list_agents, methods=["GET"]),
    Route("/agents/{agent_id}", retrieve_agent, methods=["GET"]),
    Route("/agents/{agent_id}", update_agent, methods=["POST"]),
    Route("/agents/{agent_id}", delete_agent, methods=["DELETE"]),
]
