"""`asst-deploy import`: adopt an existing remote object by tagging it with the project's marker."""

from __future__ import annotations

import click

from asst_deploy.cli.common import current_output, project_dir_option, project_options_for
from asst_deploy.engine import operations
from asst_deploy.engine.importing import check_key, has_spec, import_object
from asst_deploy.engine.targets import connect
from asst_deploy.kinds import IMPORTABLE


@click.command(name="import")
@click.argument("kind", type=click.Choice(IMPORTABLE))
@click.argument("remote_id")
@click.option("--key", "key", required=True, help="The spec key the object will have.")
@project_dir_option("Project directory.")
@project_options_for("Environment whose target holds the object (see asst-deploy.yaml).")
def import_(
    kind: str, remote_id: str, key: str, directory: str, env: str | None, target: str | None
) -> None:
    """Adopt the KIND object REMOTE_ID as KEY: tag it with the project's ownership marker."""
    check_key(key, kind)
    output = current_output()
    project = operations.load(directory, env, target)
    with connect(project.target, trace=output.trace()) as backend:
        import_object(backend, project, kind, remote_id, key)
    output.result(f"Imported {kind} {remote_id} as '{key}' into project '{project.name}'.")
    if not has_spec(project, key):
        output.note(
            f"No spec has the key '{key}' yet: until one does, plan lists it as kept and "
            f"`--prune` would delete it. `asst-deploy export {remote_id} --out DIR --project "
            f"{project.name}` writes its spec."
        )
