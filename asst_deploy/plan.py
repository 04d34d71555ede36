"""A plan: typed actions carrying before and after, serialisable and re-appliable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

from asst_deploy.types import Json, Mode

FORMAT_VERSION = 1


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
    # what a saved plan's action must hold (and hold non-null): planfile checks it
    required: ClassVar[tuple[str, ...]] = ("kind", "key", "remote_id")

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
    required: ClassVar[tuple[str, ...]] = ("kind", "key", "after")  # its id comes with it
    after: Json = None


@dataclass(frozen=True)
class Update(Action):
    """An in-place change. `drift`: the live object was edited outside asst-deploy since
    the last apply (its canonical hash no longer matches the stamp in its metadata)."""

    symbol: ClassVar[str] = "~"
    verb: ClassVar[str] = "update"
    required: ClassVar[tuple[str, ...]] = ("kind", "key", "remote_id", "after")
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
    required: ClassVar[tuple[str, ...]] = ("kind", "key", "remote_id", "after")
    before: Json = None
    after: Json = None
    changes: tuple[FieldChange, ...] = ()
    reason: str = ""
    drift: bool = False


@dataclass(frozen=True)
class Delete(Action):
    symbol: ClassVar[str] = "-"
    verb: ClassVar[str] = "delete"
    before: Json | None = None  # a file's: it has no canonical form


@dataclass(frozen=True)
class Keep:
    """A managed object the plan does not delete: no longer in the specs and no --prune, a
    duplicate without --prune, or one that objects outside the plan still use."""

    kind: str
    key: str
    remote_id: str
    reason: str = ""  # why it stays when --prune (or destroy) would not be enough


@dataclass(frozen=True)
class Lookalike:
    """An object whose tags name this project and a key, without the project's proof of
    authorship (authorship.py): someone else made or edited it. Never changed or deleted."""

    kind: str
    key: str
    remote_id: str


@dataclass(frozen=True)
class NextRun:
    """When a scheduled object the specs want (an automation) runs next, as of the plan:
    shown with it, never applied. Paused, it is when it would run once resumed."""

    kind: str
    key: str
    type: str  # periodic | once
    at: int | None  # Unix seconds; None: the expression never occurs
    timezone: str  # the zone its time is shown in (a one-time run's: UTC)
    paused: bool = False
    expression: str | None = None  # periodic: the cron expression


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
    mode: Mode = Mode.NORMAL  # how the plan was made, for a fresh re-plan
    replace: tuple[str, ...] = ()  # keys forced to delete-and-recreate (--replace)
    lookalikes: tuple[Lookalike, ...] = ()  # reported only: never part of an action

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
            # a reason only where there is one: a plain kept object is three fields
            "kept": [{k: v for k, v in asdict(keep).items() if v != ""} for keep in self.kept],
            "refused": list(self.refused),
            "files": dict(self.files),
            "endpoint": self.endpoint,
            "api": self.api,
            "lease_generation": self.lease_generation,
            "prune": self.prune,
            "only": list(self.only),
            "mode": str(self.mode),
            "replace": list(self.replace),
            "lookalikes": [asdict(x) for x in self.lookalikes],
        }
