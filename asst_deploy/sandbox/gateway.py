"""What the real API front does before and around a handler: request ids, auth, beta, limits."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import time
from typing import Protocol

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.faults import REQUEST_ID_KEY, SERVER_ERROR, fault_error, send_error
from asst_deploy.secrets import mask as mask_key  # a wrong key, as the real service shows it

logger = logging.getLogger(__name__)

# Only these families demand the beta header; files and vector stores left beta in 2025.
BETA_PREFIXES = ("/v1/assistants", "/v1/threads")
BETA_VALUE = "assistants=v2"
# The Agents API (beta) wants its own header on everything under /v1/agents, and on
# vaults (/v1/vaults, `client.beta.agents.vaults`, which sends it); skills (/v1/skills)
# are no beta surface: the SDK sends no header there.
AGENTS_PREFIX = "/v1/agents"
AGENTS_PREFIXES = (AGENTS_PREFIX, "/v1/vaults")
AGENTS_BETA_VALUE = "agents=v1"

MISSING_BETA = (
    "You must provide the 'OpenAI-Beta' header to access the Assistants API. Please try "
    "again by setting the header 'OpenAI-Beta: assistants=v2'."
)
MISSING_AGENTS_BETA = (
    "You must provide the 'OpenAI-Beta' header to access the Agents API. Please try "
    "again by setting the header 'OpenAI-Beta: agents=v1'."
)
MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
    "field (with blank username) if you're accessing the API from your browser and are "
    "prompted for a username. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)


def new_request_id() -> str:
    return "req_" + secrets.token_hex(16)


class ResponseHeaders:
    """Outermost layer: every answer carries x-request-id, openai-processing-ms and
    openai-version, and an unexpected exception becomes the real 500 body, not a bare text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = new_request_id()
        scope[REQUEST_ID_KEY] = request_id
        state = {"started": False}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                elapsed = int((time.perf_counter() - started) * 1000)
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"openai-processing-ms", str(elapsed).encode()),
                    (b"openai-version", b"2020-10-01"),
                ]
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception as exc:
            full = _disk_full(scope, exc)
            if full is None:
                logger.exception("unhandled error in sandbox request %s", request_id)
            if state["started"]:
                raise
            error = (
                fault_error(SERVER_ERROR, request_id)
                if full is None
                else APIError(507, full, type="server_error", code="insufficient_storage")
            )
            await send_error(error, scope, receive, with_headers)


def _disk_full(scope: Scope, exc: BaseException) -> str | None:
    """What to say when `exc` is sqlite finding the store's disk (or its size limit) full,
    else None. The condition is kept on the sandbox: it lasts, and no traceback of each
    request says more than one line does (a rollback that fails after it hides it)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.OperationalError) and (
            getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "database or disk is full" in str(seen)
        ):
            break
        seen = seen.__cause__ or seen.__context__
    if seen is None:
        return None
    app = scope.get("app")
    sandbox = getattr(getattr(app, "state", None), "sandbox", None)
    path = getattr(getattr(sandbox, "store", None), "path", "?")
    message = f"the sandbox db {path} is full"
    if sandbox is not None:
        sandbox.full = message
    return message


class Gated(Protocol):
    """What of the sandbox (asst_deploy.sandbox.app.Sandbox) the request checks read."""

    api_key: str | None
    max_body_bytes: int
    max_upload_bytes: int


class RequestChecks:
    """Auth (when the Sandbox has an api_key), the beta header, and body size limits."""

    def __init__(self, app: ASGIApp, sandbox: Gated) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            self._check(scope, headers)
        except APIError as error:
            await send_error(error, scope, receive, send)
            return
        limit = self._limit(scope)
        received = 0

        async def counted() -> Message:
            # Chunked bodies carry no length up front: stop reading once over the limit.
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
            return message

        await self.app(scope, counted, send)

    def _limit(self, scope: Scope) -> int:
        if scope["method"] == "POST" and scope["path"] == "/v1/files":
            # multipart framing around the file is small; allow for it
            return self.sandbox.max_upload_bytes + 64 * 1024
        return self.sandbox.max_body_bytes

    def _check(self, scope: Scope, headers: Headers) -> None:
        expected = self.sandbox.api_key
        if expected is not None:
            auth = headers.get("authorization", "")
            if not auth.lower().startswith("bearer ") or not auth[7:].strip():
                raise APIError(401, MISSING_KEY)
            given = auth[7:].strip()
            if not secrets.compare_digest(given.encode(), expected.encode()):
                raise APIError(
                    401,
                    f"Incorrect API key provided: {mask_key(given)}. You can find your API key "
                    "at https://platform.openai.com/account/api-keys.",
                    code="invalid_api_key",
                )
        if scope["path"].startswith(BETA_PREFIXES):
            values = [v.strip() for v in headers.get("openai-beta", "").split(",")]
            if BETA_VALUE not in values:
                raise APIError(400, MISSING_BETA, code="invalid_beta")
        path = scope["path"]
        if any(path == prefix or path.startswith(prefix + "/") for prefix in AGENTS_PREFIXES):
            values = [v.strip() for v in headers.get("openai-beta", "").split(",")]
            if AGENTS_BETA_VALUE not in values:
                raise APIError(400, MISSING_AGENTS_BETA, code="invalid_beta")
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self._limit(scope):
            raise _too_large(self._limit(scope))


def _too_large(limit: int) -> APIError:
    return APIError(
        413,
        f"Request body too large: the maximum is {limit} bytes.",
        code="request_too_large",
    )
