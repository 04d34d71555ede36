"""Agents API agents: the form an assistant spec takes on an agents target.

Fields map where the APIs agree: name, model, instructions, metadata, function tools,
reasoning_effort -> reasoning.effort, response_format json_schema -> text.format (the
agent holds the schema; its name has no place there). code_interpreter becomes the
environment template of the same key (environment_template.py), which the agent's
metadata names. What an agent cannot hold is refused by validate (asst_deploy/generations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from asst_deploy import identity
from asst_deploy.kinds.base import OneForEachAssistant, Writer, blank
from asst_deploy.kinds.environment_template import (
    DECLARED_REF_PREFIX,
    REF_PREFIX,
    declared_environment,
    for_assistant,
    logical_name,
)
from asst_deploy.kinds.environment_template import KIND as TEMPLATE
from asst_deploy.kinds.vault import KIND as VAULT
from asst_deploy.kinds.vault_credential import KIND as CREDENTIAL
from asst_deploy.kinds.vault_credential import REF_PREFIX as CREDENTIAL_PREFIX
from asst_deploy.plan import FieldChange
from asst_deploy.state import RemoteObject
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.desired import AssistantSpec
    from asst_deploy.kinds.ports import Exporting

# The service reports the model's default effort when none is set; "medium" is that of
# the models it serves today. Set reasoning_effort in the spec to pin it.
DEFAULT_EFFORT = "medium"
NO_PARAMETERS: dict[str, Json] = {"type": "object", "properties": {}}
# Values the service fills in for a field the request left out: the same as leaving it out.
_TOOL_DEFAULTS: dict[str, dict[str, Json]] = {
    "function": {"defer_loading": False, "async": False},
    "mcp": {"connection_origin": "service", "required": False},
    "web_search": {"context_size": "medium", "mode": "live"},
    "programmatic_tool_calling": {"enabled": True},
}
# how other objects' canonical forms name an agent (an automation's target.agent_id)
AGENT_PREFIX = "agent:"
# Subagents: 6 at once when enabled and no number is given.
DEFAULT_SUBAGENTS = 6


def _pruned(value: Json) -> Json:
    """`value` without nulls and empty containers, at any depth (the service fills them)."""
    if isinstance(value, Mapping):
        items = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def tool(raw: Mapping[str, Json]) -> dict[str, Json]:
    """A persisted agent tool, canonical. Spec function tools nest under "function" (the
    Assistants form); agents hold them flat, with a description and parameters always."""
    kind = str(raw.get("type"))
    flat = dict(raw.get("function") or {}, type="function") if "function" in raw else dict(raw)
    if kind == "function":
        flat.pop("strict", None)  # validate refuses strict on agents; the service has none
        flat["description"] = blank(flat.get("description"))
        flat["parameters"] = flat.get("parameters") or NO_PARAMETERS
    defaults = _TOOL_DEFAULTS.get(kind, {})
    pruned = _pruned({k: v for k, v in flat.items() if defaults.get(k, ...) != v})
    assert isinstance(pruned, dict)
    return pruned


def tools(raw: Iterable[Mapping[str, Json]]) -> list[dict[str, Json]]:
    """Canonical tools, sorted (the order carries no meaning); code_interpreter is not an
    agent tool but its environment template."""
    result = [tool(t) for t in raw if t.get("type") != "code_interpreter"]
    return sorted(
        result, key=lambda t: (str(t["type"]), str(t.get("name") or t.get("server_label") or ""))
    )


def text_format(response_format: Json) -> Json:
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return {"type": "json_schema", "schema": schema}
    return {"type": "text"}


def multi_agent(value: Json) -> Json:
    if not isinstance(value, Mapping) or not value.get("enabled"):
        return {"enabled": False}
    return {
        "enabled": True,
        "max_concurrent_subagents": value.get("max_concurrent_subagents") or DEFAULT_SUBAGENTS,
    }


def compaction(value: Json) -> Json:
    return {"async": bool(value.get("async"))} if isinstance(value, Mapping) else {"async": False}


# Settings the service fills in when a request leaves them out (the sandbox and the SDK's
# Agent type agree): the canonical form leaves a default out, so that agents applied before
# a setting existed keep their stamps and their cassettes' fingerprints.
_SETTING_DEFAULTS: dict[str, Json] = {
    "verbosity": "medium",
    "reasoning_summary": None,
    "time_awareness": False,
}


def settings(verbosity: Json, reasoning_summary: Json, time_awareness: Json) -> dict[str, Json]:
    given = {
        "verbosity": verbosity,
        "reasoning_summary": reasoning_summary,
        "time_awareness": bool(time_awareness),
    }
    return {k: v for k, v in given.items() if v is not None and v != _SETTING_DEFAULTS[k]}


def form(
    *,
    name: Json,
    model: Json,
    instructions: Json,
    tools_: Iterable[Mapping[str, Json]],
    metadata: Mapping[str, Json] | None,
    reasoning_effort: Json,
    text: Json,
    service_tier: Json,
    multi_agent_: Json,
    compaction_: Json,
    environment_template: str | None,
    settings_: Mapping[str, Json],
) -> dict[str, Json]:
    return {
        **settings_,
        "name": blank(name),
        "model": model,
        "instructions": blank(instructions),
        "tools": tools(tools_),
        "metadata": identity.user_metadata(dict(metadata or {})),
        "reasoning_effort": reasoning_effort or DEFAULT_EFFORT,
        "text_format": text,
        "service_tier": service_tier or "auto",
        "multi_agent": multi_agent_,
        "compaction": compaction_,
        "environment_template": environment_template,
    }


def from_spec(spec: AssistantSpec) -> dict[str, Json]:
    return form(
        name=spec.name,
        model=spec.model,
        instructions=spec.instructions,
        tools_=spec.tools,
        metadata=spec.metadata,
        reasoning_effort=spec.reasoning_effort,
        text=text_format(spec.response_format),
        service_tier=spec.service_tier,
        multi_agent_=multi_agent(spec.multi_agent),
        compaction_=compaction(spec.compaction),
        environment_template=for_assistant(spec),
        settings_=settings(
            spec.verbosity,
            spec.reasoning_summary,
            (spec.experimental or {}).get("time_awareness"),
        ),
    )


def from_remote(data: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Json]:
    template = (data.get("metadata") or {}).get(identity.TEMPLATE_KEY)
    return form(
        name=data.get("name"),
        model=data.get("model"),
        instructions=data.get("instructions"),
        tools_=[_named_credential(t, names) for t in data.get("tools") or []],
        metadata=data.get("metadata"),
        reasoning_effort=(data.get("reasoning") or {}).get("effort"),
        text=(data.get("text") or {}).get("format") or {"type": "text"},
        service_tier=data.get("service_tier"),
        multi_agent_=multi_agent(data.get("multi_agent")),
        compaction_=compaction(data.get("compaction")),
        environment_template=_template_key(template, names) if template else None,
        settings_=settings(
            (data.get("text") or {}).get("verbosity"),
            (data.get("reasoning") or {}).get("summary"),
            (data.get("experimental") or {}).get("time_awareness"),
        ),
    )


def _named_credential(tool: Mapping[str, Json], names: Mapping[str, str]) -> Mapping[str, Json]:
    """An mcp tool's credential_id as the spec names a credential of the project's vaults
    (`credential: <vault key>/<name>`); any other stays an id."""
    name = names.get(str(tool.get("credential_id"))) if tool.get("type") == "mcp" else None
    if name is None or not name.startswith(CREDENTIAL_PREFIX):
        return tool
    named = {k: v for k, v in tool.items() if k != "credential_id"}
    named["credential"] = name.removeprefix(CREDENTIAL_PREFIX)
    return named


def _credential_ids(data: Mapping[str, Any]) -> set[str]:
    """The vault credentials a live agent's mcp tools use."""
    return {
        str(t["credential_id"])
        for t in data.get("tools") or ()
        if t.get("type") == "mcp" and t.get("credential_id")
    }


