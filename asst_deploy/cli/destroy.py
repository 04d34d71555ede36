"""`asst-deploy destroy`: delete everything the project manages on the target."""

from __future__ import annotations

import click

from asst_deploy import deploy, lease, render
from asst_deploy.apply import Options, apply_plan
from asst_deploy.cli.common import (
    confirm_or_abort,
    current_output,
    lock_timeout_option,
    project_options_for,
)
from asst_deploy.errors import AsstDeployError
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import load_project


@click.command()
@click.argument("directory", default=".", type=click.Path(exists=True))
@project_options_for("Environment whose objects to destroy (see asst-deploy.yaml).")
@click.option("--auto-approve", is_flag=True, help="Destroy without asking for confirmation.")
@lock_timeout_option
def destroy(
    directory: str, env: str | None, target: str | None, auto_approve: bool, lock_timeout: float
) -> None:
    """Delete every object the project in DIRECTORY manages on its target (objects of
    other projects, and objects without the project's marker, are never touched)."""
    output = current_output()
    retry = output.retry_policy()
    project = load_project(directory, env, target)
    with (
        connect(project.target, trace=output.trace()) as backend,
        lease.held(backend, project.name, retry=retry, timeout=lock_timeout) as held,
    ):
        remote = deploy.read_remote(backend, retry)
        the_plan = deploy.destroy_plan(project, remote)
        if the_plan.refused:
            raise AsstDeployError(
                "destroy refused; nothing was changed:\n"
                + "\n".join(f"  {r}" for r in the_plan.refused)
            )
        if the_plan.empty:
            output.result(
                f"Nothing to destroy: project {project.name} manages no objects on "
                f"target '{project.target.name}'."
            )
            return
        if not (auto_approve and output.quiet):
            output.result(render.text(the_plan, output.styler()), nl=False)
        confirm_or_abort(
            f"Destroy {len(the_plan.actions)} object(s) of project {project.name}?",
            auto_approve,
            verb="destroy",
        )
        held.changed = True
        apply_plan(
            the_plan,
            project.root,
            backend,
            remote,
            options=Options(retry=retry),
            progress=output.note,
            status=output.progress,
        )
    output.result(f"Destroy complete: {len(the_plan.actions)} destroyed.")
