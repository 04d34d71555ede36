"""An assistant spec as the keyword arguments of `client.responses.create(...)` (pure)."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asst_deploy import authorship, identity
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError
from asst_deploy.state import RemoteFile, RemoteObject
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.backend import Backend

# The Responses API has no assistant object to hold a name, so the name rides in the
# request's metadata: the sandbox's rules (`assistant: Handbook Helper`) match it there,
# as they match an assistant's name on the Assistants API.
NAME_KEY = "asst_deploy.name"
# Rankers of file_search on the Responses API (the Assistants one, default_2024_08_21,
# is not accepted there and is no synonym of either).
RESPONSES_RANKERS = ("auto", "default-2024-11-15")


class TemplateError(AsstDeployError):
    """The spec holds something a Responses request cannot carry; says where and what to do."""

    def __init__(self, spec: AssistantSpec, message: str, hint: str) -> None:
        self.spec, self.hint = spec, hint
        super().__init__(f"{spec.location}: assistant '{spec.key}': {message} ({hint})")


class NotDeployed(AsstDeployError):
    """A vector store or file the assistant uses has no deployed id (yet)."""

    def __init__(self, spec: AssistantSpec, kind: str, name: str, hint: str = "") -> None:
        self.spec, self.kind, self.name, self.hint = spec, kind, name, hint
        message = f"assistant '{spec.key}' uses {kind} '{name}', which is not deployed"
        super().__init__(message + (f" ({hint})" if hint else ""))


def request_kwargs(
    spec: AssistantSpec,
    project: str,
    vector_store_ids: Mapping[str, str],
    file_ids: Mapping[str, str],
) -> dict[str, Json]:
    """The request for `spec` of `project`, given the deployed ids of its vector stores
    (by key) and files (by path relative to the project). Fields left unset in the spec
    are left out, so the service's defaults apply as they did on the assistant."""
    for field_name in ("multi_agent", "compaction"):
        if getattr(spec, field_name) is not None:
            raise TemplateError(
                spec,
                f"'{field_name}' is an Agents API field; a Responses request cannot hold it",
                "remove it in this environment's overrides, or deploy to an agents target",
            )
    kwargs: dict[str, Json] = {"model": spec.model}
    if spec.instructions:
        kwargs["instructions"] = spec.instructions
    tools = [_TOOLS[str(t.get("type"))](spec, t, vector_store_ids, file_ids) for t in spec.tools]
    if tools:
        kwargs["tools"] = tools
    if spec.temperature is not None:
        kwargs["temperature"] = spec.temperature
    if spec.top_p is not None:
        kwargs["top_p"] = spec.top_p
    text_format = _text_format(spec.response_format)
    if text_format is not None:
        kwargs["text"] = {"format": text_format}
    if spec.verbosity is not None:
        kwargs.setdefault("text", {})["verbosity"] = spec.verbosity
    reasoning = {"effort": spec.reasoning_effort, "summary": spec.reasoning_summary}
    if any(v is not None for v in reasoning.values()):
        kwargs["reasoning"] = {k: v for k, v in reasoning.items() if v is not None}
    if spec.service_tier is not None:
        kwargs["service_tier"] = spec.service_tier
    kwargs["metadata"] = metadata(spec, project)
    return kwargs


def metadata(spec: AssistantSpec, project: str) -> dict[str, str]:
    """The user's metadata plus who is asking: project, spec key and (if any) name."""
    result = identity.user_metadata(dict(spec.metadata))
    result[identity.PROJECT_KEY] = project
    result[identity.SPEC_KEY] = spec.key
    if spec.name:
        result[NAME_KEY] = spec.name
    return result


def _function(
    spec: AssistantSpec,
    tool: Mapping[str, Any],
    stores: Mapping[str, str],
    files: Mapping[str, str],
) -> dict[str, Json]:
    """Responses function tools are flat, and strict unless told otherwise: the spec's
    default (and the Assistants API's) is not strict, so it is always said."""
    function = tool.get("function") or {}
    result: dict[str, Json] = {"type": "function", "name": function["name"]}
    if function.get("description"):
        result["description"] = function["description"]
    # required by the API (null: no parameters, as an assistant's omitted ones)
    result["parameters"] = function.get("parameters")
    result["strict"] = bool(function.get("strict") or False)
    for field in ("defer_loading", "async"):
        if field in function:
            result[field] = function[field]
    return result


def _file_search(
    spec: AssistantSpec,
    tool: Mapping[str, Any],
    stores: Mapping[str, str],
    files: Mapping[str, str],
) -> dict[str, Json]:
    if not spec.vector_stores:
        raise TemplateError(
            spec,
            "file_search has no vector store: a Responses request must name its vector stores",
            "add tool_resources.file_search.vector_stores",
        )
    ids = []
    for key in spec.vector_stores:
        if key not in stores:
            raise NotDeployed(spec, "vector store", key)
        ids.append(stores[key])
    result: dict[str, Json] = {"type": "file_search", "vector_store_ids": ids}
    if tool.get("max_num_results") is not None:
        result["max_num_results"] = tool["max_num_results"]
    ranking = tool.get("ranking_options")
    if ranking:
        ranker = ranking.get("ranker")
        if ranker is not None and ranker not in RESPONSES_RANKERS:
            raise TemplateError(
                spec,
                f"file_search ranker '{ranker}' is the Assistants API's",
                "use 'auto' or 'default-2024-11-15' for the Responses API",
            )
        result["ranking_options"] = dict(ranking)
    return result


def _code_interpreter(
    spec: AssistantSpec,
    tool: Mapping[str, Any],
    stores: Mapping[str, str],
    files: Mapping[str, str],
) -> dict[str, Json]:
    """Containers are made per request (type auto) with the assistant's files in them."""
    ids = []
    for ref in spec.code_interpreter_files:
        if ref.path not in files:
            raise NotDeployed(spec, "file", ref.path)
        ids.append(files[ref.path])
    return {"type": "code_interpreter", "container": {"type": "auto", "file_ids": ids}}


