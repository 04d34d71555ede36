"""Model names the Assistants API serves: the sandbox's default list, and what validate expects."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asst_deploy.errors import Problem
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


def listed(models: Iterable[str] | None) -> frozenset[str]:
    """A target's model list: its own `models:`, else the Assistants API's."""
    return frozenset(ASSISTANT_MODELS if models is None else models)


def not_found_message(model: str) -> str:
    """The real service's words for a model it does not serve."""
    return f"The requested model '{model}' does not exist."


def unlisted(projects: Iterable[Project]) -> list[Problem]:
    """Warnings for assistants whose model no target of the checked environments lists
    (a warning, not an error: a compatible endpoint may serve names nobody listed)."""
    from asst_deploy.errors import Problem

    projects = list(projects)
    known = frozenset().union(*(listed(p.target.models) for p in projects))
    warnings: dict[tuple[object, str], Problem] = {}
    for project in projects:
        for spec in project.assistants:
            if spec.model not in known:
                warnings[(spec.location, spec.model)] = Problem(
                    spec.location,
                    f"assistant '{spec.key}': no target lists the model '{spec.model}'; the "
                    f'sandbox answers "{not_found_message(spec.model)}"',
                    "check the name, or list it in the target's `models:`",
                )
    return sorted(warnings.values(), key=lambda p: (p.location, p.message))
