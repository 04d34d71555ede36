"""`asst-deploy apply`: make the target match the specs, or carry out a saved plan."""

from __future__ import annotations

import time
from pathlib import Path

import click

from asst_deploy import deploy, lease, render
from asst_deploy.apply import Options, apply_plan
from asst_deploy.cli.common import (
    confirm_or_abort,
    current_output,
    lock_timeout_option,
    project_options_for,
    refuse_if_refused,
)
from asst_deploy.errors import AsstDeployError
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import load_project


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
@click.option(
    "--only", "only", multiple=True, metavar="KEY", help="Limit to these keys (repeatable)."
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
) -> None:
    """Apply the specs in SOURCE (a project directory) or a plan saved with `plan --out`."""
    output = current_output()
    retry = output.retry_policy()
    saved = deploy.is_plan_file(source)
    if saved:
        given = [n for n, v in (("--env", env), ("--target", target), ("--prune", prune)) if v]
        if given or only:
            raise AsstDeployError(
                f"apply {source} takes no planning options ({', '.join(given or ['--only'])}): "
                "a saved plan is applied as it was made; make a new plan with "
                "`asst-deploy plan --out` to change them"
            )
        the_plan, root = deploy.read_plan(source)
        project = load_project(root, the_plan.environment, the_plan.target)
        reasons = deploy.mismatches(the_plan, project)
        if reasons:
            raise AsstDeployError(
                f"the saved plan {source} does not fit this project; nothing was changed:\n"
                + "\n".join(f"  {r}" for r in reasons)
            )
    else:
        project = load_project(source, env, target)
    finished = Finished()
    with (
        finished,
        connect(project.target, trace=output.trace()) as backend,
        lease.held(backend, project.name, retry=retry, timeout=lock_timeout) as held,
    ):
        if saved:
            remote = deploy.read_remote(backend, retry)
            reasons = deploy.saved_plan_problems(the_plan, project, remote)
            if the_plan.lease_generation != held.generation:
                reasons.insert(
                    0,
                    f"another apply landed since the plan was made (lease generation "
                    f"{the_plan.lease_generation}, now {held.generation})",
                )
            if reasons:
                raise AsstDeployError(
                    f"the saved plan {source} is stale; nothing was changed:\n"
                    + "\n".join(f"  {r}" for r in reasons)
                    + "\nMake a new plan with `asst-deploy plan --out`."
                )
        else:
            the_plan, remote = deploy.make_plan(
                project, backend, prune=prune, only=only, retry=retry
            )
        asks = not (saved or auto_approve)
        shown = asks or not output.quiet  # whoever is asked to confirm sees what they approve
        if shown:
            output.result(render.text(the_plan, output.styler()), nl=False)
        refuse_if_refused(the_plan)
        if the_plan.empty:
            if not shown:
                output.result("No changes.")
            return
        if asks:
            confirm_or_abort("Apply these changes?", auto_approve)
        started = time.monotonic()
        held.changed = True  # even a failed apply may have changed something
        apply_plan(
            the_plan,
            project.root,
            backend,
            remote,
            options=Options(parallelism=parallelism, retry=retry),
            progress=output.note,
            status=output.progress,
        )
        finished.done = True
    add, change, destroy = the_plan.counts()
    output.result(
        f"Apply complete: {add} added, {change} changed, {destroy} destroyed "
        f"in {time.monotonic() - started:.1f} s."
    )
