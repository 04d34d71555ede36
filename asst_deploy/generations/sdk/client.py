"""The SDK client a backend or a driver talks through: made here, so nothing outside the
generations imports the openai SDK."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from typing import Any

from asst_deploy.errors import AsstDeployError
from asst_deploy.generations.sdk.trace import http_hooks

DEFAULT_TIMEOUT = 60.0


class LazyTLSContext:
    """Stands for the `ssl.SSLContext` httpx makes by default (`verify=True`), creating
    it on first use: httpx hands its context only to the TLS connections it opens, which
    call its methods (`set_alpn_protocols`, `wrap_socket`), each forwarded to the real one."""

    def __init__(self) -> None:
        self._context: Any = None
        self._lock = threading.Lock()

    def real(self) -> Any:
        with self._lock:
            if self._context is None:
                import httpx2

                self._context = httpx2.create_ssl_context(verify=True)
            return self._context

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.real(), name)


def sdk_client(
    *,
    api_key: str,
    base_url: str,
    loopback: bool,
    organization: str | None = None,
    project: str | None = None,
    timeout: float | None = None,
    trace: Callable[[str], None] | None = None,
) -> Any:
    """An `openai.OpenAI` client that never retries (the engine does). `loopback`: plain
    HTTP to the in-process sandbox, so no CA bundle is loaded (50 ms of every command); a
    context that trusts nothing would refuse any TLS peer. Else httpx's own TLS context,
    made when the first TLS connection needs it (an http:// endpoint never does).
    `trace`, when given, is told of every HTTP request (for `--verbose`)."""
    import openai

    http: dict[str, Any] = {"event_hooks": http_hooks(trace)} if trace else {}
    http["verify"] = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT) if loopback else LazyTLSContext()
    return openai.OpenAI(
        api_key=api_key,
        base_url=base_url,
        organization=organization,
        project=project,
        timeout=timeout or DEFAULT_TIMEOUT,
        max_retries=0,
        http_client=openai.DefaultHttpxClient(**http),
    )


def replay_client(base_url: str) -> Any:
    """An SDK client for a cassette's replay base: made here, so replay imports no SDK."""
    import openai

    return openai.OpenAI(base_url=base_url, api_key="replay", max_retries=0)


def live_client(backend: Any) -> Any:
    """The SDK client of a connected backend (the drivers share its connection)."""
    from asst_deploy.generations.sdk.openai_backend import OpenAIBackend

    if not isinstance(backend, OpenAIBackend):
        raise AsstDeployError("conversation drivers need a backend over the openai SDK")
    return backend.client
