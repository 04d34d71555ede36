"""Conversation drivers by API generation (each generation's registry row names its own)."""

from __future__ import annotations

from typing import Any

from asst_deploy import generations
from asst_deploy.adapters.driver_base import Driver, DriverOptions
from asst_deploy.errors import AsstDeployError


def driver_class(api: str) -> type[Driver]:
    """The driver of an API generation, as its registry row names it (imported on first
    use, so the replay harness loads no SDK until a conversation talks to something)."""
    found: type[Driver] = generations.driver_class(api)
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
    from asst_deploy.adapters.openai_backend import OpenAIBackend

    if not isinstance(backend, OpenAIBackend):
        raise AsstDeployError("conversation drivers need a backend over the openai SDK")
    return backend.client
