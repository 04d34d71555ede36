"""`asst-deploy destroy`: delete everything the project manages on the target."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from asst_deploy.cli.apply import failure_report, result_report
from asst_deploy.cli.common import (
    ActionProgress,
    confirm_or_abort,
    current_output,
    json_on_failure,
    lock_timeout_option,
    project_options_for,
)
from asst_deploy.engine import operations, render
from asst_deploy.engine.apply import step_count


@click.command()
@click.argument("directory", default=".", type=click.Path(exists=True))
@project_options_for("Environment whose objects to destroy (see asst-deploy.yaml).")
@click.option("--auto-approve", is_flag=True, help="Destroy without asking for confirmation.")
@lock_timeout_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print only a JSON report of what was done on stdout."
)
def destroy(
    directory: str,
    env: str | None,
    target: str | None,
    auto_approve: bool,
    lock_timeout: float,
    as_json: bool,
) -> None:
    """Delete every object the project in DIRECTORY manages on its target (objects of
    other projects, and objects without the project's marker, are never touched)."""
    results: list[dict[str, Any]] = []
    with json_on_failure(as_json, lambda exc: failure_report(exc, results)):
        _destroy(directory, env, target, auto_approve, lock_timeout, as_json, results)


def _destroy(
    directory: str,
    env: str | None,
    target: str | None,
    auto_approve: bool,
    lock_timeout: float,
    as_json: bool,
    results: list[dict[str, Any]],
) -> None:
    output = current_output()
    show = output.result if not as_json else output.note  # --json: stdout holds the report
    project = operations.load(directory, env, target)
    with operations.deployment(
        project,
        retry=output.retry_policy(),
        lock_timeout=lock_timeout,
        note=output.note,
        trace=output.trace(),
    ) as deployment:
        the_plan, remote = deployment.destroy_plan()
        if the_plan.empty:
            show(
                f"Nothing to destroy: project {project.name} manages no objects on "
                f"target '{project.target.name}'."
            )
            if as_json:
                output.result(json.dumps(result_report("destroy", the_plan, [], 0.0), indent=2))
            return
        if not (auto_approve and output.quiet):
            show(render.text(the_plan, output.styler()).rstrip("\n"))
        confirm_or_abort(
            f"Destroy {len(the_plan.actions)} object(s) of project {project.name}?",
            auto_approve,
            verb="destroy",
        )
        started = time.monotonic()
        with ActionProgress(output, step_count(the_plan)) as bar:
            deployment.apply(
                the_plan, remote, progress=bar.done, status=bar.status, results=results
            )
    show(f"Destroy complete: {len(the_plan.actions)} destroyed.")
    if as_json:
        seconds = time.monotonic() - started
        output.result(json.dumps(result_report("destroy", the_plan, results, seconds), indent=2))
