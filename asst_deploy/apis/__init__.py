"""The API generations a target can name, by name: what each is and what it refuses."""

from __future__ import annotations

from asst_deploy.apis import agents, assistants, responses
from asst_deploy.apis.base import ApiGeneration, Refusal
from asst_deploy.spec.model import AssistantSpec

API_GENERATIONS: dict[str, ApiGeneration] = {
    module.API.name: module.API for module in (assistants, agents, responses)
}
DEFAULT_API = assistants.NAME


def holders(spec: AssistantSpec, refusal: Refusal) -> list[str]:
    """The other API generations that can hold what `refusal` refuses."""
    return [
        name
        for name, api in API_GENERATIONS.items()
        # refusing a whole tool refuses each of its parts too
        if all(refusal.path[: len(other.path)] != other.path for other in api.refusals(spec))
    ]


__all__ = ["API_GENERATIONS", "DEFAULT_API", "ApiGeneration", "Refusal", "holders"]
