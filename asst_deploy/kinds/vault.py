"""Agents API vaults (`kind: vault`): a name and metadata, which carries the identity tags.

A vault's credentials are a kind of their own (vault_credential.py), each an object with
its own metadata: its identity, its stamp and its secrets' digests ride there, so a
rotation, an added or a removed credential is one action on that credential alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from asst_deploy import identity
from asst_deploy.kinds.base import Desired, Kind, Writer, with_protect
from asst_deploy.state import RemoteObject
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.desired import Project
    from asst_deploy.kinds.ports import Exporting

# how other objects' canonical forms name a vault (its credentials, sessions, environments)
REF_PREFIX = "vault:"


def form(name: Json, metadata: Mapping[str, Json] | None) -> dict[str, Json]:
    """The API trims a vault's name; an empty one is none."""
    trimmed = name.strip() if isinstance(name, str) else None
    return {"name": trimmed or None, "metadata": identity.user_metadata(dict(metadata or {}))}


def key_of(name: str) -> str:
    """The vault key in a logical name made by ref_name ("id:..." stays as it is)."""
    return name.removeprefix(REF_PREFIX)


class VaultKind(Kind):
    name = "vault"
    exports = True
    spec_kind = "vault"

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        return [
            Desired(
                self.name,
                v.key,
                with_protect(form(v.name, v.metadata), v.protect),
                v.protect,
                v.adopt,
            )
            for v in project.vaults
        ]

    def keys(self, project: Project) -> dict[str, bool]:
        return {v.key: v.protect for v in project.vaults}

    def canonical(self, obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
        return form(obj.data.get("name"), obj.data.get("metadata"))

    def ref_name(self, key: str) -> str:
        return REF_PREFIX + key

    def export(self, ex: Exporting, obj: RemoteObject) -> None:
        """With its credentials (vault_credential.py writes each)."""
        key = ex.result.keys[obj.id]
        doc = ex.header(self.name, key, obj)
        found = self.canonical(obj, {})
        if found["name"] is not None:
            doc["name"] = found["name"]
        if found["metadata"]:
            doc["metadata"] = found["metadata"]
        credentials = ex.parts(obj, key)
        if credentials:
            doc["credentials"] = list(credentials)
        ex.spec("vaults", key, doc)

    def payload(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        payload: dict[str, Json] = {"metadata": run.metadata(self.name, key, after, remote_id)}
        if after["name"] is not None or remote_id is not None:  # null clears it on update
            payload["name"] = after["name"]
        return payload


KIND = VaultKind()
