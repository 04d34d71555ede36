"""The Agents API's request schemas (limits as the SDK documents them) and resolved objects.

Ground truth is the openai SDK's generated types (`openai/types/beta/agent*.py`,
`persisted_agent_tool*.py`, `environment*.py`, `agents/**`); OpenAI's own Agents OpenAPI
(shared/openai/agents-openapi.yml, older than the SDK) adds status codes and page shapes,
and loses where the two disagree. Where the SDK names a default ("Defaults to
`medium`") the resolved object carries it; where it does not, the default chosen here is
inferred (docs/concepts/sandbox.md lists each one).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.validation import (
    METADATA,
    NAME_PATTERN,
    AnyValue,
    Arr,
    Bool,
    Int,
    Nullable,
    Obj,
    Schema,
    Str,
    Tagged,
    const,
    join,
)

# The resolved tool list as compact UTF-8 JSON: saved agents 3 MiB, sessions 8 MiB (3.60).
TOOLS_MAX_BYTES = 3 * 1024 * 1024
SESSION_TOOLS_MAX_BYTES = 8 * 1024 * 1024
SERVICE_TIERS = ["auto", "default", "flex", "priority", "fast", "ultrafast"]
EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"]

_STRINGS = Nullable(Arr(Str()))


def _function() -> Obj:
    return Obj(
        {
            "type": Str(enum=["function"]),
            "name": Str(max_len=64, pattern=NAME_PATTERN),
            "description": Str(),
            "parameters": Obj(values=AnyValue()),
            "defer_loading": Bool(),
            "async": Bool(),
        },
        required=["type", "name", "description", "parameters"],
    )


_MCP_TRANSPORT = Tagged(
    {
        "http": const("http", "server_url", server_url=Str(), headers=Nullable(Obj(values=Str()))),
        "stdio": const(
            "stdio",
            "command",
            "cwd",
            command=Str(),
            cwd=Str(),
            args=_STRINGS,
            env_vars=_STRINGS,
        ),
    }
)
_LOCATION = Obj(
    {
        "city": Nullable(Str()),
        "country": Nullable(Str()),
        "region": Nullable(Str()),
        "timezone": Nullable(Str()),
    }
)


def _tool_variants(*, persisted: bool) -> dict[str, Schema]:
    variants: dict[str, Schema] = {
        "function": _function(),
        "programmatic_tool_calling": const("programmatic_tool_calling", enabled=Bool()),
        "mcp": const(
            "mcp",
            "server_label",
            "transport",
            server_label=Str(max_len=64, pattern=NAME_PATTERN),
            transport=_MCP_TRANSPORT,
            allowed_tools=_STRINGS,
            connection_origin=Nullable(Str(enum=["service", "environment"])),
            credential_id=Nullable(Str()),
            request_metadata=Nullable(Obj(values=AnyValue())),
            required=Bool(),
        ),
        "web_search": const(
            "web_search",
            allowed_domains=_STRINGS,
            context_size=Nullable(Str(enum=["low", "medium", "high"])),
            location=Nullable(_LOCATION),
            mode=Nullable(Str(enum=["disabled", "cached", "live"])),
        ),
        "computer_use": const("computer_use", include_screenshots=Bool()),
        "automations": const("automations"),
    }
    if persisted:
        # tool_search exists on saved agents only (AgentToolParam of sessions lacks it)
        variants["tool_search"] = const("tool_search")
    return dict(sorted(variants.items()))


def _check_tools(tools: list[dict[str, Any]], path: str, max_bytes: int) -> None:
    size = len(json.dumps(tools, separators=(",", ":"), ensure_ascii=False).encode())
    if size > max_bytes:
        raise APIError(
            400,
            f"Invalid '{path}': the tools list is {size} bytes of JSON; the maximum is "
            f"{max_bytes} bytes.",
            param=path,
            code="tools_above_max_size",
        )
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        if tool["type"] != "function":
            continue
        if tool["name"] in seen:
            raise APIError(
                400,
                f"Invalid '{path}[{i}].name': duplicate function name '{tool['name']}'.",
                param=f"{path}[{i}].name",
                code="invalid_value",
            )
        seen.add(tool["name"])


class _Tools(Arr):
    def __init__(self, items: Schema, *, max_bytes: int) -> None:
        super().__init__(items)
        self.max_bytes = max_bytes

    def check(self, value: Any, path: str) -> Any:
        super().check(value, path)
        _check_tools(value, path, self.max_bytes)
        return value


PERSISTED_TOOLS = Nullable(
    _Tools(Tagged(_tool_variants(persisted=True)), max_bytes=TOOLS_MAX_BYTES)
)
SESSION_TOOLS = Nullable(
    _Tools(Tagged(_tool_variants(persisted=False)), max_bytes=SESSION_TOOLS_MAX_BYTES)
)

_TEXT_FORMAT = Tagged(
    {
        "text": const("text"),
        "json_schema": const("json_schema", "schema", schema=Obj(values=AnyValue())),
    }
)
_TEXT = Nullable(
    Obj(
        {
            "format": Nullable(_TEXT_FORMAT),
            "verbosity": Nullable(Str(enum=["low", "medium", "high"])),
        }
    )
)
_REASONING = Nullable(
    Obj(
        {
            "effort": Nullable(Str(enum=EFFORTS)),
            "summary": Nullable(Str(enum=["concise", "detailed", "auto"])),
        }
    )
)
_MULTI_AGENT = Nullable(
    Obj({"enabled": Bool(), "max_concurrent_subagents": Int(min=1)}, required=["enabled"])
)
_COMPACTION = Nullable(Obj({"async": Nullable(Bool())}))
_EXPERIMENTAL = Obj({"time_awareness": Bool()})

AGENT_FIELDS: dict[str, Schema] = {
    "model": Str(),
    "name": Nullable(Str(max_len=256)),
    "instructions": Nullable(Str(max_len=256_000)),
    "metadata": METADATA,
    "tools": PERSISTED_TOOLS,
    "reasoning": _REASONING,
    "text": _TEXT,
    "service_tier": Nullable(Str(enum=SERVICE_TIERS)),
    "multi_agent": _MULTI_AGENT,
    "compaction": _COMPACTION,
    "experimental": _EXPERIMENTAL,
}
CREATE_AGENT = Obj(AGENT_FIELDS, required=["model"])
UPDATE_AGENT = Obj(AGENT_FIELDS)


# --- resolved objects ------------------------------------------------------------------


def resolve_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool as the service reports it: every field the SDK's response type declares."""
    kind = tool["type"]
    if kind == "function":
        out = {
            "type": "function",
            "name": tool["name"],
            "description": tool["description"],
            "parameters": tool["parameters"],
            "defer_loading": tool.get("defer_loading", False),
        }
        if "async" in tool:
            out["async"] = tool["async"]
        return out
    if kind == "mcp":
        transport = dict(tool["transport"])
        if transport["type"] == "http":
            transport = {**transport, "headers": transport.get("headers") or {}}
        else:
            transport = {
                **transport,
                "args": transport.get("args") or [],
                "env_vars": transport.get("env_vars") or [],
            }
        return {
            "type": "mcp",
            "server_label": tool["server_label"],
            "transport": transport,
            "allowed_tools": tool.get("allowed_tools"),
            "connection_origin": tool.get("connection_origin") or "service",
            "credential_id": tool.get("credential_id"),
            "request_metadata": tool.get("request_metadata") or {},
            "required": tool.get("required", False),
        }
    if kind == "web_search":
        return {
            "type": "web_search",
            "allowed_domains": tool.get("allowed_domains"),
            "context_size": tool.get("context_size") or "medium",
            "location": tool.get("location"),
            "mode": tool.get("mode") or "live",
        }
    if kind == "computer_use":
        return {
            "type": "computer_use",
            "include_screenshots": tool.get("include_screenshots", False),
        }
    if kind == "programmatic_tool_calling":
        return {"type": kind, "enabled": tool.get("enabled", True)}
    return {"type": kind}


