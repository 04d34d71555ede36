"""Agents API (beta): environment templates, environments (prewarmed or a session's) and their live files.

Registered before `agents` (whose /agents/{agent_id} would take "environments"); the
template routes come first here, so /agents/environments/templates is no environment id.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy.sandbox import agent_objects, environments, vaults
from asst_deploy.sandbox.apierrors import APIError, not_found
from asst_deploy.sandbox.app import Sandbox, json_body, sandbox_of
from asst_deploy.sandbox.environments import ENVIRONMENT, LIVE_FILE
from asst_deploy.sandbox.pagination import parse
from asst_deploy.sandbox.routes.agents import TEMPLATE, agent_page
from asst_deploy.sandbox.routes.common import deleted, fetch, path_param, query_choice
from asst_deploy.sandbox.store import new_id
from asst_deploy.sandbox.validation import (
    Arr,
    Nullable,
    Obj,
    Str,
    Tagged,
    const,
    unknown,
    validate,
)

IDEMPOTENCY = "agent.environment.idempotency"
CREATE = Obj(
    {
        "environment": Tagged(
            {
                "openai_hosted": const(
                    "openai_hosted",
                    environment_template_id=Str(),
                    **agent_objects.HOSTED_FIELDS,
                )
            }
        ),
        "vault_ids": Nullable(Arr(Str(), max_items=10)),
    },
    required=["environment"],
)

# --- environment templates -----------------------------------------------------------


def _size(sandbox: Sandbox) -> Any:
    return lambda f, p: environments.file_size(sandbox, f, p)


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
        **agent_objects.hosted(body, None, _size(sandbox)),
    }
    return JSONResponse(agent_objects.template_view(sandbox.store.insert(TEMPLATE, template)))


async def list_templates(request: Request) -> JSONResponse:
    return agent_page(request, TEMPLATE, view=agent_objects.template_view)


def _template(sandbox: Sandbox, request: Request) -> dict[str, Any]:
    template_id = path_param(request, "template_id")
    return fetch(sandbox.store, TEMPLATE, template_id, "environment template")


async def retrieve_template(request: Request) -> JSONResponse:
    return JSONResponse(agent_objects.template_view(_template(sandbox_of(request), request)))


async def update_template(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    template = _template(sandbox, request)
    body = validate(agent_objects.TEMPLATE, await json_body(request))
    if "name" in body:
        template["name"] = body["name"]
    template.update(agent_objects.hosted(body, template, _size(sandbox)))
    template["updated_at"] = int(sandbox.clock())
    return JSONResponse(agent_objects.template_view(sandbox.store.put(TEMPLATE, template)))


async def delete_template(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    template = _template(sandbox, request)
    sandbox.store.delete(TEMPLATE, template["id"])
    return deleted(template["id"], "agent.environment.template.deleted")


# --- environments ----------------------------------------------------------------------


def template_base(sandbox: Sandbox, template_id: str, param: str) -> dict[str, Any]:
    """A template's stored definition, as the base of an environment's."""
    template = sandbox.store.get(TEMPLATE, template_id)
    if template is None:
        error = not_found("environment template", template_id)
        error.param = param
        raise error
    return {k: v for k, v in template.items() if k in agent_objects.HOSTED_FIELDS}


async def create_environment(request: Request) -> JSONResponse:
    """A prewarmed environment (`ready`), for a later session's `environment_id`."""
    sandbox = sandbox_of(request)
    body = validate(CREATE, await json_body(request))
    key = request.headers.get("idempotency-key")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    if key:
        seen = sandbox.store.get(IDEMPOTENCY, key)
        if seen is not None:
            if seen["body"] != canonical:
                raise APIError(
                    400,
                    f"Idempotency-Key '{key}' was already used with a different request body.",
                    param="Idempotency-Key",
                    code="idempotency_key_reused",
                )
            return JSONResponse(environments.view(environments.get(sandbox, seen["env_id"])))
    spec = body["environment"]
    vault_ids = vaults.check_ids(sandbox.store, body.get("vault_ids"), "vault_ids")
    base = None
    if "environment_template_id" in spec:
        base = template_base(
            sandbox, spec["environment_template_id"], "environment.environment_template_id"
        )
    fields = {k: v for k, v in spec.items() if k in agent_objects.HOSTED_FIELDS}
    full = environments.definition(sandbox, fields, base, "environment.")
    shown = environments.shown(
        sandbox, new_id("env"), full, environments.CONTAINER_SIZE, "environment."
    )
    with sandbox.store.transaction():
        env = environments.register(sandbox, shown, full, status="ready", vault_ids=vault_ids)
        if key:
            sandbox.store.insert(IDEMPOTENCY, {"id": key, "body": canonical, "env_id": env["id"]})
    return JSONResponse(environments.view(env))


