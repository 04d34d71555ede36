"""Assistants v2: the sandbox or a compatible endpoint (api.openai.com shut it down)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from asst_deploy import models
from asst_deploy.desired import AssistantSpec
from asst_deploy.generations.base import (
    OVERRIDES,
    ApiGeneration,
    FieldPath,
    Refusal,
    tool_refusals,
    top_level,
)
from asst_deploy.types import Json

NAME = "assistants"

# Fields of the Agents API an assistant object has no place for.
_FIELDS = {
    "service_tier": "an assistant has no service tier",
    "multi_agent": "an assistant cannot run subagents",
    "compaction": "an assistant has no context compaction",
    "verbosity": "an assistant has no text verbosity",
    "reasoning_summary": "an assistant has no reasoning summary",
    "experimental": "an assistant has no experimental agent settings",
    "environment": "an assistant runs code in no environment template (its code_interpreter "
    "files are its tool_resources)",
}
_TOOLS = {
    "mcp": "the Assistants API has no mcp tool",
    "web_search": "the Assistants API has no web_search tool",
    "tool_search": "the Assistants API has no tool_search tool",
    "programmatic_tool_calling": "the Assistants API has no programmatic_tool_calling tool",
    "computer_use": "the Assistants API has no computer_use tool",
    "automations": "the Assistants API has no automations tool",
}


def _function(tool: Mapping[str, Json]) -> Iterator[tuple[FieldPath, str, str]]:
    for field in ("defer_loading", "async"):
        if field in (tool.get("function") or {}):
            yield (
                ("function", field),
                f"an assistant's function tools have no {field}",
                f"leave {field} out of the function in {OVERRIDES}",
            )


def refusals(spec: AssistantSpec) -> list[Refusal]:
    """What of `spec` an assistant cannot hold: the Agents-only fields and tools."""
    return [*top_level(spec, _FIELDS), *tool_refusals(spec, _TOOLS, {"function": _function})]


API = ApiGeneration(
    name=NAME,
    description="Assistants v2 (assistants, vector stores, files): the sandbox or a "
    "compatible endpoint",
    refusals=refusals,
    kinds=("file", "vector_store", "assistant"),
    adapter="asst_deploy.generations.assistants.backend:AssistantsBackend",
    driver="asst_deploy.generations.assistants.driver:AssistantsDriver",
    models=models.ASSISTANT_MODELS,
    not_on_openai="OpenAI shut the Assistants API down on 2026-08-26",
    refused_documents={
        "vault": "vaults and their credentials are of the Agents API (an assistant's tools "
        "hold no credentials)",
        "automation": "automations start sessions of Agents API agents (an assistant has "
        "no schedules)",
        "environment": "environments are Agents API environment templates (an assistant "
        "runs code with code_interpreter files)",
        "skill": "skills are installed in Agents API environments (kind: environment), which "
        "an assistant has none of",
    },
)