def _reasoning(value: Mapping[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    return {"effort": value.get("effort") or "medium", "summary": value.get("summary")}


def _text(value: Mapping[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    return {
        "format": value.get("format") or {"type": "text"},
        "verbosity": value.get("verbosity") or "medium",
    }


def _multi_agent(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if not value or not value.get("enabled"):
        return {"enabled": False, "max_concurrent_subagents": None}
    return {"enabled": True, "max_concurrent_subagents": value.get("max_concurrent_subagents", 6)}


def settings(body: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The agent's configuration after a create (base None) or a partial update of `base`.

    Omitted fields keep their value, null resets to the default, tools and metadata replace
    whole, experimental merges by key.
    """
    out = copy.deepcopy(dict(base)) if base is not None else {}
    for key in ("model", "name", "instructions"):
        if key in body or base is None:
            out[key] = body.get(key)
    if "metadata" in body or base is None:
        out["metadata"] = body.get("metadata") or {}
    if "tools" in body or base is None:
        out["tools"] = [resolve_tool(t) for t in body.get("tools") or []]
    for key, resolve in (("reasoning", _reasoning), ("text", _text), ("multi_agent", _multi_agent)):
        if key in body or base is None:
            out[key] = resolve(body.get(key))
    if "service_tier" in body or base is None:
        out["service_tier"] = body.get("service_tier") or "auto"
    if "compaction" in body or base is None:
        compaction = body.get("compaction") or {}
        out["compaction"] = {"async": bool(compaction.get("async"))}
    experimental = dict(out.get("experimental") or {"time_awareness": False})
    experimental.update(body.get("experimental") or {})
    out["experimental"] = experimental
    return out


def session_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resolved tools as a session's agent holds them (the SDK's AgentTool, not
    PersistedAgentTool): no `tool_search` entry, whose work the functions' `defer_loading`
    carries in a session ("discovered through tool search"), and mcp http transports
    without `headers` (a session's McpTransport declares none: they may hold secrets)."""
    out = []
    for tool in tools:
        if tool["type"] == "tool_search":
            continue
        tool = copy.deepcopy(tool)
        if tool["type"] == "mcp" and tool["transport"]["type"] == "http":
            tool["transport"].pop("headers", None)
        out.append(tool)
    return out


# What of an agent configures a run of it: a session's snapshot and an automation's agent
AGENT_SETTINGS = (
    "instructions",
    "model",
    "multi_agent",
    "reasoning",
    "service_tier",
    "text",
    "tools",
    "compaction",
    "experimental",
)


def session_agent(agent: Mapping[str, Any]) -> dict[str, Any]:
    """The agent snapshot a session carries (the SDK's AgentSession.Agent)."""
    snapshot = {k: copy.deepcopy(agent.get(k)) for k in ("id", "name", *AGENT_SETTINGS)}
    snapshot["tools"] = session_tools(agent.get("tools") or [])
    return snapshot


# --- environment templates and session environments ------------------------------------

# "The skill version, a positive integer or `latest`; omission selects the default."
SKILL_VERSION = r"^([1-9][0-9]*|latest)$"
_FILE = Tagged(
    {
        "file_id": const("file_id", "file_id", "path", file_id=Str(), path=Str(max_len=1024)),
        "inline": const("inline", "data", "path", data=Str(), path=Str(max_len=1024)),
    }
)
FILE = _FILE


def _network_rules(network: dict[str, Any], path: str) -> None:
    """blocked_domains: "A nonempty list requires `access: restricted` and cannot be
    combined with nonempty `allowed_domains`. Wildcard domains are not supported."."""
    blocked = network.get("blocked_domains") or []
    if not blocked:
        return
    param = join(path, "blocked_domains")
    if network["access"] != "restricted":
        raise APIError(
            400,
            f"Invalid '{param}': blocked domains require network access 'restricted', "
            f"but access is '{network['access']}'.",
            param=param,
            code="invalid_value",
        )
    if network.get("allowed_domains"):
        raise APIError(
            400,
            f"Invalid '{param}': blocked_domains cannot be combined with a nonempty "
            "allowed_domains.",
            param=param,
            code="invalid_value",
        )
    for i, domain in enumerate(blocked):
        if "*" in domain:
            raise APIError(
                400,
                f"Invalid '{param}[{i}]': wildcard domains are not supported.",
                param=f"{param}[{i}]",
                code="invalid_value",
            )


_NETWORK = Obj(
    {
        "access": Str(enum=["enabled", "disabled", "restricted"]),
        "allowed_domains": _STRINGS,
        "blocked_domains": _STRINGS,
    },
    required=["access"],
    post=_network_rules,
)
_PACKAGES = Obj({"npm": _STRINGS, "python": _STRINGS, "system": _STRINGS})
# InlineCapabilitySourceParam: "Provides ZIP bytes encoded with standard base64."
_SOURCE = Obj(
    {
        "type": Str(enum=["base64"]),
        "media_type": Str(enum=["application/zip"]),
        "data": Str(),
    },
    required=["type", "media_type", "data"],
)
_CAPABILITY = Obj(
    {
        "type": Str(enum=["inline"]),
        "name": Str(),
        "description": Str(),
        "source": _SOURCE,
    },
    required=["type", "name", "description", "source"],
)
_SKILL = Tagged(
    {
        "skill_reference": const(
            "skill_reference",
            "skill_id",
            skill_id=Str(),
            version=Nullable(Str(pattern=SKILL_VERSION)),
        ),
        "inline": _CAPABILITY,
    }
)
_SETUP = Obj({"command": Str(), "cwd": Nullable(Str())}, required=["command"])
HOSTED_FIELDS: dict[str, Schema] = {
    "capability_directories": _STRINGS,
    "desktop": Nullable(Obj({"enabled": Bool()}, required=["enabled"])),
    "env": Nullable(Obj(values=Str(), max_props=100, max_key_len=256)),
    "files": Nullable(Arr(_FILE, max_items=100)),
    "network": Nullable(_NETWORK),
    "packages": Nullable(_PACKAGES),
    "plugins": Nullable(Arr(_CAPABILITY)),
    "setup_commands": Nullable(Arr(_SETUP, max_items=50)),
    "skills": Nullable(Arr(_SKILL)),
}
TEMPLATE = Obj({"name": Nullable(Str(max_len=256)), **HOSTED_FIELDS})
# Write-only parts of a hosted definition, kept in the store and never answered: the
# top-level keys here, and inside lists and objects the keys of WRITE_ONLY_NESTED (the
# network's blocked domains, an inline file's bytes, a plugin's or skill's archive).
WRITE_ONLY = ("env", "setup_commands")
WRITE_ONLY_NESTED = {"network": ("blocked_domains",), "files": ("data",)} | {
    key: ("source",) for key in ("plugins", "skills")
}

ENVIRONMENT = Tagged(
    {
        "none": const("none"),
        "openai_hosted": const(
            "openai_hosted",
            container_size=Str(enum=["small", "medium", "large"]),
            environment_id=Str(),
            environment_template_id=Str(),
            **HOSTED_FIELDS,
        ),
        "self_hosted": const(
            "self_hosted",
            "workspace_directory",
            workspace_directory=Str(),
            capability_directories=_STRINGS,
        ),
    }
)


def inline_size(data: str) -> int:
    """The decoded size of inline file data ("standard-base64-encoded file contents").

    Data that is not valid base64 counts as its UTF-8 text: the sandbox took inline data
    as text before, and keeps accepting it (the real service would refuse it).
    """
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return len(data.encode())


def hosted(body: Mapping[str, Any], base: Mapping[str, Any] | None, size_of: Any) -> dict[str, Any]:
    """A hosted environment definition with every field filled (template or session),
    write-only parts included (`public` drops them).

    `size_of(file_id, param)` answers a file's size or raises the 404 for a missing file.
    """
    out = copy.deepcopy(dict(base)) if base is not None else {}

    def given(key: str) -> bool:
        return key in body or base is None

    if given("capability_directories"):
        out["capability_directories"] = list(body.get("capability_directories") or [])
    if given("files"):
        files = []
        for i, spec in enumerate(body.get("files") or []):
            if spec["type"] == "file_id":
                size = size_of(spec["file_id"], join(f"files[{i}]", "file_id"))
                files.append({"type": "file_id", "file_id": spec["file_id"], "path": spec["path"]})
            else:
                size = inline_size(spec["data"])
                files.append({"type": "inline", "path": spec["path"], "data": spec["data"]})
            files[-1]["size_bytes"] = size
        out["files"] = files
    if given("network"):
        network = body.get("network") or {"access": "enabled"}
        out["network"] = {
            "access": network["access"],
            "allowed_domains": list(network.get("allowed_domains") or []),
            "blocked_domains": list(network.get("blocked_domains") or []),
        }
    if given("packages"):
        packages = body.get("packages") or {}
        out["packages"] = {k: list(packages.get(k) or []) for k in ("npm", "python", "system")}
    if given("plugins"):
        out["plugins"] = [
            {
                "type": p["type"],
                "name": p["name"],
                "description": p["description"],
                "source": p["source"],
            }
            for p in body.get("plugins") or []
        ]
    if given("skills"):
        out["skills"] = [
            {"type": s["type"], "skill_id": s["skill_id"], "version": s.get("version")}
            if s["type"] == "skill_reference"
            else {
                "type": s["type"],
                "name": s["name"],
                "description": s["description"],
                "source": s["source"],
            }
            for s in body.get("skills") or []
        ]
    if given("desktop"):
        out["desktop"] = body.get("desktop")
    for key in WRITE_ONLY:
        if given(key):
            out[key] = body.get(key)
    return out


def _without(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: copy.deepcopy(v) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(item, keys) for item in value]
    return copy.deepcopy(value)


def public(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A stored definition without its write-only parts (env, setup commands, blocked
    domains, inline file bytes, plugin and skill archives)."""
    return {
        k: _without(v, WRITE_ONLY_NESTED.get(k, ()))
        for k, v in definition.items()
        if k not in WRITE_ONLY
    }


def template_view(template: Mapping[str, Any]) -> dict[str, Any]:
    """A template as the API shows it: a `file_id` file has no size there (the SDK's
    template file type declares `size_bytes` for inline files only); the stored size
    stays for the sessions made from it, whose files all show one."""
    out = public(template)
    out["files"] = [
        {k: v for k, v in f.items() if not (k == "size_bytes" and f["type"] == "file_id")}
        for f in out.get("files") or []
    ]
    return out


# resolve(skill_id, version, index) -> (name, description, concrete version), or None for
# a skill the sandbox does not hold
SkillResolver = Callable[[str, str | None, int], tuple[str, str, str] | None]


def session_skills(
    skills: list[dict[str, Any]], resolve: SkillResolver | None = None
) -> list[dict[str, Any]]:
    """A hosted environment's installed skills (the SDK's HostedSkill), without archives:
    a reference resolves to the skill's name, description and the concrete version
    installed, from the sandbox's Skills API when it holds the skill. A skill it does not
    hold keeps the older answer: the skill id as the name, a description saying so, and
    the version asked for, or "1" for `latest` or none."""
    out = []
    for i, skill in enumerate(skills):
        if skill["type"] != "skill_reference":
            out.append(_without(skill, ("source",)))
            continue
        version = skill.get("version")
        found = resolve(skill["skill_id"], version, i) if resolve is not None else None
        if found is not None:
            name, description, concrete = found
        else:
            name = skill["skill_id"]
            description = f"[sandbox] skill {skill['skill_id']} (not in the sandbox's Skills API)"
            concrete = version if version not in (None, "latest") else "1"
        out.append(
            {
                "type": "skill_reference",
                "skill_id": skill["skill_id"],
                "name": name,
                "description": description,
                "version": concrete,
            }
        )
    return out
