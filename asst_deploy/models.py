"""Model names each API generation serves: the sandbox's lists, `GET /v1/models`, and what validate expects."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asst_deploy.errors import Location, Problem
    from asst_deploy.spec.model import Project

# AssistantSupportedModels of the official OpenAPI description (the README and the example
# project use gpt-4o-mini and gpt-4o). Kept free of imports: validate reads it too.
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

# What each API generation's sandbox serves unless a target or `sandbox serve` says otherwise.
BY_API: dict[str, tuple[str, ...]] = {
    "assistants": ASSISTANT_MODELS,
    "agents": RESPONSES_MODELS,
    "responses": RESPONSES_MODELS,
}

# Announced shutdowns (OpenAI's deprecations page): a family name and its dated or sized
# variants ("gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06"); later families ("gpt-5.1")
# are other models.
SHUTDOWNS: dict[str, str] = {
    "gpt-5": "2026-12-11",
    "gpt-4o": "2027-01-14",
    "gpt-4.1": "2027-01-14",
}


def shutdown_date(model: str) -> str | None:
    """The announced shutdown date of `model` (ISO), or None."""
    for family, date in SHUTDOWNS.items():
        if model == family or model.startswith(family + "-"):
            return date
    return None


def listed(models: Iterable[str] | None, api: str = "assistants") -> frozenset[str]:
    """A target's model list: its own `models:`, else its API generation's."""
    return frozenset(BY_API[api] if models is None else models)


def not_found_message(model: str) -> str:
    """The real service's words for a model it does not serve."""
    return f"The requested model '{model}' does not exist."


def unlisted(projects: Iterable[Project]) -> list[Problem]:
    """Warnings for assistants whose model the target of a checked environment does not
    list for its API generation (a warning, not an error: a compatible endpoint may serve
    names nobody listed). One warning per spec and model, naming where it is not served."""
    from asst_deploy.errors import Problem

    where: dict[tuple[Location, str, str], dict[str, list[str]]] = {}
    for project in projects:
        target = project.target
        for spec in project.assistants:
            if spec.model not in listed(target.models, target.api):
                apis = where.setdefault((spec.location, spec.key, spec.model), {})
                apis.setdefault(target.api, []).append(project.environment or "base")
    warnings = [
        Problem(
            location,
            f"assistant '{key}': the model '{model}' is not listed for "
            + ", ".join(f"the {api} API ({', '.join(envs)})" for api, envs in apis.items())
            + f'; the sandbox answers "{not_found_message(model)}"',
            "check the name, or list it in the target's `models:`",
        )
        for (location, key, model), apis in where.items()
    ]
    return sorted(warnings, key=lambda p: (p.location, p.message))
