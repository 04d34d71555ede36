"""The saved plan file: read back and checked whole before anything runs.

What a plan file may hold comes from the registries (the API generations and the kinds
each holds), so a plan of any generation reads back as it was written.
"""

from __future__ import annotations

import dataclasses

from asst_deploy import kinds
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations import API_GENERATIONS, DEFAULT_API, kinds_of
from asst_deploy.plan import (
    ACTION_TYPES,
    FORMAT_VERSION,
    Action,
    FieldChange,
    Keep,
    Lookalike,
    Plan,
)
from asst_deploy.types import Json, Mode


def from_json(data: dict[str, Json]) -> Plan:
    """A plan from its JSON form, checked whole first: a damaged or edited file fails
    here with every problem named, before any call is made."""
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise AsstDeployError(
            f"plan file has format_version {version!r}; this asst-deploy reads version "
            f"{FORMAT_VERSION}: make the plan again with this version"
        )
    problems = plan_problems(data)
    if problems:
        raise AsstDeployError(
            "damaged plan file; nothing was changed:\n"
            + "\n".join(f"  {p}" for p in problems)
            + "\nMake a new plan with `asst-deploy plan --out`."
        )
    actions: list[Action] = []
    for raw in data["actions"]:
        raw = dict(raw)
        kind = ACTION_TYPES[raw.pop("action")]
        if "changes" in raw:
            raw["changes"] = tuple(FieldChange(**c) for c in raw["changes"])
        actions.append(kind(**raw))
    return Plan(
        project=data["project"],
        environment=data.get("environment"),
        target=data["target"],
        actions=tuple(actions),
        kept=tuple(Keep(**k) for k in data.get("kept", [])),
        refused=tuple(data.get("refused", [])),
        files=dict(data.get("files", {})),
        endpoint=data.get("endpoint", ""),
        api=data.get("api", DEFAULT_API),
        lease_generation=data.get("lease_generation", 0),
        prune=data.get("prune", False),
        only=tuple(data.get("only", ())),
        mode=Mode(data.get("mode", Mode.NORMAL)),
        replace=tuple(data.get("replace", ())),
        lookalikes=tuple(Lookalike(**x) for x in data.get("lookalikes", [])),
    )


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "str?": (str, type(None)),
    "int": (int,),
    "bool": (bool,),
    "dict": (dict,),
    "dict?": (dict, type(None)),
    "list": (list,),
}
# A field's JSON type, from its annotation in asst_deploy/plan.py ("?": or null). The
# tables below, and the plan file's JSON Schema, are made from the action types.
_ANNOTATIONS = {
    "str": "str",
    "str | None": "str?",
    "int": "int",
    "bool": "bool",
    "Json": "dict",  # a canonical form
    "Json | None": "dict?",
    "Mode": "str",
    "dict[str, str]": "dict",
}


