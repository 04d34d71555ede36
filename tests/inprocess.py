"""Cheap SDK clients of an in-process sandbox: its app on its own loop, or plain HTTP."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx2

from asst_deploy.sandbox.server import SandboxServer

# For clients of the sandbox's loopback HTTP: no TLS is spoken there, and the context the
# SDK makes by default loads the CA bundle, 25 ms for every client a test makes.
PLAIN_HTTP = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

# What uvicorn answers when the app fails before it starts its answer.
_FAILED = (500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error")


class InProcessTransport(httpx2.BaseTransport):
    """The sandbox's answers without loopback HTTP: each request runs on the server's
    event loop, beside those its socket serves, so requests interleave as they do there.
    A connection the sandbox drops (an answer shorter than its Content-Length) raises what
    httpx raises for one; answers are read whole, so a live event stream cannot pass here."""

    def __init__(self, server: SandboxServer) -> None:
        self._app = server.app
        self._loop = server.loop

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        future = asyncio.run_coroutine_threadsafe(self._call(request, body), self._loop)
        status, headers, content = future.result()
        declared = next((v for k, v in headers if k.lower() == b"content-length"), None)
        if declared is not None and int(declared) != len(content) and request.method != "HEAD":
            raise httpx2.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            )
        return httpx2.Response(
            status, headers=headers, stream=httpx2.ByteStream(content), request=request
        )

    async def _call(
        self, request: httpx2.Request, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port),
            "client": ("127.0.0.1", 0),
            "root_path": "",
        }
        sent = False
        answered = asyncio.Event()
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await answered.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False):
                    answered.set()

        try:
            await self._app(scope, receive, send)
        except Exception:
            # uvicorn logs it; an answer already begun stands, as it does on the socket
            if not start:
                return _FAILED
        finally:
            answered.set()
        return start["status"], list(start.get("headers", [])), b"".join(parts)
