"""The Agents API (beta): agents, environment templates for code, vaults and their
credentials, files and vector stores."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from asst_deploy import identity, limits, models
from asst_deploy.desired import AssistantSpec
from asst_deploy.generations.base import (
    OVERRIDES,
    ApiGeneration,
    FieldPath,
    Refusal,
    remove_field,
    tool_refusals,
    top_level,
)
from asst_deploy.kinds import agent
from asst_deploy.types import Json

NAME = "agents"
# openai/types/beta/agent_create_params.py; responses.create takes each of these too
SERVICE_TIERS = ("auto", "default", "flex", "priority", "fast", "ultrafast")

# What an agent has no place for (openai/types/beta/agent_create_params.py); code_interpreter
# is not here: its code runs in an environment template managed with the agent.
_FIELDS = {
    "description": "an agent has no description",
    "temperature": "an agent has no sampling temperature",
    "top_p": "an agent has no top_p",
}
_TOOLS = {
    "file_search": "the Agents API has no file_search tool",
}


def _function(tool: Mapping[str, Json]) -> Iterator[tuple[FieldPath, str, str]]:
    # strict: false is what every agent function does; only strict mode has no equivalent
    if (tool.get("function") or {}).get("strict") is True:
        yield (
            ("function", "strict"),
            "an agent's function tools have no strict mode",
            "set 'strict: false' on the tool in {overrides} "
            "(tools: [{type: function, file: ..., strict: false}])",
        )


def tools_bytes(spec: AssistantSpec) -> int:
    """The size of the agent's tools as the service measures them: compact UTF-8 JSON of
    the list sent, with the fields the service fills in (agent.resolved_tools)."""
    tools = agent.resolved_tools(spec.tools)
    return len(json.dumps(tools, separators=(",", ":"), ensure_ascii=False).encode())


def _tools_size(spec: AssistantSpec) -> Iterator[Refusal]:
    size = tools_bytes(spec)
    if size > limits.AGENT_TOOLS_MAX_BYTES:
        yield Refusal(
            ("tools",),
            f"its tools are {size:,} bytes of JSON, and an agent holds at most "
            f"{limits.AGENT_TOOLS_MAX_BYTES:,} (3 MiB)",
            "shorten the function descriptions and parameter schemas, or split the tools "
            "over several assistants",
        )


def refusals(spec: AssistantSpec) -> list[Refusal]:
    """What of `spec` an agent cannot hold, each with what to do instead."""
    found = [*top_level(spec, _FIELDS), *tool_refusals(spec, _TOOLS, {"function": _function})]
    found += _tools_size(spec)
    if spec.vector_stores:
        found.append(
            Refusal(
                ("tool_resources", "file_search"),
                "an agent has no vector stores to search (no file_search)",
                f"remove them in {OVERRIDES} (assistants: {spec.key}: "
                "{tool_resources: {file_search: null}})",
            )
        )
    runs_code = any(t.get("type") == "code_interpreter" for t in spec.tools)
    credentials = any(t.get("credential") for t in spec.tools)
    # pairs asst-deploy keeps besides the identity tags: the template's id, the vaults' ids
    kept = [
        (who, what)
        for who, what, present in (
            ("runs code", "its environment template", runs_code),
            ("uses vault credentials", "the vaults of its credentials", credentials),
        )
        if present
    ]
    room = limits.METADATA_PAIRS_MAX - len(identity.RESERVED_METADATA_KEYS) - len(kept)
    if kept and len(spec.metadata) > room:
        more = "one more there" if len(kept) == 1 else f"{len(kept)} more there"
        found.append(
            Refusal(
                ("metadata",),
                f"an agent that {' and '.join(w for w, _ in kept)} holds {room} metadata "
                f"pairs of yours, not {len(spec.metadata)}: asst-deploy keeps {more}, naming "
                + " and ".join(w for _, w in kept),
                f"remove {len(spec.metadata) - room} pair(s) in {OVERRIDES} "
                f"(assistants: {spec.key}: {{metadata: {{KEY: null}}}})",
            )
        )
    response_format = spec.response_format
    if isinstance(response_format, Mapping):
        if response_format.get("type") == "json_object":
            found.append(
                Refusal(
                    ("response_format",),
                    "an agent's text.format is text or json_schema, not json_object",
                    "use a json_schema response_format, or "
                    + remove_field(spec.key, "response_format"),
                )
            )
        else:
            schema = response_format.get("json_schema") or {}
            # the name stays: the spec needs one, and it only names the schema
            for field, present, why in (
                ("description", "description" in schema, "has no description"),
                ("strict", schema.get("strict") is True, "has no strict mode"),
            ):
                if present:
                    found.append(
                        Refusal(
                            ("response_format", "json_schema", field),
                            f"an agent's text.format json_schema {why}",
                            "remove it in {overrides} (assistants: "
                            f"{spec.key}: {{response_format: {{json_schema: {{{field}: null}}}}}})",
                        )
                    )
    return found


API = ApiGeneration(
    name=NAME,
    description="the Agents API (agents, environment templates, vaults, files, vector stores): "
    "OpenAI or the sandbox",
    refusals=refusals,
    kinds=(
        "file",
        "vector_store",
        "skill",
        "environment_template",
        "vault",
        "vault_credential",
        "agent",
        "automation",
    ),
    adapter="asst_deploy.generations.agents.backend:AgentsBackend",
    driver="asst_deploy.generations.agents.driver:AgentsDriver",
    # sessions run on the Responses models; the SDK types the name as any string
    models=models.RESPONSES_MODELS,
)
