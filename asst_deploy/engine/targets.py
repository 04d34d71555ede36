"""Connect to a target: start the built-in sandbox in-process, or reach an endpoint, and
open the backend of the target's API generation over an SDK client."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from asst_deploy import generations
from asst_deploy.backend import Backend
from asst_deploy.desired import OPENAI_BASE_URL, Target
from asst_deploy.errors import AsstDeployError
from asst_deploy.fastforward import FastForward
from asst_deploy.types import TargetType

SANDBOX_KEY = "sandbox"  # the in-process sandbox checks no key; the SDK insists on one


@contextmanager
def connect(target: Target, trace: Callable[[str], None] | None = None) -> Iterator[Backend]:
    """A backend for `target`, open for the duration of the `with` block. Imports the
    openai SDK (and starts the sandbox) only here, never for network-free commands.
    `trace`, when given, is told of every HTTP request (for `--verbose`)."""
    from asst_deploy.generations.sdk.client import sdk_client

    sandbox: Any = None
    clock: FastForward | None = None  # the in-process sandbox's
    with ExitStack() as stack:
        if target.type == TargetType.SANDBOX:
            from asst_deploy.sandbox.app import Sandbox
            from asst_deploy.sandbox.server import start_server
            from asst_deploy.sandbox.store import Store

            db = target.db
            if db is not None:
                db.parent.mkdir(parents=True, exist_ok=True)
            store = Store(str(db) if db else None)
            stack.callback(store.close)
            # the sandbox's clock is the client's: a conversation's waits skip ahead
            clock = FastForward()
            sandbox = Sandbox(store=store, clock=clock.time)
            if target.models is not None:
                sandbox.serve_models(target.models, target.api)
            if target.rules is not None:  # scripted replies, e.g. for conversation tests
                from asst_deploy.sandbox.model import ScriptedModel

                sandbox.model = ScriptedModel.from_file(target.rules)
            server = stack.enter_context(start_server(sandbox))
            base_url, api_key, key_source = server.base_url, SANDBOX_KEY, None
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
        client = sdk_client(
            api_key=api_key,
            base_url=base_url,
            loopback=sandbox is not None,
            organization=target.organization,
            project=target.project,
            timeout=target.timeout,
            trace=trace,
        )
        stack.callback(client.close)
        backend = generations.adapter_class(target.api)(client, key_source)
        backend.time = clock
        try:
            yield backend
        except Exception:
            if sandbox is None or sandbox.full is None:
                raise
            # whatever failed for it (each write, the lock's release): one line says why
            raise AsstDeployError(_full(sandbox.full)) from None
        if sandbox is not None and sandbox.full is not None:
            raise AsstDeployError(_full(sandbox.full))


def _full(message: str) -> str:
    return f"{message}: free space on its disk (or point the target's db elsewhere), then run again"
