"""The sandbox's ASGI application: routes under /v1, real error bodies, auth and beta checks."""

from __future__ import annotations

import importlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount

from asst_deploy import models as model_names
from asst_deploy.generations import API_GENERATIONS
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.faults import FaultConfig, FaultMiddleware, RequestLog
from asst_deploy.sandbox.gateway import RequestChecks, ResponseHeaders
from asst_deploy.sandbox.model import ScriptedModel
from asst_deploy.sandbox.store import Store

# Each module in asst_deploy.sandbox.routes exposes `routes: list[Route]`, with paths
# relative to /v1. Adding a resource family means adding a module here, nothing else.
# agent_sessions, agent_environments and agent_automations precede agents, whose
# /agents/{agent_id} would otherwise take "sessions", "environments" or "automations".
ROUTE_MODULES = (
    "assistants",
    "files",
    "vector_stores",
    "threads",
    "runs",
    "responses",
    "conversations",
    "agent_sessions",
    "agent_environments",
    "agent_automations",
    "agents",
    "vaults",
    "skills",
    "models",
    "embeddings",
)


@dataclass
class Sandbox:
    """Everything a handler may need, reachable as `request.app.state.sandbox`."""

    store: Store
    api_key: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    model: ScriptedModel = field(default_factory=ScriptedModel)
    # Seconds a vector-store file stays in_progress before it settles (see vectorstores).
    processing_delay: float = 0.0
    # Wall clock in seconds; tests may substitute their own to step time exactly.
    clock: Callable[[], float] = time.time
    max_body_bytes: int = 32 * 1024 * 1024
    max_upload_bytes: int = 512 * 1024 * 1024  # the real per-file limit
    faults: FaultConfig = field(default_factory=FaultConfig)
    log: RequestLog = field(default_factory=RequestLog)
    # The model names it serves, per API generation (None: any); like the real service,
    # others are a 400. `GET /v1/models` lists them all.
    models: dict[str, frozenset[str] | None] = field(
        default_factory=lambda: {
            name: frozenset(generation.models) for name, generation in API_GENERATIONS.items()
        }
    )
    # model -> the shutdown date `GET /v1/models` reports for it instead of the built-in
    # table's: a compatible endpoint's own schedule, or an announcement the table lacks
    shutdowns: dict[str, str] = field(default_factory=dict)
    # Set once a write found the store's disk full (gateway.py): the in-process target
    # tells its user that, in one line, instead of each failed request (targets.connect).
    full: str | None = None

    def serve_models(self, names: Iterable[str] | None, api: str | None = None) -> None:
        """Serve exactly `names` (None: any name) on `api`, or on every API generation."""
        for one in self.models if api is None else (api,):
            self.models[one] = None if names is None else frozenset(names)

    def check_model(self, model: object, api: str, param: str = "model") -> None:
        served = self.models[api]
        if isinstance(model, str) and served is not None and model not in served:
            raise APIError(
                400, model_names.not_found_message(model), param=param, code="model_not_found"
            )


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


async def _no_route(request: Request, exc: Exception) -> Response:
    # The real front answers unknown paths and wrong methods alike, with a JSON 404.
    return await _api_error(
        request, APIError(404, f"Invalid URL ({request.method} {request.url.path})")
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    # starlette's own refusals (a malformed multipart body, ...) get the API's JSON body too
    assert isinstance(exc, HTTPException)
    return await _api_error(request, APIError(exc.status_code, str(exc.detail)))


def create_app(sandbox: Sandbox) -> Starlette:
    app = Starlette(
        routes=[Mount("/v1", routes=_routes())],
        exception_handlers={
            APIError: _api_error,
            HTTPException: _http_error,
            404: _no_route,
            405: _no_route,
        },
        # Outermost first: headers and the last-resort 500 wrap the fault injector (so
        # injected answers look real too), which sees every request, checks included.
        middleware=[
            Middleware(ResponseHeaders),
            Middleware(FaultMiddleware, sandbox=sandbox),
            Middleware(RequestChecks, sandbox=sandbox),
        ],
    )
    app.state.sandbox = sandbox
    return app


# Deeper bodies are refused: no request of the API nests anywhere near this, and Python's
# parser and encoders recurse (a deeper body would end in RecursionError, a 500).
MAX_JSON_DEPTH = 128

NOT_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means "
    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
    "payload, but what was sent was not valid JSON.)"
)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999, or a 5000-digit decimal: not a number JSON can hold
        raise ValueError(f"number out of range: {text[:20]}...")
    return value


def _no_constant(text: str) -> Any:
    # NaN, Infinity and -Infinity are not JSON (Python's parser accepts them by default)
    raise ValueError(f"{text} is not valid JSON")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or the real service's 400 for anything else (bodies that
    could not be stored and answered, like NaN or a lone surrogate, included)."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise APIError(400, NOT_JSON) from None
    if not isinstance(body, dict):
        raise APIError(
            400, "Invalid type for request body: expected an object.", code="invalid_type"
        )
    _check_tree(body)
    return body


def _check_tree(body: dict[str, Any]) -> None:
    """Refuse what the store could keep but never answer with: too deep, lone surrogates."""
    stack: list[tuple[Any, str, int]] = [(body, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise APIError(
                400,
                f"Invalid '{path}': the request body nests deeper than {MAX_JSON_DEPTH} levels.",
                param=path,
                code="invalid_value",
            )
        if isinstance(value, dict):
            for key, item in value.items():
                sub = f"{path}.{key}" if path else key
                _check_text(key, path or "body")
                stack.append((item, sub, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            _check_text(value, path)


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = ascii(path)[1:-1]  # the path itself may hold the surrogate
        raise APIError(
            400,
            f"Invalid '{shown}': the string holds a lone UTF-16 surrogate, which is not "
            "valid Unicode.",
            param=shown,
            code="invalid_value",
        ) from None


def sandbox_of(request: Request) -> Sandbox:
    sandbox = request.app.state.sandbox
    assert isinstance(sandbox, Sandbox)
    return sandbox
