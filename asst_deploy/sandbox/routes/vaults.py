"""/vaults (Agents API beta, header `OpenAI-Beta: agents=v1`): vaults and their credentials.

Every stored vault and credential is `active` (the sandbox archives nothing), so a list's
`status` filter keeps them all, or none for `archived` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy.sandbox import vaults
from asst_deploy.sandbox.app import Sandbox, json_body, sandbox_of
from asst_deploy.sandbox.routes.agents import agent_page
from asst_deploy.sandbox.routes.common import deleted, fetch, path_param
from asst_deploy.sandbox.store import new_id
from asst_deploy.sandbox.validation import bad_value, validate
from asst_deploy.sandbox.vaults import CREDENTIAL, SECRETS, VAULT

_FILTERS = ("metadata", "status", "status[]")


def _where(request: Request) -> Callable[[dict[str, Any]], bool]:
    """The list filters: `metadata[key]=value` pairs (all must match) and `status`."""
    wanted: set[str] = set()
    for key in ("status", "status[]"):
        for raw in request.query_params.getlist(key):
            for value in raw.split(","):
                if value not in vaults.STATUSES:
                    raise bad_value(key, value, vaults.STATUSES)
                wanted.add(value)
    pairs = {
        key[len("metadata[") : -1]: value
        for key, value in request.query_params.items()
        if key.startswith("metadata[") and key.endswith("]")
    }

    def keep(obj: dict[str, Any]) -> bool:
        if wanted and "active" not in wanted:
            return False
        return all(obj["metadata"].get(k) == v for k, v in pairs.items())

    return keep


# --- vaults ------------------------------------------------------------------------------


def _vault(sandbox: Sandbox, request: Request) -> dict[str, Any]:
    return fetch(sandbox.store, VAULT, path_param(request, "vault_id"), "vault")


async def create_vault(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    body = validate(vaults.CREATE_VAULT, await json_body(request))
    vault = {
        "id": new_id("vault"),
        "object": "vault",
        "created_at": int(sandbox.clock()),
        "metadata": body.get("metadata") or {},
        "name": vaults.name(body["name"]) if "name" in body else None,
    }
    return JSONResponse(vaults.view(sandbox.store.insert(VAULT, vault)))


async def list_vaults(request: Request) -> JSONResponse:
    return agent_page(request, VAULT, where=_where(request), extra=_FILTERS, view=vaults.view)


async def retrieve_vault(request: Request) -> JSONResponse:
    return JSONResponse(vaults.view(_vault(sandbox_of(request), request)))


async def update_vault(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    vault = _vault(sandbox, request)
    body = validate(vaults.UPDATE_VAULT, await json_body(request))
    if "metadata" in body:
        vault["metadata"] = body["metadata"]
    if "name" in body:
        vault["name"] = None if body["name"] is None else vaults.name(body["name"])
    return JSONResponse(vaults.view(sandbox.store.put(VAULT, vault)))


async def delete_vault(request: Request) -> JSONResponse:
    """ "Deletes a vault and all its credentials"."""
    sandbox = sandbox_of(request)
    vault = _vault(sandbox, request)
    with sandbox.store.transaction():
        sandbox.store.delete_children(vault["id"])
        sandbox.store.delete(VAULT, vault["id"])
    return deleted(vault["id"], "vault.deleted")


# --- credentials -------------------------------------------------------------------------


def _credential(sandbox: Sandbox, request: Request) -> dict[str, Any]:
    vault = _vault(sandbox, request)
    credential_id = path_param(request, "credential_id")
    return fetch(sandbox.store, CREDENTIAL, credential_id, "credential", parent=vault["id"])


async def create_credential(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    vault = _vault(sandbox, request)
    body = validate(vaults.CREATE_CREDENTIAL, await json_body(request))
    public, secrets = vaults.split_auth(body["auth"])
    now = int(sandbox.clock())
    credential = {
        "id": new_id("cred"),
        "object": "vault.credential",
        "vault_id": vault["id"],
        "name": vaults.name(body["name"]),
        "auth": public,
        "metadata": body.get("metadata") or {},
        "created_at": now,
        "updated_at": now,
        SECRETS: secrets,
    }
    sandbox.store.insert(CREDENTIAL, credential, parent=vault["id"])
    return JSONResponse(vaults.view(credential))


async def list_credentials(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    vault = _vault(sandbox, request)
    return agent_page(
        request,
        CREDENTIAL,
        parent=vault["id"],
        where=_where(request),
        extra=_FILTERS,
        view=vaults.view,
    )


async def retrieve_credential(request: Request) -> JSONResponse:
    return JSONResponse(vaults.view(_credential(sandbox_of(request), request)))


async def update_credential(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    credential = _credential(sandbox, request)
    body = validate(vaults.UPDATE_CREDENTIAL, await json_body(request))
    if "auth" in body:
        vaults.rotate(credential, body["auth"])
    if "metadata" in body:
        credential["metadata"] = body["metadata"]
    credential["updated_at"] = int(sandbox.clock())
    sandbox.store.put(CREDENTIAL, credential, parent=credential["vault_id"])
    return JSONResponse(vaults.view(credential))


async def delete_credential(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    credential = _credential(sandbox, request)
    sandbox.store.delete(CREDENTIAL, credential["id"], parent=credential["vault_id"])
    return deleted(credential["id"], "vault.credential.deleted")


routes = [
    Route("/vaults", create_vault, methods=["POST"]),
    Route("/vaults", list_vaults, methods=["GET"]),
    Route("/vaults/{vault_id}", retrieve_vault, methods=["GET"]),
    Route("/vaults/{vault_id}", update_vault, methods=["POST"]),
    Route("/vaults/{vault_id}", delete_vault, methods=["DELETE"]),
    Route("/vaults/{vault_id}/credentials", create_credential, methods=["POST"]),
    Route("/vaults/{vault_id}/credentials", list_credentials, methods=["GET"]),
    Route("/vaults/{vault_id}/credentials/{credential_id}", retrieve_credential, methods=["GET"]),
    Route("/vaults/{vault_id}/credentials/{credential_id}", update_credential, methods=["POST"]),
    Route("/vaults/{vault_id}/credentials/{credential_id}", delete_credential, methods=["DELETE"]),
]
