"""The API generations a target can name: the one registry of what each is and holds.

A generation is a package (`generations/<name>/`): its `__init__` declares an
`ApiGeneration` (refusals, kinds, models, limits, where its adapter and driver are), and
its modules hold the backend adapter and the conversation driver (whose class names the
cassette folder); one row below registers it. Nothing else in the package names a
generation: the kinds a target deploys, its backend adapter, its conversation driver, the
models its sandbox serves and what a saved plan of it may hold are all read from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from asst_deploy import kinds
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations import agents, assistants, responses
from asst_deploy.generations.base import ApiGeneration, Refusal
from asst_deploy.plan import NextRun

if TYPE_CHECKING:
    from asst_deploy.generations.sdk.driver_base import Driver
    from asst_deploy.generations.sdk.openai_backend import OpenAIBackend
    from asst_deploy.kinds import Kind

API_GENERATIONS: dict[str, ApiGeneration] = {
    module.API.name: module.API for module in (assistants, agents, responses)
}
DEFAULT_API = assistants.NAME
# The generations' names, in registry order: the spec schema's `api` enum is this list
# itself, so a generation registered later (a plug-in, a test's fake) is valid there too.
NAMES: list[str] = list(API_GENERATIONS)


def register(generation: ApiGeneration) -> None:
    """Add a generation (a plug-in, or a test's fake); its kinds must be registered kinds."""
    unknown = [k for k in generation.kinds if k not in kinds.KINDS]
    if unknown:
        raise AsstDeployError(
            f"API generation '{generation.name}' holds unknown kinds: {', '.join(unknown)}"
        )
    API_GENERATIONS[generation.name] = generation
    if generation.name not in NAMES:
        NAMES.append(generation.name)


def unregister(name: str) -> None:
    API_GENERATIONS.pop(name, None)
    if name in NAMES:
        NAMES.remove(name)


def get(name: str) -> ApiGeneration:
    if name not in API_GENERATIONS:
        raise AsstDeployError(
            f"unknown API generation '{name}'; known: {', '.join(API_GENERATIONS)}"
        )
    return API_GENERATIONS[name]


def kinds_of(name: str) -> tuple[Kind, ...]:
    """The kinds a target of generation `name` holds, in dependency order."""
    held = get(name).kinds
    return tuple(kind for kind in kinds.KINDS.values() if kind.name in held)


def plan_notes(project: Project) -> list[str]:
    """What `plan` prints below the plan: what the target's generation does not deploy of
    the project (the next runs follow: see next_runs)."""
    return get(project.target.api).plan_notes(project)


def next_runs(project: Project, now: float) -> list[NextRun]:
    """When each scheduled object the target's kinds hold runs next (an automation's
    schedule), `now` being the time in Unix seconds: `plan` shows them in every format."""
    return [run for kind in kinds_of(project.target.api) for run in kind.next_runs(project, now)]


def served_models(listed: Iterable[str] | None, name: str) -> frozenset[str]:
    """A target's model list: its own `models:`, else its generation's."""
    return frozenset(get(name).models if listed is None else listed)


def _load(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def adapter_class(name: str) -> type[OpenAIBackend]:
    """The backend class of generation `name` (importing it imports the openai SDK)."""
    found: type[OpenAIBackend] = _load(get(name).adapter)
    return found


def driver_class(name: str) -> type[Driver]:
    """The conversation driver class of generation `name` (imports the openai SDK), which
    is called with an SDK client and the DriverOptions."""
    found: type[Driver] = _load(get(name).driver)
    return found


def holders(spec: AssistantSpec, refusal: Refusal) -> list[str]:
    """The other API generations that can hold what `refusal` refuses."""
    return [
        name
        for name, api in API_GENERATIONS.items()
        # refusing a whole tool refuses each of its parts too
        if all(refusal.path[: len(other.path)] != other.path for other in api.refusals(spec))
    ]


__all__ = [
    "API_GENERATIONS",
    "DEFAULT_API",
    "NAMES",
    "ApiGeneration",
    "Refusal",
    "adapter_class",
    "driver_class",
    "get",
    "holders",
    "kinds_of",
    "next_runs",
    "plan_notes",
    "register",
    "served_models",
    "unregister",
]
