"""The sandbox's ASGI application: routes under /v1, real error bodies, auth and beta checks."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount

from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.store import Store

# Each module in asst_deploy.sandbox.routes exposes `routes: list[Route]`, with paths
# relative to /v1. Adding a resource family means adding a module here, nothing else.
ROUTE_MODULES = ("assistants", "files", "vector_stores", "threads", "runs")


@dataclass
class Sandbox:
    """Everything a handler may need, reachable as `request.app.state.sandbox`."""

    store: Store
    api_key: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in ROUTE_MODULES:
        try:
            module = importlib.import_module(f"asst_deploy.sandbox.routes.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"asst_deploy.sandbox.routes.{name}":
                raise
            continue
        routes.extend(module.routes)
    return routes


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def create_app(sandbox: Sandbox) -> Starlette:
    app = Starlette(
        routes=[Mount("/v1", routes=_routes())],
        exception_handlers={APIError: _api_error},
    )
    app.state.sandbox = sandbox
    return app


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or the real service's 400 for anything else."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise APIError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means "
            "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
            "payload, but what was sent was not valid JSON.)",
        ) from None
    if not isinstance(body, dict):
        raise APIError(400, "Invalid type for request body: expected an object.", code="invalid_type")
    return body


def sandbox_of(request: Request) -> Sandbox:
    sandbox = request.app.state.sandbox
    assert isinstance(sandbox, Sandbox)
    return sandbox
