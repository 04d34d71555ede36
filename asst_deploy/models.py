"""Model names the API generations serve (each generation names its list), their
announced shutdowns, and their prices."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

# AssistantSupportedModels of the official OpenAPI description (the README and the example
# project use gpt-4o-mini and gpt-4o). Kept free of the package's imports: every layer reads it.
ASSISTANT_MODELS: tuple[str, ...] = (
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-5-2025-08-07",
    "gpt-5-mini-2025-08-07",
    "gpt-5-nano-2025-08-07",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14",
    "o3-mini",
    "o3-mini-2025-01-31",
    "o1",
    "o1-2024-12-17",
    "gpt-4o",
    "gpt-4o-2024-11-20",
    "gpt-4o-2024-08-06",
    "gpt-4o-2024-05-13",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gpt-4.5-preview",
    "gpt-4.5-preview-2025-02-27",
    "gpt-4-turbo",
    "gpt-4-turbo-2024-04-09",
    "gpt-4-0125-preview",
    "gpt-4-turbo-preview",
    "gpt-4-1106-preview",
    "gpt-4-vision-preview",
    "gpt-4",
    "gpt-4-0314",
    "gpt-4-0613",
    "gpt-4-32k",
    "gpt-4-32k-0314",
    "gpt-4-32k-0613",
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-16k",
    "gpt-3.5-turbo-0613",
    "gpt-3.5-turbo-1106",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-16k-0613",
)


# ModelIdsResponses of the official OpenAPI description: what `responses.create` takes by
# name. The Agents API runs its sessions on the same models (its SDK type is a plain string).
RESPONSES_MODELS: tuple[str, ...] = (
    "gpt-5.6-sol",
    "gpt-5.6-terra",
    "gpt-5.6-luna",
    "gpt-5.5",
    "gpt-5.5-2026-04-23",
    "gpt-5.4",
    "gpt-5.4-mini",
    "gpt-5.4-nano",
    "gpt-5.4-mini-2026-03-17",
    "gpt-5.4-nano-2026-03-17",
    "gpt-5.3-chat-latest",
    "gpt-5.2",
    "gpt-5.2-2025-12-11",
    "gpt-5.2-chat-latest",
    "gpt-5.2-pro",
    "gpt-5.2-pro-2025-12-11",
    "gpt-5.1",
    "gpt-5.1-2025-11-13",
    "gpt-5.1-codex",
    "gpt-5.1-mini",
    "gpt-5.1-chat-latest",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-5-2025-08-07",
    "gpt-5-mini-2025-08-07",
    "gpt-5-nano-2025-08-07",
    "gpt-5-chat-latest",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14",
    "o4-mini",
    "o4-mini-2025-04-16",
    "o3",
    "o3-2025-04-16",
    "o3-mini",
    "o3-mini-2025-01-31",
    "o1",
    "o1-2024-12-17",
    "o1-preview",
    "o1-preview-2024-09-12",
    "o1-mini",
    "o1-mini-2024-09-12",
    "gpt-4o",
    "gpt-4o-2024-11-20",
    "gpt-4o-2024-08-06",
    "gpt-4o-2024-05-13",
    "gpt-4o-audio-preview",
    "gpt-4o-audio-preview-2024-10-01",
    "gpt-4o-audio-preview-2024-12-17",
    "gpt-4o-audio-preview-2025-06-03",
    "gpt-4o-mini-audio-preview",
    "gpt-4o-mini-audio-preview-2024-12-17",
    "gpt-4o-search-preview",
    "gpt-4o-mini-search-preview",
    "gpt-4o-search-preview-2025-03-11",
    "gpt-4o-mini-search-preview-2025-03-11",
    "chatgpt-4o-latest",
    "codex-mini-latest",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gpt-4-turbo",
    "gpt-4-turbo-2024-04-09",
    "gpt-4-0125-preview",
    "gpt-4-turbo-preview",
    "gpt-4-1106-preview",
    "gpt-4-vision-preview",
    "gpt-4",
    "gpt-4-0314",
    "gpt-4-0613",
    "gpt-4-32k",
    "gpt-4-32k-0314",
    "gpt-4-32k-0613",
    "gpt-3.5-turbo",
    "gpt-3.5-turbo-16k",
    "gpt-3.5-turbo-0301",
    "gpt-3.5-turbo-0613",
    "gpt-3.5-turbo-1106",
    "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-16k-0613",
    "o1-pro",
    "o1-pro-2025-03-19",
    "o3-pro",
    "o3-pro-2025-06-10",
    "o3-deep-research",
    "o3-deep-research-2025-06-26",
    "o4-mini-deep-research",
    "o4-mini-deep-research-2025-06-26",
    "computer-use-preview",
    "computer-use-preview-2025-03-11",
    "gpt-5.5-pro",
    "gpt-5.5-pro-2026-04-23",
    "gpt-5-codex",
    "gpt-5-pro",
    "gpt-5-pro-2025-10-06",
    "gpt-5.1-codex-max",
    "gpt-daybreak-blue-latest",
    "gpt-daybreak-red-latest",
    "gpt-5.6-cyber",
)

# The embedding models `similar:` expectations use (the sandbox serves these), with the
# length of their vectors; text-embedding-3 models also take `dimensions`.
EMBEDDING_MODELS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
# what rubric expectations are graded by when the project names no grader model: one the
# sandbox and OpenAI serve, and that is not shutting down
DEFAULT_GRADER_MODEL = "gpt-5.4-mini"


class Shutdown(NamedTuple):
    date: str  # ISO, the first day the model is no longer served
    replacement: str  # what OpenAI's deprecations page recommends instead


# Announced shutdowns (OpenAI's deprecations page). A name stands for itself and its dated
# snapshots ("gpt-4o" and "gpt-4o-2024-08-06"; "gpt-4o-mini" is its own entry); later
# families ("gpt-5.1", "gpt-5.4-mini") are other models. A target's GET /models completes
# it where it reports a `shutdown_date` (asst_deploy/spec/shutdowns.py).
SHUTDOWNS: dict[str, Shutdown] = {
    "gpt-5": Shutdown("2026-12-11", "gpt-5.4"),
    "gpt-5-mini": Shutdown("2026-12-11", "gpt-5.4-mini"),
    "gpt-5-nano": Shutdown("2026-12-11", "gpt-5.4-nano"),
    "gpt-4o": Shutdown("2027-01-14", "gpt-5.4"),
    "gpt-4o-mini": Shutdown("2027-01-14", "gpt-5.4-mini"),
    "gpt-4.1": Shutdown("2027-01-14", "gpt-5.4"),
    "gpt-4.1-mini": Shutdown("2027-01-14", "gpt-5.4-mini"),
    "gpt-4.1-nano": Shutdown("2027-01-14", "gpt-5.4-nano"),
}
_SNAPSHOT = re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}$")


def base_name(model: str) -> str:
    """The model a dated snapshot is of ("gpt-4o-2024-08-06" -> "gpt-4o")."""
    found = _SNAPSHOT.match(model)
    return found.group("base") if found else model


def shutdown(model: str) -> Shutdown | None:
    """The announced shutdown of `model` (or of the model it is a snapshot of), or None."""
    return SHUTDOWNS.get(model) or SHUTDOWNS.get(base_name(model))


def shutdown_date(model: str) -> str | None:
    """The announced shutdown date of `model` (ISO), or None."""
    found = shutdown(model)
    return found.date if found else None


class Price(NamedTuple):
    """USD per 1M tokens."""

    input: float
    cached_input: float
    output: float


# USD per 1M input, cached input and output tokens (OpenAI's pricing page, standard tier,
# short context). A dated snapshot costs what its model does. A project overrides or adds
# prices under `replay: {prices: {MODEL: {input: ..., cached_input: ..., output: ...}}}`.
PRICES: dict[str, Price] = {
    "gpt-5.5": Price(5.00, 0.50, 30.00),
    "gpt-5.4": Price(2.50, 0.25, 15.00),
    "gpt-5.4-mini": Price(0.75, 0.075, 4.50),
    "gpt-5.4-nano": Price(0.20, 0.02, 1.25),
    "gpt-5.2": Price(1.75, 0.175, 14.00),
    "gpt-5.1": Price(1.25, 0.125, 10.00),
    "gpt-5": Price(1.25, 0.125, 10.00),
    "gpt-5-mini": Price(0.25, 0.025, 2.00),
    "gpt-5-nano": Price(0.05, 0.005, 0.40),
    "gpt-4.1": Price(2.00, 0.50, 8.00),
    "gpt-4.1-mini": Price(0.40, 0.10, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.025, 0.40),
    "gpt-4o": Price(2.50, 1.25, 10.00),
    "gpt-4o-mini": Price(0.15, 0.075, 0.60),
    "o4-mini": Price(1.10, 0.275, 4.40),
    "o3": Price(2.00, 0.50, 8.00),
    "o3-mini": Price(1.10, 0.55, 4.40),
    "o1": Price(15.00, 7.50, 60.00),
    "text-embedding-3-small": Price(0.02, 0.02, 0.0),
    "text-embedding-3-large": Price(0.13, 0.13, 0.0),
    "text-embedding-ada-002": Price(0.10, 0.10, 0.0),
}


def price(model: str, table: Mapping[str, Price] = PRICES) -> Price | None:
    """The price of `model` (or of the model it is a snapshot of) in `table`, or None."""
    return table.get(model) or table.get(base_name(model))


def not_found_message(model: str) -> str:
    """The real service's words for a model it does not serve."""
    return f"The requested model '{model}' does not exist."


class ModelShutdownWarning(UserWarning):
    """A spec (or the grader) uses a model that shuts down soon (asst_deploy/spec/shutdowns.py
    says which); the CLI shows it as a warning, validate lists it with its location."""
