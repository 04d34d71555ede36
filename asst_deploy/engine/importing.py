"""Adopting an existing remote object into a project (`asst-deploy import`): checks and tagging."""

from __future__ import annotations

import re
from functools import partial

from asst_deploy import authorship, generations, identity, kinds, limits
from asst_deploy.backend import Backend
from asst_deploy.desired import Project
from asst_deploy.engine.export import tag_metadata
from asst_deploy.errors import AsstDeployError
from asst_deploy.spec.schema import KEY_PATTERN


def check_key(key: str, kind: str | None = None) -> None:
    """A key of `kind`: one spec key, or several joined by '/' (a vault credential's)."""
    parts = kinds.get(kind).key_parts if kind in kinds.KINDS else 1
    pieces = key.split("/")
    if len(pieces) != parts or not all(re.match(KEY_PATTERN, p) for p in pieces):
        shape = "/".join(["<key>"] * parts)
        raise AsstDeployError(
            f"invalid key {key!r}: a {kind or 'key'} key is {shape}, each 1-64 lower-case "
            "letters, digits, '_', '.' or '-'"
        )


def import_object(backend: Backend, project: Project, kind: str, remote_id: str, key: str) -> None:
    """Tag the `kind` object `remote_id` with `project`'s marker under `key`; refused (and
    nothing changed) when it does not exist, another project or this one already manages
    it, the key is taken, its kind refuses it, or its metadata has no room for the marker."""
    check_key(key, kind)
    held = [k.name for k in generations.kinds_of(project.target.api) if k.importable]
    if kind not in held:
        raise AsstDeployError(
            f"target '{project.target.name}' ({project.target.api} API) holds no {kind}s; "
            f"it holds: {', '.join(held)}"
        )
    state = authorship.vet(backend.read_state())
    objects = state.of(kind)
    obj = next((o for o in objects if o.id == remote_id), None)
    if obj is None:
        raise AsstDeployError(f"no {kind} {remote_id} on target '{project.target.name}'")
    resource = kinds.get(kind)
    never = resource.unmanageable(obj)
    if never is not None:
        raise AsstDeployError(f"{kind} {remote_id} cannot be imported: {never}")
    owner, owned_key, _ = obj.owner
    if owner is not None:
        whose = "this project" if owner == project.name else f"project '{owner}'"
        raise AsstDeployError(f"{kind} {remote_id} is already managed by {whose} as '{owned_key}'")
    taken = [o.id for o in objects if o.owner.of(project.name, key)]
    if taken:
        raise AsstDeployError(
            f"key '{key}' already names {kind} {taken[0]} in project '{project.name}'"
        )
    problem = resource.import_problem(obj, key, state, project.name)
    if problem is not None:
        raise AsstDeployError(f"{kind} {remote_id} cannot be imported as '{key}': {problem}")
    user = identity.user_metadata(dict(obj.data.get("metadata") or {}))
    room = limits.METADATA_PAIRS_MAX - len(identity.RESERVED_METADATA_KEYS)
    if len(user) > room:
        raise AsstDeployError(
            f"{kind} {remote_id} has {len(user)} metadata pairs; adopting it needs "
            f"{len(identity.RESERVED_METADATA_KEYS)} free of the API's {limits.METADATA_PAIRS_MAX}: "
            f"remove {len(user) - room} pair(s) first"
        )
    # with the project's proof of authorship once the target has its marker (without one,
    # the first apply writes it on every tagged object)
    marker = authorship.markers(state.leases).get(project.name)
    proof = authorship.proof(marker.nonce, kind, key, remote_id) if marker else None
    names = kinds.names(state, project.name)
    content = partial(backend.download_content, kind, remote_id)
    extra, form = resource.import_tags(obj, key, project, names, content)
    backend.set_metadata(kind, remote_id, tag_metadata(obj, project.name, key, extra, form, proof))


def has_spec(project: Project, key: str) -> bool:
    return key in {k for kind in kinds.KINDS.values() for k in kind.keys(project)}
