"""`asst-deploy force-unlock`: release the target's lock left by an apply that died."""

from __future__ import annotations

import click

from asst_deploy.cli.common import confirm_or_abort, current_output, project_options
from asst_deploy.engine import lease
from asst_deploy.engine.targets import connect
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
@click.option(
    "--force",
    is_flag=True,
    help="Release it even though it was renewed within the last renewal period.",
)
def force_unlock(
    lock_id: str,
    directory: str,
    env: str | None,
    target: str | None,
    auto_approve: bool,
    force: bool,
) -> None:
    """Release the lock LOCK_ID (named by the refusal of apply or destroy) whoever holds
    it. Meant for a lock whose apply is dead: a lock renewed within the last renewal
    period is refused unless --force. Its holder, if it still runs, stops before its next
    write, and other applies wait until it must have stopped."""
    output = current_output()
    project = load_project(directory, env, target)
    confirm_or_abort(f"Release lock {lock_id} of project {project.name}?", auto_approve)
    with connect(project.target, trace=output.trace()) as backend:
        done = lease.force_unlock(
            backend, project.name, lock_id, output.retry_policy(), force=force
        )
    holder = done.claim.holder or "nobody"
    output.result(f"Released lock {lock_id} (was held by {holder}).")
    if done.wait > 0:
        output.result(
            f"Its holder was renewing it {done.age:.0f} s ago and stops before its next "
            f"write; other applies wait {done.wait:.0f} s more for that."
        )
