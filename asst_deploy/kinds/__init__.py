"""Resource kinds as plug-ins: the registry, in dependency order (creates go first to last)."""

from __future__ import annotations

from asst_deploy.kinds import (
    agent,
    assistant,
    automation,
    environment_template,
    file,
    skill,
    vault,
    vault_credential,
    vector_store,
)
from asst_deploy.kinds.base import Desired, Kind, with_protect
from asst_deploy.state import RemoteState

__all__ = [
    "ASSISTANT_FORM",
    "IMPORTABLE",
    "KINDS",
    "Desired",
    "Kind",
    "get",
    "names",
    "with_protect",
]

# A kind comes after every kind it references: its objects are made once theirs exist.
KINDS: dict[str, Kind] = {
    k.KIND.name: k.KIND
    for k in (
        file,
        vector_store,
        skill,
        vault,
        vault_credential,
        environment_template,
        assistant,
        agent,
        automation,
    )
}


# What apply stamps on an assistant made from a spec (replay's default fingerprint)
ASSISTANT_FORM = assistant.KIND.form
IMPORTABLE = tuple(name for name, kind in KINDS.items() if kind.importable)


def get(name: str) -> Kind:
    return KINDS[name]


def names(remote: RemoteState, project: str) -> dict[str, str]:
    """Remote id -> logical name ("path#sha", or what a kind's ref_name says) for what
    `project` manages and other objects may point at."""
    result: dict[str, str] = {}
    for f in remote.files:
        proj, path, sha = f.owner
        if proj == project and path and sha:
            result[f.id] = file.file_ref(path, sha)
    for obj in remote.all_objects():
        proj, key, _ = obj.owner
        name = KINDS[obj.kind].ref_name(key) if proj == project and key else None
        if name is not None:
            result[obj.id] = name
    return result