async def list_environments(request: Request) -> JSONResponse:
    query_choice(request, "type", ["openai_hosted"])
    return agent_page(request, ENVIRONMENT, extra=("type",), view=environments.view)


async def retrieve_environment(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    env = environments.get(sandbox, path_param(request, "environment_id"))
    return JSONResponse(environments.view(env))


async def create_file(request: Request) -> JSONResponse:
    """Copies inline bytes or a Files API file into the environment, replacing the file
    at the same path."""
    sandbox = sandbox_of(request)
    env = environments.get(sandbox, path_param(request, "environment_id"))
    body = validate(agent_objects.FILE, await json_body(request))
    path = environments.check_path(body["path"], "path")
    if body["type"] == "file_id":
        size = environments.file_size(sandbox, body["file_id"], "file_id")
    else:
        size = agent_objects.inline_size(body["data"])
    return JSONResponse(environments.put_file(sandbox, env["id"], path, size))


def _token(path: str) -> str:
    return base64.urlsafe_b64encode(path.encode()).decode().rstrip("=")


def _from_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, ValueError):
        raise APIError(
            400, "Invalid 'page': not a page token from a previous answer.", param="page"
        ) from None


async def list_files(request: Request) -> JSONResponse:
    """Live files, sorted by path components; pages by an opaque token (`next`)."""
    sandbox = sandbox_of(request)
    env = environments.get(sandbox, path_param(request, "environment_id"))
    query = request.query_params
    for key in query:
        if key not in ("limit", "order", "page", "path"):
            raise unknown(key)
    limit, order, _, _ = parse(query, max_limit=100, default_limit=20)
    directory = query.get("path")
    if directory is not None and directory.rstrip("/") != environments.WORKSPACE:
        environments.check_path(directory.rstrip("/"), "path")
    files = sandbox.store.list(LIVE_FILE, parent=env["id"])
    if directory is not None:
        prefix = directory.rstrip("/") + "/"
        files = [f for f in files if f["path"].startswith(prefix)]
    descending = order == "desc"

    def parts(file: dict[str, Any]) -> list[str]:
        return list(file["path"].split("/"))

    files.sort(key=parts, reverse=descending)
    token = query.get("page")
    if token:  # the path of the last file of the previous page
        last = _from_token(token).split("/")
        files = [f for f in files if (parts(f) < last if descending else parts(f) > last)]
    data = [{k: v for k, v in f.items() if k != "id"} for f in files[:limit]]
    has_more = len(files) > limit
    return JSONResponse(
        {
            "object": "page",
            "data": data,
            "next": _token(data[-1]["path"]) if has_more else None,
            "has_more": has_more,
        }
    )


routes = [
    Route("/agents/environments/templates", create_template, methods=["POST"]),
    Route("/agents/environments/templates", list_templates, methods=["GET"]),
    Route("/agents/environments/templates/{template_id}", retrieve_template, methods=["GET"]),
    Route("/agents/environments/templates/{template_id}", update_template, methods=["POST"]),
    Route("/agents/environments/templates/{template_id}", delete_template, methods=["DELETE"]),
    Route("/agents/environments", create_environment, methods=["POST"]),
    Route("/agents/environments", list_environments, methods=["GET"]),
    Route("/agents/environments/{environment_id}", retrieve_environment, methods=["GET"]),
    Route("/agents/environments/{environment_id}/files", create_file, methods=["POST"]),
    Route("/agents/environments/{environment_id}/files", list_files, methods=["GET"]),
]
