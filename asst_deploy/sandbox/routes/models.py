"""`GET /models` and `/models/{model}`: the names the sandbox serves, on every API generation."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy import models as model_names
from asst_deploy.generations import served_models
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import Sandbox, sandbox_of

# The model objects' `created`: a fixed moment, so answers are the same on every run
CREATED = 1_700_000_000


def _model(sandbox: Sandbox, name: str) -> dict[str, Any]:
    return {
        "id": name,
        "object": "model",
        "created": CREATED,
        "owned_by": "system",
        "shutdown_date": sandbox.shutdowns.get(name) or model_names.shutdown_date(name),
    }


def served(sandbox: Sandbox) -> list[str]:
    """Every name some API generation of this sandbox serves; an API that takes any name
    lists its default names (there is no "any" to list)."""
    names: set[str] = set()
    for api, listed in sandbox.models.items():
        names |= served_models(listed, api)
    return sorted(names)


async def list_(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    return JSONResponse({"object": "list", "data": [_model(sandbox, n) for n in served(sandbox)]})


async def retrieve(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    name = request.path_params["model"]
    takes_any = any(listed is None for listed in sandbox.models.values())
    if name not in served(sandbox) and not takes_any:
        # the real service's wording and status for a model id it does not know
        raise APIError(
            404, f"The model '{name}' does not exist", param="model", code="model_not_found"
        )
    return JSONResponse(_model(sandbox, name))


routes = [
    Route("/models", list_, methods=["GET"]),
    # model ids may hold a slash (fine-tunes: "ft:gpt-4o:org::id" has none, but
    # organisation-scoped names do): the path converter keeps it whole
    Route("/models/{model:path}", retrieve, methods=["GET"]),
]