def _fields(cls: type, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Field name -> JSON type of a plan type; a tuple is a list."""
    return {
        f.name: "list" if str(f.type).startswith("tuple[") else _ANNOTATIONS[str(f.type)]
        for f in dataclasses.fields(cls)
        if f.name not in skip
    }


_PLAN_FIELDS = _fields(Plan, skip=("format_version",))  # read first, apart
_REQUIRED = ("project", "target", "actions")


def _action_fields(action: type[Action]) -> dict[str, str]:
    """An action's fields, the ones it requires non-null (`required`)."""
    found = {"action": "str", **_fields(action)}
    return {n: t.rstrip("?") if n in action.required else t for n, t in found.items()}


_ACTION_FIELDS: dict[str, dict[str, str]] = {
    verb: _action_fields(action) for verb, action in ACTION_TYPES.items()
}
_JSON_TYPES = {"str": "string", "int": "integer", "bool": "boolean", "dict": "object"}


def _json_type(spec: str) -> dict[str, Json]:
    if spec == "list":
        return {"type": "array"}
    name = _JSON_TYPES[spec.rstrip("?")]
    return {"type": [name, "null"] if spec.endswith("?") else name}


_NULLABLE_STRING = {"type": ["string", "null"]}
# one of `plan --json`'s next_runs (render.next_run_json)
NEXT_RUN_SCHEMA: dict[str, Json] = {
    "type": "object",
    "properties": {
        "kind": {"enum": list(kinds.KINDS)},
        "key": {"type": "string", "minLength": 1},
        "type": {"enum": ["periodic", "once"]},
        "expression": _NULLABLE_STRING,
        "timezone": {"type": "string"},
        "paused": {"type": "boolean"},
        "next_run": {
            **_NULLABLE_STRING,
            "description": "ISO 8601 in UTC; paused: once resumed; null: never runs.",
        },
        "local": {**_NULLABLE_STRING, "description": "The same time in its time zone."},
    },
    "required": ["kind", "key", "type", "expression", "timezone", "paused", "next_run", "local"],
    "additionalProperties": False,
}


def plan_schema() -> dict[str, Json]:
    """The JSON Schema of a saved plan file, made from the action types and the registries
    (`asst-deploy schema plan`); `from_json` checks a file against the same tables."""
    actions = []
    for verb, fields in _ACTION_FIELDS.items():
        properties = {name: _json_type(spec) for name, spec in fields.items()}
        properties |= {"action": {"const": verb}, "kind": {"enum": list(kinds.KINDS)}}
        properties["key"] = {"type": "string", "minLength": 1}
        actions.append(
            {
                "if": {"properties": {"action": {"const": verb}}, "required": ["action"]},
                "then": {
                    "type": "object",
                    "properties": properties,
                    "required": ["action", *ACTION_TYPES[verb].required],
                    "additionalProperties": False,
                },
            }
        )
    properties = {name: _json_type(spec) for name, spec in _PLAN_FIELDS.items()}
    properties |= {
        "format_version": {"const": FORMAT_VERSION},
        "kind": {"const": "asst-deploy-plan"},
        "root": {"type": "string"},
        "summary": {"type": "object"},
        "api": {"enum": list(API_GENERATIONS), "default": DEFAULT_API},
        "mode": {"enum": [str(m) for m in Mode], "default": str(Mode.NORMAL)},
        "actions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"action": {"enum": list(ACTION_TYPES)}},
                "required": ["action"],
                "allOf": actions,
            },
        },
        "kept": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {name: _json_type(spec) for name, spec in _fields(Keep).items()},
                "required": ["kind", "key", "remote_id"],
                "additionalProperties": False,
            },
        },
        "lookalikes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {name: {"type": "string"} for name in _LOOKALIKE},
                "required": list(_LOOKALIKE),
                "additionalProperties": False,
            },
        },
    }
    properties["next_runs"] = {
        "type": "array",
        "items": NEXT_RUN_SCHEMA,
        "description": "`plan --json` only: when each scheduled object runs next, as of the "
        "plan (apply ignores it).",
    }
    for name in ("refused", "only", "replace"):
        properties[name] = {"type": "array", "items": {"type": "string"}}
    properties["files"] = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "asst-deploy saved plan",
        "type": "object",
        "properties": properties,
        "required": ["format_version", *_REQUIRED],
        "additionalProperties": False,
    }


def _type_problem(where: str, value: Json, spec: str) -> str | None:
    allowed = _TYPES[spec]
    # bool is an int in Python; a plan's counters and flags must not mix
    if isinstance(value, bool) and bool not in allowed:
        return f"{where}: expected {spec.rstrip('?')}, got {json_name(value)}"
    if not isinstance(value, allowed):
        return f"{where}: expected {spec.rstrip('?')}, got {json_name(value)}"
    return None


def json_name(value: Json) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else "an object"
    )


