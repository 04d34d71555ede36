"""A plan: typed actions carrying before and after, serialisable and re-appliable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

from asst_deploy.errors import AsstDeployError
from asst_deploy.types import Json

FORMAT_VERSION = 1

# How a plan was made: toward the specs, deleting everything (--destroy), or accepting
# drift into the hash stamps (--refresh-only)
MODES = ("normal", "destroy", "refresh-only")


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Json
    after: Json


@dataclass(frozen=True)
class Action:
    """One change to one remote object. `fingerprint` is the canonical hash of the remote
    object when the plan was made; a saved plan is refused when it no longer matches."""

    symbol: ClassVar[str] = "?"
    verb: ClassVar[str] = "?"

    kind: str
    key: str  # spec key, or a file's project-relative path
    remote_id: str | None = None
    fingerprint: str | None = None

    def to_json(self) -> dict[str, Json]:
        return {"action": self.verb, **asdict(self)}


@dataclass(frozen=True)
class Create(Action):
    symbol: ClassVar[str] = "+"
    verb: ClassVar[str] = "create"
    after: Json = None


@dataclass(frozen=True)
class Update(Action):
    """An in-place change. `drift`: the live object was edited outside asst-deploy since
    the last apply (its canonical hash no longer matches the stamp in its metadata)."""

    symbol: ClassVar[str] = "~"
    verb: ClassVar[str] = "update"
    before: Json = None
    after: Json = None
    changes: tuple[FieldChange, ...] = ()
    drift: bool = False
    adopt: bool = False  # an unmanaged object taken over: its ownership tags are added
    # refresh-only: the live values are accepted as they are; only the hash stamp in the
    # object's metadata is rewritten (before == after, no field changes)
    refresh: bool = False


@dataclass(frozen=True)
class Replace(Action):
    """Delete and re-create, where the API cannot change a field in place."""

    symbol: ClassVar[str] = "-/+"
    verb: ClassVar[str] = "replace"
    before: Json = None
    after: Json = None
    changes: tuple[FieldChange, ...] = ()
    reason: str = ""
    drift: bool = False


@dataclass(frozen=True)
class Delete(Action):
    symbol: ClassVar[str] = "-"
    verb: ClassVar[str] = "delete"
    before: Json = None


@dataclass(frozen=True)
class Keep:
    """A managed object the plan does not delete: no longer in the specs and no --prune, a
    duplicate without --prune, or one that objects outside the plan still use."""

    kind: str
    key: str
    remote_id: str
    reason: str = ""  # why it stays when --prune (or destroy) would not be enough


ACTION_TYPES: dict[str, type[Action]] = {t.verb: t for t in (Create, Update, Replace, Delete)}


@dataclass(frozen=True)
class Plan:
    project: str
    environment: str | None
    target: str
    actions: tuple[Action, ...] = ()
    kept: tuple[Keep, ...] = ()
    refused: tuple[str, ...] = ()  # protected objects the plan would have deleted or replaced
    files: dict[str, str] = field(default_factory=dict)  # path -> content sha at plan time
    format_version: int = FORMAT_VERSION
    # What a saved plan was made against and how: `apply PLANFILE` refuses any mismatch.
    endpoint: str = ""  # the target's base_url (or its sandbox db)
    api: str = "assistants"
    lease_generation: int = 0  # of the target's lease when the state was read (lease.py)
    prune: bool = False
    only: tuple[str, ...] = ()
    mode: str = "normal"  # one of MODES: how the plan was made, for a fresh re-plan
    replace: tuple[str, ...] = ()  # keys forced to delete-and-recreate (--replace)

    @property
    def empty(self) -> bool:
        return not self.actions

    def counts(self) -> tuple[int, int, int]:
        """(to add, to change, to destroy) the way Terraform counts: a replace is one of each."""
        add = sum(isinstance(a, Create | Replace) for a in self.actions)
        change = sum(isinstance(a, Update) for a in self.actions)
        destroy = sum(isinstance(a, Delete | Replace) for a in self.actions)
        return add, change, destroy

    def to_json(self) -> dict[str, Json]:
        return {
            "format_version": self.format_version,
            "project": self.project,
            "environment": self.environment,
            "target": self.target,
            "summary": dict(zip(("add", "change", "destroy"), self.counts(), strict=True)),
            "actions": [a.to_json() for a in self.actions],
            # a reason only where there is one: the common case reads as it always did
            "kept": [{k: v for k, v in asdict(keep).items() if v != ""} for keep in self.kept],
            "refused": list(self.refused),
            "files": dict(self.files),
            "endpoint": self.endpoint,
            "api": self.api,
            "lease_generation": self.lease_generation,
            "prune": self.prune,
            "only": list(self.only),
            "mode": self.mode,
            "replace": list(self.replace),
        }

    @classmethod
    def from_json(cls, data: dict[str, Json]) -> Plan:
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
        return cls(
            project=data["project"],
            environment=data.get("environment"),
            target=data["target"],
            actions=tuple(actions),
            kept=tuple(Keep(**k) for k in data.get("kept", [])),
            refused=tuple(data.get("refused", [])),
            files=dict(data.get("files", {})),
            endpoint=data.get("endpoint", ""),
            api=data.get("api", "assistants"),
            lease_generation=data.get("lease_generation", 0),
            prune=data.get("prune", False),
            only=tuple(data.get("only", ())),
            mode=data.get("mode", "normal"),
            replace=tuple(data.get("replace", ())),
        )


# ---- checking a plan file ----------------------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "str?": (str, type(None)),
    "int": (int,),
    "bool": (bool,),
    "dict": (dict,),
    "dict?": (dict, type(None)),
    "list": (list,),
}
_PLAN_FIELDS = {
    "project": "str",
    "environment": "str?",
    "target": "str",
    "actions": "list",
    "kept": "list",
    "refused": "list",
    "files": "dict",
    "endpoint": "str",
    "api": "str",
    "lease_generation": "int",
    "prune": "bool",
    "only": "list",
    "mode": "str",
    "replace": "list",
}
_REQUIRED = ("project", "target", "actions")
_ACTION_FIELDS: dict[str, dict[str, str]] = {
    "create": {"after": "dict"},
    "update": {
        "before": "dict",
        "after": "dict",
        "changes": "list",
        "drift": "bool",
        "adopt": "bool",
        "refresh": "bool",
    },
    "replace": {
        "before": "dict",
        "after": "dict",
        "changes": "list",
        "reason": "str",
        "drift": "bool",
    },
    "delete": {"before": "dict?"},
}
_KINDS = ("file", "vector_store", "assistant")


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
        isinstance(data.get(n, []), list) for n in ("actions", "kept", "refused", "only", "replace")
    ):
        return problems
    for i, raw in enumerate(data.get("actions", [])):
        problems += _action_problems(f"actions[{i}]", raw)
    for i, raw in enumerate(data.get("kept", [])):
        if not isinstance(raw, dict) or not all(
            isinstance(raw.get(k), str) for k in ("kind", "key", "remote_id")
        ):
            problems.append(f"kept[{i}]: expected an object with kind, key and remote_id")
        elif set(raw) - {"kind", "key", "remote_id", "reason"}:
            problems.append(f"kept[{i}]: unknown fields {sorted(set(raw) - set(_KEEP))}")
    if data.get("mode", "normal") not in MODES:
        problems.append(f"mode: expected one of {', '.join(MODES)}, got {data['mode']!r}")
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


def _action_problems(where: str, raw: Json) -> list[str]:
    if not isinstance(raw, dict):
        return [f"{where}: expected an object, got {json_name(raw)}"]
    verb = raw.get("action")
    if verb not in _ACTION_FIELDS:
        return [f"{where}.action: expected one of {', '.join(_ACTION_FIELDS)}, got {verb!r}"]
    problems: list[str] = []
    fields = {"action": "str", "kind": "str", "key": "str", "fingerprint": "str?"}
    fields |= {"remote_id": "str?" if verb == "create" else "str"}
    fields |= _ACTION_FIELDS[verb]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        problems.append(f"{where}: unknown fields {', '.join(unknown)}")
    for name, spec in fields.items():
        if name not in raw:
            if name in ("action", "kind", "key", "remote_id", "after") and not (
                name == "remote_id" and verb == "create"
            ):
                problems.append(f"{where}.{name}: missing")
            continue
        problem = _type_problem(f"{where}.{name}", raw[name], spec)
        if problem:
            problems.append(problem)
    if isinstance(raw.get("kind"), str) and raw["kind"] not in _KINDS:
        problems.append(f"{where}.kind: expected one of {', '.join(_KINDS)}, got {raw['kind']!r}")
    if isinstance(raw.get("key"), str) and not raw["key"]:
        problems.append(f"{where}.key: empty")
    for j, change in enumerate(raw.get("changes") or []):
        if not isinstance(change, dict) or set(change) != {"field", "before", "after"}:
            problems.append(f"{where}.changes[{j}]: expected an object with field, before, after")
        elif not isinstance(change["field"], str):
            problems.append(f"{where}.changes[{j}].field: expected str")
    return problems