def _template_key(template_id: str, names: Mapping[str, str]) -> str:
    """The key of the template an agent names (as "id:..." when not one of ours)."""
    name = names.get(template_id)
    return name.removeprefix(REF_PREFIX) if name else f"id:{template_id}"


def _spec_function(canonical: Mapping[str, Any]) -> dict[str, Json]:
    """A canonical function tool as the JSON file a spec points at (no type)."""
    return {k: v for k, v in canonical.items() if k != "type"}


def _payload_tool(canonical: Mapping[str, Json]) -> dict[str, Json]:
    """The service requires a function's description: a blank one is sent as ""."""
    if canonical["type"] == "function":
        return {**canonical, "description": canonical.get("description") or ""}
    return dict(canonical)


def _credential_id(run: Writer, tool: dict[str, Json]) -> dict[str, Json]:
    """An mcp tool's `credential` (a vault credential by key) as the id it has now."""
    if not tool.get("credential"):
        return tool
    sent = {k: v for k, v in tool.items() if k != "credential"}
    sent["credential_id"] = run.resolve(CREDENTIAL.ref_name(str(tool["credential"])))
    return sent


def resolved_tools(raw: Iterable[Mapping[str, Json]]) -> list[dict[str, Json]]:
    """The agent's tools as the service keeps them: what apply sends, the defaults filled
    in (what its size limit is measured on: limits.AGENT_TOOLS_MAX_BYTES)."""
    return [{**_TOOL_DEFAULTS.get(str(t["type"]), {}), **_payload_tool(t)} for t in tools(raw)]


