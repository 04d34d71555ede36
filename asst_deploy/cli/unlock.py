"""`asst-deploy force-unlock`: release the target's lock left by an apply that died."""

from __future__ import annotations

import click

from asst_deploy import lease
from asst_deploy.cli.common import confirm_or_abort, current_output, project_options
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import load_project


@click.command("force-unlock")
@click.argument("lock_id")
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(exists=True),
    help="The project directory.",
)
@project_options
@click.option("--auto-approve", is_flag=True, help="Unlock without asking for confirmation.")
def force_unlock(
    lock_id: str, directory: str, env: str | None, target: str | None, auto_approve: bool
) -> None:
    """Release the lock LOCK_ID (named by the refusal of apply or destroy) whoever holds
    it. Only for a lock whose apply is dead: two applies at once may duplicate objects."""
    output = current_output()
    project = load_project(directory, env, target)
    confirm_or_abort(f"Release lock {lock_id} of project {project.name}?", auto_approve)
    with connect(project.target, trace=output.trace()) as backend:
        claim = lease.force_unlock(backend, project.name, lock_id, output.retry_policy())
    output.result(f"Released lock {lock_id} (was held by {claim.holder or 'nobody'}).")
