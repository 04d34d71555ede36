"""Run the sandbox in-process: uvicorn on a loopback port in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
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
_DRAIN_POLL = 0.002  # seconds between checks that open connections have closed


class _Server(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is told. uvicorn notices `should_exit` on
    its 0.1 s tick and then sleeps a fixed 0.1 s before draining connections: 200 ms on
    every command that starts the in-process sandbox."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.serving_loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # known before `started` is: an in-process caller submits requests on this loop
        self.serving_loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def exit_soon(self) -> None:
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        # still ticking (uvicorn refreshes its Date header on ticks), but woken at once
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        # what uvicorn waits for, polled finely instead of in 0.1 s steps
        deadline = time.monotonic() + (self.config.timeout_graceful_shutdown or 0)
        state = self.server_state
        while (state.connections or state.tasks) and time.monotonic() < deadline:
            await asyncio.sleep(_DRAIN_POLL)
        for task in state.tasks:
            task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        for server in self.servers:
            await server.wait_closed()


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
    `app` and `loop` are the ASGI app it serves and the event loop serving it: a caller in
    the same process may run requests there without a socket.
    """

    def __init__(
        self,
        server: _Server,
        thread: threading.Thread,
        sandbox: Sandbox,
        port: int,
        host: str,
    ) -> None:
        self._server = server
        self._thread = thread
        self.sandbox = sandbox
        self.app = server.config.app
        self.port = port
        self.host = host
        self.base_url = f"http://{host}:{port}/v1"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._server.serving_loop
        assert loop is not None, "set once the server has started"
        return loop

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
        self._server.exit_soon()
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
    server = _Server(config)
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