_ToolBuilder = Callable[
    [AssistantSpec, Mapping[str, Any], Mapping[str, str], Mapping[str, str]], dict[str, Json]
]


def _web_search(
    spec: AssistantSpec,
    tool: Mapping[str, Any],
    stores: Mapping[str, str],
    files: Mapping[str, str],
) -> dict[str, Json]:
    """The Agents API's web_search settings in WebSearchToolParam's places."""
    result: dict[str, Json] = {"type": "web_search"}
    if tool.get("allowed_domains"):
        result["filters"] = {"allowed_domains": list(tool["allowed_domains"])}
    if tool.get("context_size"):
        result["search_context_size"] = tool["context_size"]
    location = {k: v for k, v in (tool.get("location") or {}).items() if v is not None}
    if location:
        result["user_location"] = {"type": "approximate", **location}
    if tool.get("mode") == "cached":
        result["external_web_access"] = False
    return result


def _mcp(
    spec: AssistantSpec,
    tool: Mapping[str, Any],
    stores: Mapping[str, str],
    files: Mapping[str, str],
) -> dict[str, Json]:
    """An http mcp tool as responses.create's: the server's url and headers move up (the
    generation refuses what a response has no place for: stdio, credentials)."""
    transport = tool.get("transport") or {}
    result: dict[str, Json] = {
        "type": "mcp",
        "server_label": tool["server_label"],
        "server_url": transport.get("server_url"),
    }
    if transport.get("headers"):
        result["headers"] = dict(transport["headers"])
    if tool.get("allowed_tools"):
        result["allowed_tools"] = list(tool["allowed_tools"])
    return result


def _bare(
    spec: AssistantSpec,
    tool: Mapping[str, Any],
    stores: Mapping[str, str],
    files: Mapping[str, str],
) -> dict[str, Json]:
    return {"type": tool["type"]}


_TOOLS: dict[str, _ToolBuilder] = {
    "function": _function,
    "file_search": _file_search,
    "code_interpreter": _code_interpreter,
    "web_search": _web_search,
    "mcp": _mcp,
    "tool_search": _bare,
    "programmatic_tool_calling": _bare,
}


def _text_format(value: Json) -> dict[str, Json] | None:
    """The spec's response_format as text.format: json_schema's fields move up a level."""
    if value in (None, "auto"):
        return None
    if value.get("type") != "json_schema":
        return {"type": value["type"]}
    schema = value.get("json_schema") or {}
    result: dict[str, Json] = {"type": "json_schema", "name": schema["name"]}
    if schema.get("description"):
        result["description"] = schema["description"]
    result["schema"] = schema.get("schema") or {}
    if schema.get("strict") is not None:
        result["strict"] = schema["strict"]
    return result


@dataclass(frozen=True)
class DeployedIds:
    """The remote ids of what a project deployed: vector stores by key, files by path."""

    vector_stores: Mapping[str, str]
    files: Mapping[str, str]
    # paths found deployed only with other content than the local file's (not applied yet)
    stale_files: frozenset[str] = frozenset()


def deployed_ids(project: Project, backend: Backend) -> DeployedIds:
    """List the target's vector stores and files once; keep the newest object of each
    identity the project manages (a file only when its content is the local file's), and
    never a look-alike (authorship.py: tagged as the project's, without its proof)."""
    stores: dict[str, str] = {}
    listed = [o for o in backend.list_newest("vector_store") if isinstance(o, RemoteObject)]
    found = authorship.markers(listed)
    for obj in listed:
        metadata = obj.data.get("metadata")
        owner, key, _ = obj.owner
        if owner != project.name or not key or identity.is_lease(metadata):
            continue
        if authorship.trusted(obj, found):
            stores.setdefault(key, obj.id)
    wanted = {ref.path: identity.file_sha(ref.abs_path) for ref in project.files}
    files: dict[str, str] = {}
    seen: set[str] = set()
    if wanted:
        for f in backend.list_newest("file"):
            ident = f.identity if isinstance(f, RemoteFile) else None
            if ident is None or ident.project != project.name or ident.path not in wanted:
                continue
            if not authorship.trusted(f, found):
                continue
            seen.add(ident.path)
            if ident.sha == wanted[ident.path]:
                files.setdefault(ident.path, f.id)
    return DeployedIds(stores, files, frozenset(seen - set(files)))


def apply_command(project: Project) -> str:
    """The command that deploys this environment of the project, for messages."""
    words = ["asst-deploy", "apply"]
    if project.root != Path("."):
        words.append(str(project.root))
    if project.environment is not None:
        words += ["--env", project.environment]
    return shlex.join(words)


def request_for(
    project: Project, spec: AssistantSpec, ids: Callable[[], DeployedIds]
) -> dict[str, Json]:
    """The keyword arguments of `responses.create(...)` for `spec` as deployed; `ids` lists
    the deployed ids, and is called only when the spec uses a vector store or a file."""
    needs_ids = bool(spec.vector_stores or spec.code_interpreter_files)
    deployed = ids() if needs_ids else DeployedIds({}, {})
    try:
        return request_kwargs(spec, project.name, deployed.vector_stores, deployed.files)
    except NotDeployed as exc:
        files = {f.path for f in spec.code_interpreter_files}
        if exc.name in files and exc.name in deployed.stale_files:
            hint = f"it is deployed with other content than {exc.name} has now; "
        else:
            hint = ""
        raise NotDeployed(
            spec, exc.kind, exc.name, hint + f"run {apply_command(project)}"
        ) from None
