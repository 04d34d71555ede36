"""`asst-deploy plan`: show what apply would change."""

from __future__ import annotations

from pathlib import Path

import click

from asst_deploy import deploy, render
from asst_deploy.cli.common import current_output, project_options, refuse_if_refused
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import load_project

EXIT_CHANGES = 2


@click.command()
@click.argument("directory", default=".", type=click.Path(exists=True))
@project_options
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan for `apply PLANFILE`.",
)
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
@click.option(
    "--markdown", "as_markdown", is_flag=True, help="Print a Markdown summary (for PR comments)."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 without changes, 2 with changes, 1 on error."
)
@click.option(
    "--prune", is_flag=True, help="Delete managed objects that are no longer in the specs."
)
@click.option(
    "--only",
    "only",
    multiple=True,
    metavar="KEY",
    help="Limit the plan to these keys (repeatable).",
)
def plan(
    directory: str,
    env: str | None,
    target: str | None,
    out: Path | None,
    as_json: bool,
    as_markdown: bool,
    detailed_exitcode: bool,
    prune: bool,
    only: tuple[str, ...],
) -> None:
    """Compare the specs in DIRECTORY with the target and show the changes."""
    if as_json and as_markdown:
        raise click.UsageError("choose one of --json and --markdown")
    output = current_output()
    project = load_project(directory, env, target)
    with connect(project.target, trace=output.trace()) as backend:
        the_plan, _ = deploy.make_plan(
            project, backend, prune=prune, only=only, retry=output.retry_policy()
        )
    if as_json:
        output.result(render.to_json(the_plan))
    elif as_markdown:
        output.result(render.markdown(the_plan), nl=False)
    else:
        output.result(render.text(the_plan, output.styler()), nl=False)
    refuse_if_refused(the_plan)
    if out is not None:
        deploy.save_plan(the_plan, project, out)
        output.note(
            f"Saved the plan to {out}; `asst-deploy apply {out}` applies exactly this plan."
        )
    if detailed_exitcode and not the_plan.empty:
        raise click.exceptions.Exit(EXIT_CHANGES)