def plan_problems(data: Json) -> list[str]:
    """Everything wrong with a plan's JSON form (empty: it can be read)."""
    if not isinstance(data, dict):
        return ["the plan is not a JSON object"]
    problems = [f"{name}: missing" for name in _REQUIRED if name not in data]
    for name, spec in _PLAN_FIELDS.items():
        if name in data:
            problem = _type_problem(name, data[name], spec)
            if problem:
                problems.append(problem)
    if not all(
        isinstance(data.get(n, []), list)
        for n in ("actions", "kept", "refused", "only", "replace", "lookalikes")
    ):
        return problems
    api = data.get("api", DEFAULT_API)
    if isinstance(api, str) and api not in API_GENERATIONS:
        problems.append(f"api: expected one of {', '.join(API_GENERATIONS)}, got {api!r}")
        api = None
    held = [k.name for k in kinds_of(api)] if isinstance(api, str) else list(kinds.KINDS)
    for i, raw in enumerate(data.get("actions", [])):
        problems += _action_problems(f"actions[{i}]", raw, held)
    for i, raw in enumerate(data.get("kept", [])):
        if not isinstance(raw, dict) or not all(
            isinstance(raw.get(k), str) for k in ("kind", "key", "remote_id")
        ):
            problems.append(f"kept[{i}]: expected an object with kind, key and remote_id")
        elif set(raw) - {"kind", "key", "remote_id", "reason"}:
            problems.append(f"kept[{i}]: unknown fields {sorted(set(raw) - set(_KEEP))}")
    for i, raw in enumerate(data.get("lookalikes", [])):
        if not isinstance(raw, dict) or set(raw) != set(_LOOKALIKE):
            problems.append(f"lookalikes[{i}]: expected an object with kind, key and remote_id")
        elif not all(isinstance(raw[k], str) for k in _LOOKALIKE):
            problems.append(f"lookalikes[{i}]: kind, key and remote_id must be strings")
    if data.get("mode", Mode.NORMAL) not in set(Mode):
        problems.append(f"mode: expected one of {', '.join(Mode)}, got {data['mode']!r}")
    for name in ("refused", "only", "replace"):
        if not all(isinstance(v, str) for v in data.get(name, [])):
            problems.append(f"{name}: expected a list of strings")
    files = data.get("files", {})
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        problems.append("files: expected an object of path -> content hash strings")
    return problems


_KEEP = ("kind", "key", "remote_id", "reason")
_LOOKALIKE = tuple(f.name for f in dataclasses.fields(Lookalike))


def _action_problems(where: str, raw: Json, held: list[str]) -> list[str]:
    """What is wrong with one action; `held`: the kinds its plan's API generation holds."""
    if not isinstance(raw, dict):
        return [f"{where}: expected an object, got {json_name(raw)}"]
    verb = raw.get("action")
    if verb not in _ACTION_FIELDS:
        return [f"{where}.action: expected one of {', '.join(_ACTION_FIELDS)}, got {verb!r}"]
    problems: list[str] = []
    fields = _ACTION_FIELDS[verb]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        problems.append(f"{where}: unknown fields {', '.join(unknown)}")
    required = ("action", *ACTION_TYPES[verb].required)
    for name, spec in fields.items():
        if name not in raw:
            if name in required:
                problems.append(f"{where}.{name}: missing")
            continue
        problem = _type_problem(f"{where}.{name}", raw[name], spec)
        if problem:
            problems.append(problem)
    if isinstance(raw.get("kind"), str) and raw["kind"] not in held:
        problems.append(f"{where}.kind: expected one of {', '.join(held)}, got {raw['kind']!r}")
    if isinstance(raw.get("key"), str) and not raw["key"]:
        problems.append(f"{where}.key: empty")
    for j, change in enumerate(raw.get("changes") or []):
        if not isinstance(change, dict) or set(change) != {"field", "before", "after"}:
            problems.append(f"{where}.changes[{j}]: expected an object with field, before, after")
        elif not isinstance(change["field"], str):
            problems.append(f"{where}.changes[{j}].field: expected str")
    return problems
