"""Proof of authorship: which of the objects tagged as a project's that project made.

Identity tags (identity.py) say which project and key an object is, but anyone can write
them: a clone of an agent keeps its metadata, a file can be uploaded under any name, a
template can be named like one of ours. Prune, destroy and every adopt or drift decision
must never act on such a look-alike. So each target keeps, per project, a deployment
marker holding a random nonce (a vector store, listed apart like the lease's claims), and
every object the project writes carries a proof: 16 hex of sha256(nonce, kind, key, id).

The proof names the object's own id, so tags copied onto another object (or a clone)
carry no valid proof. An id is known only once the object exists: a create sends the
provisional proof (id "") and, once answered, writes the final one. A file cannot be
renamed: its proof is the provisional one for good.

Trusted as the project's (`trusted`):
- every object its tags name while the target has no marker of the project (as before
  this scheme: the first apply makes the marker);
- an object carrying a valid proof (final or provisional);
- while the marker is not sealed, every object its tags name: an apply that carried out
  all of its plan writes the proof on each one that lacks it, then seals the marker;
- a file uploaded before the marker was made (its name cannot be given a proof).
Any other object its tags name is a look-alike: `vet` untags it (nobody's: never changed
or deleted) and lists it in `RemoteState.lookalikes`, for the plan to report.

The nonce is no secret: whoever can read the target can read it and forge a proof. It
rules out accidents and copies, not a deliberate mimic.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from asst_deploy import identity
from asst_deploy.state import FILE_KIND, RemoteFile, RemoteObject, RemoteState

MARKER_KIND = "vector_store"  # held by every API generation, with metadata, like the lease
PROJECT_KEY = "asst_deploy.deployment"  # the project a marker is of (not PROJECT_KEY: see
NONCE_KEY = "asst_deploy.nonce"  # identity.LEASE_KEY, the lock never reads it as a claim)
SEALED_KEY = "asst_deploy.sealed"  # "1" once every object of the project carries a proof


@dataclass(frozen=True)
class Marker:
    """A project's deployment marker on a target."""

    id: str
    project: str
    nonce: str
    sealed: bool
    created_at: int  # service time: files uploaded before it are trusted by their name


def new_nonce() -> str:
    return secrets.token_hex(16)


def marker_metadata(project: str, nonce: str, *, sealed: bool = False) -> dict[str, str]:
    metadata = {
        identity.LEASE_KEY: identity.MARKER_VALUE,
        PROJECT_KEY: project,
        NONCE_KEY: nonce,
    }
    if sealed:
        metadata[SEALED_KEY] = "1"
    return metadata


def marker_payload(project: str, nonce: str) -> dict[str, Any]:
    return {
        "name": f"asst-deploy deployment ({project})",
        "metadata": marker_metadata(project, nonce),
    }


def parse_marker(obj: RemoteObject | Any) -> Marker | None:
    metadata = obj.data.get("metadata") or {}
    if metadata.get(identity.LEASE_KEY) != identity.MARKER_VALUE:
        return None
    project, nonce = metadata.get(PROJECT_KEY), metadata.get(NONCE_KEY)
    if not (isinstance(project, str) and isinstance(nonce, str) and project and nonce):
        return None
    try:
        created = int(obj.data.get("created_at") or 0)
    except (TypeError, ValueError):
        created = 0
    return Marker(obj.id, project, nonce, metadata.get(SEALED_KEY) == "1", created)


def markers(objects: Iterable[RemoteObject | Any]) -> dict[str, Marker]:
    """Project -> its marker: the oldest, should there ever be two (every reader agrees)."""
    found: dict[str, Marker] = {}
    parsed = (m for m in (parse_marker(o) for o in objects) if m is not None)
    for marker in sorted(parsed, key=lambda m: (m.created_at, m.id)):
        found.setdefault(marker.project, marker)
    return found


def proof(nonce: str, kind: str, key: str, remote_id: str = "") -> str:
    """The proof an object of `kind` and `key` with id `remote_id` carries ("" before the
    object exists, and for files)."""
    text = "\0".join((nonce, kind, key, remote_id))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def carried(obj: RemoteObject | RemoteFile) -> str | None:
    """The proof an object carries, as listed."""
    if isinstance(obj, RemoteFile):
        ident = identity.parse_file_name(obj.filename)
        return ident.proof if ident else None
    return identity.proof_of(obj.tags if obj.tags is not None else obj.data.get("metadata"))


def kind_of(obj: RemoteObject | RemoteFile) -> str:
    return FILE_KIND if isinstance(obj, RemoteFile) else obj.kind


def proven(obj: RemoteObject | RemoteFile, nonce: str) -> bool:
    """Whether `obj` carries a valid proof (final or provisional) made with `nonce`."""
    _, key, _ = obj.owner
    if key is None:
        return False
    kind = kind_of(obj)
    valid = {proof(nonce, kind, key)}
    if not isinstance(obj, RemoteFile):
        valid.add(proof(nonce, kind, key, obj.id))
    return carried(obj) in valid


def final(obj: RemoteObject, nonce: str) -> bool:
    """Whether `obj` carries its final proof (for a file: the only one it can carry)."""
    _, key, _ = obj.owner
    return key is not None and carried(obj) == proof(nonce, obj.kind, key, obj.id)


def trusted(obj: RemoteObject | RemoteFile, found: Mapping[str, Marker]) -> bool:
    """Whether the project `obj`'s tags name made it, as far as the target can tell."""
    project, key, _ = obj.owner
    if project is None or key is None:
        return True  # claims no project: nothing to vet
    marker = found.get(project)
    if marker is None or proven(obj, marker.nonce):
        return True
    if isinstance(obj, RemoteFile):  # (0: the backend did not say when: as before)
        return obj.created_at < marker.created_at
    return not marker.sealed


def vet(remote: RemoteState) -> RemoteState:
    """`remote` with every look-alike untagged (nobody's) and listed in `lookalikes`.
    Vetting a vetted state changes nothing."""
    found = markers(remote.leases)
    if not found:
        return remote
    lookalikes: list[RemoteObject | RemoteFile] = []
    objects: dict[str, tuple[RemoteObject, ...]] = {}
    for kind, listed in remote.objects.items():
        kept: list[RemoteObject] = []
        for obj in listed:
            if not trusted(obj, found):
                lookalikes.append(obj)
                obj = dataclasses.replace(obj, tags={})
            kept.append(obj)
        objects[kind] = tuple(kept)
    files: list[RemoteFile] = []
    for f in remote.files:
        if not trusted(f, found):
            lookalikes.append(f)
            f = dataclasses.replace(f, disowned=True)
        files.append(f)
    if not lookalikes:
        return remote
    return dataclasses.replace(
        remote,
        objects=objects,
        files=tuple(files),
        lookalikes=(*remote.lookalikes, *lookalikes),
    )


def unproven(remote: RemoteState, project: str, nonce: str) -> list[RemoteObject]:
    """The project's objects (files aside: they cannot be renamed) not carrying their final
    proof: made before the marker, or by a create whose final proof was never written."""
    return [
        obj
        for obj in remote.all_objects()
        if obj.owner.project == project and obj.owner.key and not final(obj, nonce)
    ]


def lookalikes_of(remote: RemoteState, project: str) -> list[RemoteObject | RemoteFile]:
    """The look-alikes whose tags name `project`, as listed (tags and all)."""
    return [o for o in remote.lookalikes if o.owner.project == project]
