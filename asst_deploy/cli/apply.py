"""`asst-deploy apply`: make the target match the specs, or carry out a saved plan."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from asst_deploy.cli.common import (
    ActionProgress,
    confirm_or_abort,
    current_output,
    json_on_failure,
    lock_timeout_option,
    planning_of,
    project_options_for,
    refresh_only_option,
    refuse_if_refused,
    replace_option,
    resource_option,
)
from asst_deploy.engine import operations, render
from asst_deploy.engine.apply import ApplyError, step_count
from asst_deploy.plan import FORMAT_VERSION, Plan


class Finished:
    """Swallows a Ctrl-C that comes once the changes are made (while the connection and
    the sandbox close): the work is done, so the command reports it and exits 0, not 130."""

    done = False

    def __enter__(self) -> Finished:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> bool:
        return self.done and exc_type is not None and issubclass(exc_type, KeyboardInterrupt)


@click.command()
@click.argument("source", default=".", type=click.Path(exists=True, path_type=Path))
@project_options_for("Environment to apply (see asst-deploy.yaml).")
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--prune", is_flag=True, help="Delete managed objects that are no longer in the specs."
)
@resource_option("Limit to this resource: a spec key or file path (repeatable).")
@replace_option
@refresh_only_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print only a JSON report of what was done on stdout."
)
@click.option(
    "--parallelism",
    default=4,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Concurrent API calls.",
)
@lock_timeout_option
def apply(
    source: Path,
    env: str | None,
    target: str | None,
    auto_approve: bool,
    prune: bool,
    only: tuple[str, ...],
    parallelism: int,
    lock_timeout: float,
    replace: tuple[str, ...],
    refresh_only: bool,
    as_json: bool,
) -> None:
    """Apply the specs in SOURCE (a project directory) or a plan saved with `plan --out`."""
    results: list[dict[str, Any]] = []
    with json_on_failure(as_json, lambda exc: failure_report(exc, results)):
        _apply(
            source,
            env,
            target,
            auto_approve,
            prune,
            only,
            parallelism,
            lock_timeout,
            replace,
            refresh_only,
            as_json,
            results,
        )


def failure_report(exc: Exception, results: list[dict[str, Any]]) -> dict[str, Any]:
    """`apply --json` / `destroy --json` on failure: plan --json's error object, with
    what was done before the failure and each failed action."""
    from asst_deploy.cli.plan import error_report

    report: dict[str, Any] = error_report(exc)
    if isinstance(exc, ApplyError):
        report["error"]["failures"] = list(exc.failures)
    report["done"] = results
    return report


def result_report(
    command: str, plan: Plan, results: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    """`apply --json` / `destroy --json` on success: what was done, per action and in all."""
    add, change, destroy = plan.counts()
    return {
        "format_version": FORMAT_VERSION,
        "command": command,
        "project": plan.project,
        "environment": plan.environment,
        "target": plan.target,
        "mode": plan.mode,
        "summary": {"add": add, "change": change, "destroy": destroy},
        "done": results,
        "seconds": round(seconds, 3),
    }


def _apply(
    source: Path,
    env: str | None,
    target: str | None,
    auto_approve: bool,
    prune: bool,
    only: tuple[str, ...],
    parallelism: int,
    lock_timeout: float,
    replace: tuple[str, ...],
    refresh_only: bool,
    as_json: bool,
    results: list[dict[str, Any]],
) -> None:
    output = current_output()
    planning = planning_of(refresh_only=refresh_only, prune=prune, only=only, replace=replace)
    prepared = operations.prepare_apply(source, env, target, planning)
    # with --json stdout holds the report alone: the plan and the summary go to stderr
    show = output.result if not as_json else output.note
    finished = Finished()
    with (
        finished,
        operations.deployment(
            prepared.project,
            retry=output.retry_policy(),
            lock_timeout=lock_timeout,
            note=output.note,
            trace=output.trace(),
            models=prepared.deploys,
        ) as deployment,
    ):
        the_plan, remote = deployment.plan(prepared)
        asks = not (prepared.saved or auto_approve)
        shown = asks or not output.quiet  # whoever is asked to confirm sees what they approve
        if shown:
            show(render.text(the_plan, output.styler()).rstrip("\n"))
        refuse_if_refused(the_plan)
        if the_plan.empty:
            if not shown:
                show("No changes.")
            if as_json:
                output.result(json.dumps(result_report("apply", the_plan, [], 0.0), indent=2))
            return
        if asks:
            confirm_or_abort("Apply these changes?", auto_approve)
        started = time.monotonic()
        with ActionProgress(output, step_count(the_plan)) as bar:
            deployment.apply(
                the_plan,
                remote,
                parallelism=parallelism,
                progress=bar.done,
                status=bar.status,
                results=results,
            )
        finished.done = True
    add, change, destroy = the_plan.counts()
    seconds = time.monotonic() - started
    show(f"Apply complete: {add} added, {change} changed, {destroy} destroyed in {seconds:.1f} s.")
    if as_json:
        output.result(json.dumps(result_report("apply", the_plan, results, seconds), indent=2))
