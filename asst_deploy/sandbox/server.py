"""Run the sandbox in-process: uvicorn on a loopback port in a background thread."""

from __future__ import annotations

import json
import socket
import threading
import time
from types import TracebackType

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import Sandbox, create_app
from asst_deploy.sandbox.faults import FaultConfig, RequestLog
from asst_deploy.sandbox.store import Store

LOOPBACK = "127.0.0.1"


class JSONErrorProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, but a request it cannot parse (a negative or garbled
    Content-Length, a malformed request line) gets the API's JSON error body, not text."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(APIError(400, f"Invalid HTTP request: {msg}").body()).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()


class SandboxServer:
    """A running sandbox. `base_url` ends in /v1, ready for `openai.OpenAI(base_url=...)`.

    `sandbox` is the live state (store, api_key, processing_delay, ...); `faults` and
    `log` are the sandbox's fault config and request log, both changeable while running.
    """

    def __init__(
        self,
        server: uvicorn.Server,
        thread: threading.Thread,
        sandbox: Sandbox,
        port: int,
        host: str,
    ) -> None:
        self._server = server
        self._thread = thread
        self.sandbox = sandbox
        self.port = port
        self.host = host
        self.base_url = f"http://{host}:{port}/v1"

    @property
    def faults(self) -> FaultConfig:
        return self.sandbox.faults

    @faults.setter
    def faults(self, config: FaultConfig) -> None:
        self.sandbox.faults = config

    @property
    def log(self) -> RequestLog:
        return self.sandbox.log

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    sandbox: Sandbox | None = None,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    faults: FaultConfig | None = None,
    log_level: str = "critical",
    startup_timeout: float = 10.0,
) -> SandboxServer:
    """Start serving `sandbox` (default: a fresh in-memory one) and return once it listens.

    `port=0` picks a free port. `faults` replaces the sandbox's fault config. The in-process
    server logs only critical errors by default (tests inject faults on purpose).
    """
    sandbox = sandbox or Sandbox(store=Store())
    if faults is not None:
        sandbox.faults = faults
    # proto must say TCP: asyncio sets TCP_NODELAY only on sockets that do, and without it
    # every answer waits ~40 ms for a delayed ACK (Nagle between headers and body).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        create_app(sandbox),
        http=JSONErrorProtocol,
        log_level=log_level,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    # uvicorn skips signal handlers off the main thread, so this thread is safe to use.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="asst-deploy-sandbox"
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.005)
    return SandboxServer(server, thread, sandbox, sock.getsockname()[1], host)
