"""`asst-deploy destroy`: delete everything the project manages on the target."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from asst_deploy.adapters.targets import connect
from asst_deploy.cli.apply import failure_report, result_report
from asst_deploy.cli.common import (
    ActionProgress,
    confirm_or_abort,
    current_output,
    json_on_failure,
    lock_timeout_option,
    project_options_for,
    with_target_retries,
)
from asst_deploy.engine import lease, operations, render
from asst_deploy.engine.apply import Options, apply_plan, step_count
from asst_deploy.errors import AsstDeployError


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
    retry = with_target_retries(output.retry_policy(), project.target)
    with (
        connect(project.target, trace=output.trace()) as backend,
        lease.held(
            backend, project.name, retry=retry, timeout=lock_timeout, note=output.note
        ) as held,
    ):
        remote = operations.read_remote(backend, retry)
        the_plan = operations.destroy_plan(project, remote)
        if the_plan.refused:
            raise AsstDeployError(
                "destroy refused; nothing was changed:\n"
                + "\n".join(f"  {r}" for r in the_plan.refused)
            )
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
        held.changed = True
        started = time.monotonic()
        with ActionProgress(output, step_count(the_plan)) as bar:
            apply_plan(
                the_plan,
                project.root,
                held.guard(backend),  # stops before a write once the lock is lost
                remote,
                options=Options(retry=retry),
                progress=bar.done,
                status=bar.status,
                results=results,
            )
    show(f"Destroy complete: {len(the_plan.actions)} destroyed.")
    if as_json:
        seconds = time.monotonic() - started
        output.result(json.dumps(result_report("destroy", the_plan, results, seconds), indent=2))
