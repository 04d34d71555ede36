"""`asst-deploy import`: adopt an existing remote object by tagging it with the project's marker."""

from __future__ import annotations

import re

import click

from asst_deploy import identity, limits
from asst_deploy.cli.common import current_output, project_dir_option, project_options_for
from asst_deploy.errors import AsstDeployError
from asst_deploy.export import tag_metadata
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import load_project
from asst_deploy.spec.schema import KEY_PATTERN


@click.command(name="import")
@click.argument("kind", type=click.Choice(["assistant", "vector_store"]))
@click.argument("remote_id")
@click.option("--key", "key", required=True, help="The spec key the object will have.")
@project_dir_option("Project directory.")
@project_options_for("Environment whose target holds the object (see asst-deploy.yaml).")
def import_(
    kind: str, remote_id: str, key: str, directory: str, env: str | None, target: str | None
) -> None:
    """Adopt the KIND object REMOTE_ID as KEY: tag it with the project's ownership marker."""
    if not re.match(KEY_PATTERN, key):
        raise AsstDeployError(
            f"invalid key {key!r}: use 1-64 lower-case letters, digits, '_', '.' or '-'"
        )
    output = current_output()
    project = load_project(directory, env, target)
    with connect(project.target, trace=output.trace()) as backend:
        state = backend.read_state()
        objects = state.assistants if kind == "assistant" else state.vector_stores
        obj = next((o for o in objects if o.id == remote_id), None)
        if obj is None:
            raise AsstDeployError(f"no {kind} {remote_id} on target '{project.target.name}'")
        owner, owned_key, _ = obj.owner
        if owner is not None:
            whose = "this project" if owner == project.name else f"project '{owner}'"
            raise AsstDeployError(
                f"{kind} {remote_id} is already managed by {whose} as '{owned_key}'"
            )
        taken = [o.id for o in objects if o.owner[:2] == (project.name, key)]
        if taken:
            raise AsstDeployError(
                f"key '{key}' already names {kind} {taken[0]} in project '{project.name}'"
            )
        user = identity.user_metadata(dict(obj.data.get("metadata") or {}))
        room = limits.METADATA_PAIRS_MAX - len(identity.RESERVED_METADATA_KEYS)
        if len(user) > room:
            raise AsstDeployError(
                f"{kind} {remote_id} has {len(user)} metadata pairs; adopting it needs "
                f"{len(identity.RESERVED_METADATA_KEYS)} free of the API's {limits.METADATA_PAIRS_MAX}: "
                f"remove {len(user) - room} pair(s) first"
            )
        backend.set_metadata(
            kind, remote_id, tag_metadata(obj, project.name, key, state.names(project.name))
        )
    output.result(f"Imported {kind} {remote_id} as '{key}' into project '{project.name}'.")
    keys = {a.key for a in project.assistants} | {s.key for s in project.vector_stores}
    if key not in keys:
        output.note(
            f"No spec has the key '{key}' yet: until one does, plan lists it as kept and "
            f"`--prune` would delete it. `asst-deploy export {remote_id} --out DIR` writes a spec."
        )