class AgentKind(OneForEachAssistant):
    name = "agent"
    exports = True
    spec_kind = "assistant"

    def form(self, spec: AssistantSpec, shas: Mapping[str, str]) -> dict[str, Json]:
        return from_spec(spec)

    def live_form(self, data: Mapping[str, Json], names: Mapping[str, str]) -> dict[str, Json]:
        return from_remote(data, names)

    def ref_name(self, key: str) -> str:
        return AGENT_PREFIX + key  # automations name the agent their sessions run

    def references(self, obj: Any) -> set[str]:
        template = (obj.data.get("metadata") or {}).get(identity.TEMPLATE_KEY)
        return ({template} if template else set()) | _credential_ids(obj.data)

    def repoint(
        self,
        obj: RemoteObject,
        after: Mapping[str, Json],
        changes: tuple[FieldChange, ...],
        going: Callable[[], set[str]],
        names: Mapping[str, str],
    ) -> tuple[FieldChange, ...]:
        """An agent whose mcp tool uses a credential this plan deletes (replaced, or a
        duplicate) must be pointed at the one that stays, though its tools name it by key:
        the change shows the old credential by id."""
        ids = _credential_ids(obj.data)
        if any(c.field == "tools" for c in changes) or not ids:
            return changes
        gone = going() & ids
        if not gone:
            return changes
        kept = {i: n for i, n in names.items() if i not in gone}
        change = FieldChange("tools", from_remote(obj.data, kept)["tools"], after["tools"])
        return tuple(sorted((*changes, change), key=lambda c: c.field))

    def export(self, ex: Exporting, obj: RemoteObject) -> None:
        """As an assistant spec (one spec for every generation): its environment template's
        files become code_interpreter files."""
        key = ex.result.keys[obj.id]
        doc = ex.header(self.spec_kind, key, obj)
        form = from_remote(obj.data, ex.names)  # mcp tools name exported credentials by key
        for name in ("name", "model"):
            if form[name] is not None:
                doc[name] = form[name]
        if form["instructions"]:
            doc["instructions"] = ex.instructions(key, form["instructions"])
        tools: list[Json] = [
            ex.function(_spec_function(t)) if t["type"] == "function" else t for t in form["tools"]
        ]
        template_id = (obj.data.get("metadata") or {}).get(identity.TEMPLATE_KEY)
        template = next((t for t in ex.state.of(TEMPLATE.name) if t.id == template_id), None)
        named = ex.names.get(str(template_id), "")
        environment = declared_environment(template)
        if named.startswith(DECLARED_REF_PREFIX):
            doc["environment"] = named.removeprefix(DECLARED_REF_PREFIX)
        elif environment is not None:
            doc["environment"] = environment
            ex.result.warnings.append(
                f"agent '{key}' runs in environment '{environment}', which this export does "
                "not write (another project manages it): declare it (kind: environment)"
            )
        elif template_id is not None:
            tools.append({"type": "code_interpreter"})
            files = (template.data.get("files") or []) if template is not None else []
            paths = [
                ex.local_file(str(f["file_id"]), "knowledge") for f in files if f.get("file_id")
            ]
            if paths:
                doc["tool_resources"] = {"code_interpreter": {"files": paths}}
            if template is None:
                ex.result.warnings.append(
                    f"agent '{key}' names environment template {template_id}, which the "
                    "target does not have; its code_interpreter files are not exported"
                )
        doc["tools"] = tools
        if form["metadata"]:
            doc["metadata"] = form["metadata"]
        if form["reasoning_effort"] != DEFAULT_EFFORT:
            doc["reasoning_effort"] = form["reasoning_effort"]
        text = form["text_format"]
        if isinstance(text, Mapping) and text.get("type") == "json_schema":
            schema = {"name": key, "schema": text.get("schema") or {}}
            doc["response_format"] = {"type": "json_schema", "json_schema": schema}
        defaults = from_remote({}, {})
        for name in ("service_tier", "multi_agent", "compaction"):
            if form[name] != defaults[name]:
                doc[name] = form[name]
        for name in ("verbosity", "reasoning_summary"):
            if name in form:
                doc[name] = form[name]
        if form.get("time_awareness"):
            doc["experimental"] = {"time_awareness": True}
        ex.spec("assistants", key, doc)

    def written_metadata(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        """Also the ids of its environment template and of its credentials' vaults: a
        session needs them, and an agent has no field of its own for either."""
        metadata = run.metadata(self.name, key, after, remote_id)
        if after["environment_template"]:
            name = logical_name(str(after["environment_template"]))
            metadata[identity.TEMPLATE_KEY] = run.resolve(name)
        vaults = sorted(
            {
                run.resolve(VAULT.ref_name(str(t["credential"]).partition("/")[0]))
                for t in after["tools"]
                if t.get("credential")
            }
        )
        if vaults:
            metadata[identity.VAULTS_KEY] = ",".join(vaults)
        return metadata

    def payload(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        metadata = self.written_metadata(run, key, after, remote_id)
        return {
            "name": after["name"],
            "model": after["model"],
            "instructions": after["instructions"],
            "tools": [_credential_id(run, _payload_tool(t)) for t in after["tools"]],
            "metadata": metadata,
            "reasoning": {
                "effort": after["reasoning_effort"],
                "summary": after.get("reasoning_summary"),
            },
            "text": {
                "format": after["text_format"],
                "verbosity": after.get("verbosity", _SETTING_DEFAULTS["verbosity"]),
            },
            "service_tier": after["service_tier"],
            "multi_agent": after["multi_agent"],
            "compaction": after["compaction"],
            "experimental": {"time_awareness": bool(after.get("time_awareness"))},
        }


KIND = AgentKind()
