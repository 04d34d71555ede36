"""What a kind and the engine's steps (compare, apply, export) exchange, as the kind sees it.

Kinds are below the engine: they name these protocols, never the engine's classes, so
the package graph stays a DAG (asst_deploy.engine.compare.Comparer, asst_deploy.engine.apply.Options
and asst_deploy.engine.export.Exporter are what implements them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from asst_deploy.plan import Action, FieldChange
from asst_deploy.state import RemoteFile, RemoteObject, RemoteState
from asst_deploy.types import Json


@dataclass(frozen=True)
class Desired:
    """One managed object as the specs want it, in canonical form."""

    kind: str
    key: str
    canonical: Json
    protect: bool = False
    adopt: str | None = None


class Comparing(Protocol):
    """The compare step, while a kind turns what it wants and what exists into actions."""

    project: str
    remote: RemoteState
    names: dict[str, str]  # remote id -> logical name, of what the project has or adopts
    actions: list[Action]
    referenced: set[str]  # remote ids some live object points at
    refused: list[str]  # what the plan refuses to do, and why (apply refuses the plan)

    def objects(
        self, kind: str, wanted: Iterable[Desired], remote: Iterable[RemoteObject]
    ) -> None: ...

    def gone(
        self,
        kind: str,
        key: str,
        remote_id: str,
        before: Json,
        fingerprint: str | None,
        protected: bool = False,
    ) -> None: ...

    def duplicate(
        self, kind: str, key: str, obj: RemoteFile | RemoteObject, wanted: Json = None
    ) -> None: ...

    def field_changes(
        self, before: Mapping[str, Json], after: Mapping[str, Json]
    ) -> tuple[FieldChange, ...]: ...


class ApplyOptions(Protocol):
    """How apply runs, as far as a kind's own waits go."""

    @property
    def ingestion_timeout(self) -> float: ...

    @property
    def poll_interval(self) -> float: ...

    @property
    def sleep(self) -> Callable[[float], None]: ...


class ExportResult(Protocol):
    files: dict[str, str | bytes]
    warnings: list[str]
    keys: dict[str, str]  # remote id -> spec key


class Exporting(Protocol):
    """The export step, while a kind writes the spec of one live object."""

    state: RemoteState
    project: str

    @property
    def names(self) -> Mapping[str, str]:
        """Remote id -> logical name, of what this export writes."""
        ...

    @property
    def result(self) -> ExportResult: ...

    def header(self, kind: str, key: str, obj: RemoteObject) -> dict[str, Json]: ...

    def instructions(self, key: str, instructions: str | None) -> Json: ...

    def function(self, function: Mapping[str, Json]) -> dict[str, Json]: ...

    def local_file(self, file_id: str, folder: str, at: str | None = None) -> str:
        """Download a file into the export (at project path `at`, else its own path or
        one in `folder`); its project path."""
        ...

    def spec(self, folder: str, key: str, doc: Mapping[str, Json]) -> None: ...

    def store_key(self, store_id: str, assistant_key: str) -> str: ...

    def key_of(self, name: Json, prefix: str, user: str) -> str | None:
        """The spec key in logical name `name` of prefix `prefix` (as a form names what
        another object points at); None, warned of, when it names no exported object."""
        ...

    def parts(self, obj: RemoteObject, key: str) -> list[dict[str, Json]]:
        """The entries of the objects a spec of key `key` holds besides `obj` itself (a
        vault's credentials), sorted."""
        ...

    def content(self, kind: str, remote_id: str) -> bytes | None:
        """What an object holds beyond its JSON (a skill's files, zipped); None when the
        target does not serve it."""
        ...

    def secret(self, variable: str) -> dict[str, Json]:
        """`{from_env: variable}`, the variable listed for the user to set."""
        ...
