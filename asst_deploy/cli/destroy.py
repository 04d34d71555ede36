"""`asst-deploy destroy`: delete everything the project manages on the target."""

from __future__ import annotations

import click

from asst_deploy import deploy, render
from asst_deploy.apply import apply_plan
from asst_deploy.cli.common import confirm_or_abort, log, project_options, styler
from asst_deploy.errors import AsstDeployError
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import load_project


@click.command()
@click.argument("directory", default=".", type=click.Path(exists=True))
@project_options
@click.option("--auto-approve", is_flag=True, help="Destroy without asking for confirmation.")
def destroy(directory: str, env: str | None, target: str | None, auto_approve: bool) -> None:
    """Delete every object the project in DIRECTORY manages on its target (objects of
    other projects, and objects without the project's marker, are never touched)."""
    project = load_project(directory, env, target)
    with connect(project.target) as backend:
        remote = deploy.read_remote(backend)
        the_plan = deploy.destroy_plan(project, remote)
        if the_plan.refused:
            raise AsstDeployError(
                "destroy refused; nothing was changed:\n"
                + "\n".join(f"  {r}" for r in the_plan.refused)
            )
        click.echo(render.text(the_plan, styler()), nl=False)
        if the_plan.empty:
            return
        confirm_or_abort(
            f"Destroy {len(the_plan.actions)} object(s) of project {project.name}?", auto_approve
        )
        apply_plan(the_plan, project.root, backend, remote, progress=log)
    click.echo(f"Destroy complete: {len(the_plan.actions)} destroyed.")
