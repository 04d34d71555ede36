"""What a target holds, as read by listing every collection: plain records, no SDK types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from asst_deploy import identity
from asst_deploy.types import Json


@dataclass(frozen=True)
class RemoteFile:
    id: str
    filename: str
    bytes: int
    purpose: str

    @property
    def identity(self) -> identity.FileIdentity | None:
        return identity.parse_file_name(self.filename)


@dataclass(frozen=True)
class RemoteObject:
    """An assistant or vector store as the API returned it (`data`), plus, for vector
    stores, their vector_store.file objects."""

    kind: str  # "assistant" | "vector_store"
    id: str
    data: Mapping[str, Json]
    files: tuple[Mapping[str, Json], ...] = ()

    @property
    def owner(self) -> tuple[str | None, str | None, str | None]:
        return identity.owner(self.data.get("metadata"))

    @property
    def protected(self) -> bool:
        return identity.protected(self.data.get("metadata"))

    @property
    def created_at(self) -> int:
        return int(self.data.get("created_at") or 0)


@dataclass(frozen=True)
class RemoteState:
    assistants: tuple[RemoteObject, ...] = ()
    vector_stores: tuple[RemoteObject, ...] = ()
    files: tuple[RemoteFile, ...] = ()
    calls: Mapping[str, int] = field(default_factory=dict)  # list calls made, by collection
    # lease markers (see lease.py): kept apart, so no plan ever sees them as resources
    leases: tuple[RemoteObject, ...] = ()

    def names(self, project: str) -> dict[str, str]:
        """Remote id -> logical name ("path#sha" or key) for what `project` manages."""
        result: dict[str, str] = {}
        for f in self.files:
            ident = f.identity
            if ident and ident.project == project:
                result[f.id] = f"{ident.path}#{ident.sha}"
        for store in self.vector_stores:
            proj, key, _ = store.owner
            if proj == project and key:
                result[store.id] = key
        return result
