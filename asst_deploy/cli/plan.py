"""`asst-deploy plan`: show what apply would change."""

from __future__ import annotations

from pathlib import Path

import click

from asst_deploy import generations, schedule
from asst_deploy.cli.common import (
    current_output,
    json_on_failure,
    planning_of,
    project_options_for,
    refresh_only_option,
    refuse_if_refused,
    replace_option,
    resource_option,
)
from asst_deploy.engine import operations, render
from asst_deploy.errors import AsstDeployError, SpecError
from asst_deploy.plan import FORMAT_VERSION

EXIT_CHANGES = 2


@click.command()
@click.argument("directory", default=".", type=click.Path(exists=True))
@project_options_for("Environment to plan (see asst-deploy.yaml).")
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
@resource_option("Limit the plan to this resource: a spec key or file path (repeatable).")
@replace_option
@refresh_only_option
@click.option(
    "--destroy",
    "destroy",
    is_flag=True,
    help="Plan deleting everything the project manages (save it with --out to review).",
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
    replace: tuple[str, ...],
    refresh_only: bool,
    destroy: bool,
) -> None:
    """Compare the specs in DIRECTORY with the target and show the changes."""
    with json_on_failure(as_json, error_report):
        if as_json and as_markdown:
            raise click.UsageError("choose one of --json and --markdown")
        planning = planning_of(
            destroy=destroy, refresh_only=refresh_only, prune=prune, only=only, replace=replace
        )
        _plan(
            directory,
            env,
            target,
            out,
            as_json,
            as_markdown,
            detailed_exitcode,
            planning,
        )


def error_report(exc: Exception) -> dict[str, object]:
    """The JSON `plan --json` prints when it fails (the exit status is 1, or 3 for a bug)."""
    expected = isinstance(exc, AsstDeployError | click.ClickException)
    error: dict[str, object] = {
        "message": (
            exc.format_message()
            if isinstance(exc, click.ClickException)
            else exc.summary  # the problems follow, each in full
            if isinstance(exc, SpecError)
            else str(exc)
            if expected
            else f"{type(exc).__name__}: {exc}"
        ),
        "unexpected": not expected,
    }
    if isinstance(exc, SpecError):
        error["problems"] = [p.to_json() for p in exc.problems]
    return {"format_version": FORMAT_VERSION, "error": error}


def _plan(
    directory: str,
    env: str | None,
    target: str | None,
    out: Path | None,
    as_json: bool,
    as_markdown: bool,
    detailed_exitcode: bool,
    planning: operations.Planning,
) -> None:
    output = current_output()
    if out is not None and not out.parent.is_dir():
        raise AsstDeployError(
            f"cannot save the plan to {out}: the folder {out.parent} does not exist; "
            f"create it first (mkdir -p {out.parent}) or choose another --out"
        )
    project, the_plan = operations.plan_project(
        directory, env, target, planning, retry=output.retry_policy(), trace=output.trace()
    )
    runs = generations.next_runs(project, schedule.now())
    if as_json:
        output.result(render.to_json(the_plan, runs))
    elif as_markdown:
        output.result(render.markdown(the_plan, runs), nl=False)
    else:
        output.result(render.text(the_plan, output.styler()), nl=False)
        for note in [*generations.plan_notes(project), *render.next_run_lines(runs)]:
            output.note(note)
    refuse_if_refused(the_plan)
    if out is not None:
        try:
            operations.save_plan(the_plan, project, out)
        except OSError as exc:
            raise AsstDeployError(
                f"cannot save the plan to {out}: {exc.strerror or exc}; choose another --out"
            ) from None
        output.note(
            f"Saved the plan to {out}; `asst-deploy apply {out}` applies exactly this plan."
        )
    if detailed_exitcode and not the_plan.empty:
        raise click.exceptions.Exit(EXIT_CHANGES)
