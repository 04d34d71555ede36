"""What a target holds, as read by listing every collection: plain records, no SDK types."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from asst_deploy import identity
from asst_deploy.types import Json, Ownership

FILE_KIND = "file"  # files are a kind too (kinds/file.py), kept in a field of their own


@dataclass(frozen=True)
class RemoteFile:
    """An uploaded file. `disowned`: its name carries a project's tags but not that
    project's proof of authorship (authorship.vet): it is nobody's."""

    id: str
    filename: str
    bytes: int
    purpose: str
    created_at: int = 0  # service time; 0 when the backend did not say
    disowned: bool = False

    @property
    def identity(self) -> identity.FileIdentity | None:
        return None if self.disowned else identity.parse_file_name(self.filename)

    @property
    def owner(self) -> Ownership:
        """(project, path, content sha) from the tagged name; Nones for a file not ours."""
        ident = self.identity
        return Ownership(ident.project, ident.path, ident.sha) if ident else Ownership()

    @property
    def protected(self) -> bool:
        return False  # a file's only tag is its name: protection is its users' (see compare)


@dataclass(frozen=True)
class RemoteObject:
    """An object of one kind (see asst_deploy/kinds) as the API returned it (`data`), plus,
    for vector stores, their vector_store.file objects. `tags`: its identity tags where
    they are not its metadata (an environment template's are in its name)."""

    kind: str
    id: str
    data: Mapping[str, Json]
    files: tuple[Mapping[str, Json], ...] = ()
    tags: Mapping[str, Json] | None = None

    @property
    def _tags(self) -> Any:
        return self.tags if self.tags is not None else self.data.get("metadata")

    @functools.cached_property
    def owner(self) -> Ownership:  # asked for many times a plan: read once
        return identity.owner(self._tags)

    @property
    def protected(self) -> bool:
        return identity.protected(self._tags)

    @property
    def created_at(self) -> int:
        return int(self.data.get("created_at") or 0)


@dataclass(frozen=True)
class RemoteState:
    """Every collection the target's API has, by kind; files apart (every API has them)."""

    objects: Mapping[str, tuple[RemoteObject, ...]] = field(default_factory=dict)
    files: tuple[RemoteFile, ...] = ()
    calls: Mapping[str, int] = field(default_factory=dict)  # list calls made, by collection
    # the engine's own objects: lease claims (lease.py) and deployment markers
    # (authorship.py), kept apart, so no plan ever sees them as resources
    leases: tuple[RemoteObject, ...] = ()
    # objects tagged as a project's without its proof of authorship, as they were listed:
    # in `objects` and `files` they are untagged, nobody's (authorship.vet)
    lookalikes: tuple[RemoteObject | RemoteFile, ...] = ()
    # model -> shutdown date, as the target's GET /models reports them (read on request)
    shutdowns: Mapping[str, str] = field(default_factory=dict)

    def of(self, kind: str) -> tuple[Any, ...]:
        """The live objects of `kind` (files too), in the order the API listed them."""
        if kind == FILE_KIND:
            return self.files
        return self.objects.get(kind, ())

    def all_objects(self) -> tuple[RemoteObject, ...]:
        """Every live object but files and lease markers."""
        return tuple(obj for objects in self.objects.values() for obj in objects)
