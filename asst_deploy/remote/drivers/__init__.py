"""Conversation drivers by API generation: a table of API name -> driver, loaded on first use."""

from __future__ import annotations

import importlib
from typing import Any

from asst_deploy.errors import AsstDeployError
from asst_deploy.remote.drivers.base import Driver, DriverOptions

# API name -> "module:class"; a module is imported only when its API is driven, so the
# replay harness loads no SDK until a conversation talks to something
DRIVERS = {
    "assistants": "asst_deploy.remote.drivers.assistants:AssistantsDriver",
    "agents": "asst_deploy.remote.drivers.agents:AgentsDriver",
    "responses": "asst_deploy.remote.drivers.responses:ResponsesDriver",
}


def driver_class(api: str) -> type[Driver]:
    if api not in DRIVERS:
        known = ", ".join(sorted(DRIVERS))
        raise AsstDeployError(
            f"conversation tests cannot drive the '{api}' API yet (drivers: {known})"
        )
    module, _, name = DRIVERS[api].partition(":")
    found: type[Driver] = getattr(importlib.import_module(module), name)
    return found


def open_driver(api: str, client: Any, options: DriverOptions) -> Driver:
    """The driver for `api` over an SDK client (a live backend's, or `replay_client()`)."""
    return driver_class(api)(client, options)  # type: ignore[call-arg]


def replay_client(base_url: str) -> Any:
    """An SDK client for a cassette's replay base: made here, so replay imports no SDK."""
    import openai

    return openai.OpenAI(base_url=base_url, api_key="replay", max_retries=0)


def live_client(backend: Any) -> Any:
    """The SDK client of a connected backend (the drivers share its connection)."""
    from asst_deploy.remote.openai_backend import OpenAIBackend

    if not isinstance(backend, OpenAIBackend):
        raise AsstDeployError("conversation drivers need a backend over the openai SDK")
    return backend.client
