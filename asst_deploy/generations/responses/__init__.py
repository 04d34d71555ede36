"""The Responses API: each assistant a request template for responses.create, its files and
vector stores deployed (what a request can hold: CreateResponse in openapi.yaml)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from asst_deploy import models
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.generations.base import ApiGeneration, FieldPath, Refusal, tool_refusals, top_level
from asst_deploy.types import Json

NAME = "responses"

# The name stays: it names the request template (no request carries it, as none carries
# an id); a description would be kept nowhere.
_FIELDS = {
    "description": "a responses.create request has no description",
    "multi_agent": "a response cannot run subagents",
    "compaction": "a response has no agent compaction settings",
    "experimental": "a response has no experimental agent settings",
    "environment": "a response runs in no Agents API environment template",
}
_TOOLS = {
    "computer_use": "a response's computer tool is another (computer), with no saved settings",
    "automations": "a response cannot schedule its own wakeups (an Agents API tool)",
}


def _mcp(tool: Mapping[str, Json]) -> Iterator[tuple[FieldPath, str, str]]:
    """The parts of an Agents-style mcp tool that MCPTool (server_url, headers) lacks."""
    drop = "remove it from the tool in {overrides} (tools: [...])"
    transport = tool.get("transport") or {}
    if transport.get("type") == "stdio":
        yield (
            ("transport",),
            "a response reaches MCP servers over HTTP only (server_url), not stdio",
            "give an http transport in {overrides} (tools: [...])",
        )
    for field in ("credential_id", "credential"):
        if tool.get(field) is not None:
            yield ((field,), "a response has no vault credentials", drop)
    if tool.get("connection_origin") == "environment":
        yield (
            ("connection_origin",),
            "a response connects to MCP servers from the service, never an environment",
            drop,
        )
    if tool.get("request_metadata"):
        yield (("request_metadata",), "a response's mcp tool has no request_metadata", drop)
    if tool.get("required") is True:
        yield (("required",), "a response's mcp tool cannot be marked required", drop)


def _web_search(tool: Mapping[str, Json]) -> Iterator[tuple[FieldPath, str, str]]:
    # live and cached map to external_web_access; a disabled search is no tool at all
    if tool.get("mode") == "disabled":
        yield (
            ("mode",),
            "a response's web_search cannot be disabled, only left out",
            "leave the web_search tool out in {overrides} (tools: [...])",
        )


def _programmatic(tool: Mapping[str, Json]) -> Iterator[tuple[FieldPath, str, str]]:
    if tool.get("enabled") is False:
        yield (
            ("enabled",),
            "a response's programmatic_tool_calling cannot be disabled, only left out",
            "leave the programmatic_tool_calling tool out in {overrides} (tools: [...])",
        )


def refusals(spec: AssistantSpec) -> list[Refusal]:
    """What of `spec` a responses.create request cannot hold."""
    return [
        *top_level(spec, _FIELDS),
        *tool_refusals(
            spec,
            _TOOLS,
            {"mcp": _mcp, "web_search": _web_search, "programmatic_tool_calling": _programmatic},
        ),
    ]


def plan_notes(project: Project) -> list[str]:
    """A Responses target holds no assistant: each is the request template `render` prints,
    and code runs in a container each request makes with the assistant's files."""
    env = f" --env {project.environment}" if project.environment else ""
    notes = []
    for a in project.assistants:
        note = (
            f"assistant {a.key}: a request template, not deployed (asst-deploy render {a.key}{env})"
        )
        if any(t.get("type") == "code_interpreter" for t in a.tools):
            note += (
                f"; its code_interpreter container is made per request with its "
                f"{len(a.code_interpreter_files)} file(s)"
            )
        notes.append(note)
    return notes


API = ApiGeneration(
    name=NAME,
    description="the Responses API (request templates, files, vector stores): OpenAI or "
    "the sandbox",
    refusals=refusals,
    # its assistants are request templates in the team's code: only what they point at
    # is deployed
    kinds=("file", "vector_store"),
    adapter="asst_deploy.generations.responses.backend:ResponsesBackend",
    driver="asst_deploy.generations.responses.driver:ResponsesDriver",
    models=models.RESPONSES_MODELS,
    plan_notes=plan_notes,
    refused_documents={
        "vault": "vaults and their credentials are of the Agents API (a response's mcp tool "
        "takes no vault credential)",
        "automation": "automations start sessions of Agents API agents (a request template "
        "runs only when the team's code sends it)",
        "environment": "environments are Agents API environment templates (a request "
        "template runs in none)",
        "skill": "skills are installed in Agents API environments (kind: environment), which "
        "a request template has none of",
    },
)
