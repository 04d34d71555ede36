"""Connect to a target: start the built-in sandbox in-process, or reach an endpoint."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from asst_deploy import generations
from asst_deploy.adapters.trace import http_hooks
from asst_deploy.backend import Backend
from asst_deploy.desired import OPENAI_BASE_URL, Target
from asst_deploy.errors import AsstDeployError
from asst_deploy.types import TargetType

if TYPE_CHECKING:
    from asst_deploy.adapters.openai_backend import OpenAIBackend

SANDBOX_KEY = "sandbox"  # the in-process sandbox checks no key; the SDK insists on one
DEFAULT_TIMEOUT = 60.0


def adapter(api: str) -> type[OpenAIBackend]:
    """The backend class of an API generation (imported here: each imports the SDK)."""
    found: type[OpenAIBackend] = generations.adapter_class(api)
    return found


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


@contextmanager
def connect(target: Target, trace: Callable[[str], None] | None = None) -> Iterator[Backend]:
    """A backend for `target`, open for the duration of the `with` block. Imports the
    openai SDK (and starts the sandbox) only here, never for network-free commands.
    `trace`, when given, is told of every HTTP request (for `--verbose`)."""
    import openai

    http: dict[str, Any] = {"event_hooks": http_hooks(trace)} if trace else {}
    sandbox: Any = None
    with ExitStack() as stack:
        if target.type == TargetType.SANDBOX:
            import ssl

            from asst_deploy.sandbox.app import Sandbox
            from asst_deploy.sandbox.server import start_server
            from asst_deploy.sandbox.store import Store

            db = target.db
            if db is not None:
                db.parent.mkdir(parents=True, exist_ok=True)
            store = Store(str(db) if db else None)
            stack.callback(store.close)
            sandbox = Sandbox(store=store)
            if target.models is not None:
                sandbox.serve_models(target.models, target.api)
            if target.rules is not None:  # scripted replies, e.g. for conversation tests
                from asst_deploy.sandbox.model import ScriptedModel

                sandbox.model = ScriptedModel.from_file(target.rules)
            server = stack.enter_context(start_server(sandbox))
            base_url: str | None = server.base_url
            api_key, key_source = SANDBOX_KEY, None
            # plain HTTP on the loopback: no TLS is spoken, so no CA bundle is loaded (50 ms
            # of every command); a context that trusts nothing would refuse any TLS peer
            http["verify"] = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        else:
            env = target.api_key_env or "OPENAI_API_KEY"
            api_key = os.environ.get(env, "")
            if not api_key:
                raise AsstDeployError(
                    f"target '{target.name}' reads its API key from ${env}, which is not set; "
                    f"export {env}=... and run again"
                )
            # not None: the SDK would read $OPENAI_BASE_URL, and plans record the endpoint
            base_url, key_source = target.base_url or OPENAI_BASE_URL, env
            # httpx's own TLS context, made when the first TLS connection needs it: loading
            # the CA bundle takes 60 ms, which an http:// endpoint never needs
            http["verify"] = LazyTLSContext()
        client = openai.OpenAI(
            api_key=api_key,
            base_url=base_url,
            organization=target.organization,
            project=target.project,
            timeout=target.timeout or DEFAULT_TIMEOUT,
            max_retries=0,
            http_client=openai.DefaultHttpxClient(**http) if http else None,
        )
        stack.callback(client.close)
        try:
            yield adapter(target.api)(client, key_source)
        except Exception:
            if sandbox is None or sandbox.full is None:
                raise
            # whatever failed for it (each write, the lock's release): one line says why
            raise AsstDeployError(_full(sandbox.full)) from None
        if sandbox is not None and sandbox.full is not None:
            raise AsstDeployError(_full(sandbox.full))


def _full(message: str) -> str:
    return f"{message}: free space on its disk (or point the target's db elsewhere), then run again"
