"""`asst-deploy export`: write spec files from remote objects."""

from __future__ import annotations

import re
from pathlib import Path

import click

from asst_deploy import authorship
from asst_deploy.backend import RemoteError
from asst_deploy.cli.common import current_output, project_dir_option, project_options_for
from asst_deploy.engine.export import export as run_export
from asst_deploy.engine.export import target_name as export_target_name
from asst_deploy.engine.export import write
from asst_deploy.engine.targets import connect
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations import API_GENERATIONS
from asst_deploy.spec.loader import load_project, load_unchecked
from asst_deploy.spec.schema import KEY_PATTERN


@click.command()
@click.argument("remote_ids", nargs=-1)
@click.option("--all", "export_all", is_flag=True, help="Export every object a spec deploys.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write.",
)
@project_dir_option("Project whose target to read.")
@click.option("--force", is_flag=True, help="Overwrite files that already exist in --out.")
@click.option(
    "--project",
    "as_project",
    metavar="NAME",
    help="Project name of the export (default: the source's name + '-export').",
)
@project_options_for("Environment whose target to read (see asst-deploy.yaml).")
def export(
    remote_ids: tuple[str, ...],
    export_all: bool,
    out: Path,
    directory: str,
    force: bool,
    as_project: str | None,
    env: str | None,
    target: str | None,
) -> None:
    """Write spec files for REMOTE_IDS (or --all) into --out. Objects the project does not
    manage get `adopt: {TARGET: <id>}`, so the next plan on that target only adds the
    ownership tags; on any other target (another API generation's) they are created.

    The export is a project of its own name (by default the source's + '-export'), so
    `plan --prune` in it can never delete the source project's objects; objects another
    project manages are skipped."""
    if export_all == bool(remote_ids):
        raise click.UsageError("name the objects to export, or pass --all (not both)")
    output = current_output()
    project = load_project(directory, env, target)
    name = as_project or f"{project.name}-export"[:64]
    if not re.match(KEY_PATTERN, name):
        raise click.BadParameter(
            f"{name!r}: use 1-64 lower-case letters, digits, '_', '.' or '-'",
            param_hint="--project",
        )
    with connect(project.target, trace=output.trace()) as backend:
        state = authorship.vet(backend.read_state())

        def download(file_id: str) -> bytes | None:
            try:
                return backend.download_file(file_id)
            except RemoteError:
                return None

        def content(kind: str, remote_id: str) -> bytes | None:
            try:
                return backend.download_content(kind, remote_id)
            except RemoteError:
                return None

        result = run_export(
            state,
            name,
            download,
            None if export_all else set(remote_ids),
            export_target_name(project.target),
            content,
        )
    write(result, out, name, project.target, force=force)
    for warning in result.warnings:
        output.warn(warning)
    for owner in sorted(set(result.skipped.values())):
        skipped = sorted(i for i, o in result.skipped.items() if o == owner)
        output.note(
            f"Skipped {len(skipped)} object(s) that project '{owner}' manages (their specs "
            f"are in that project): {', '.join(skipped)}"
        )
    if result.never and export_all:
        output.note(
            f"Not exported: {len(result.never)} object(s) no project may manage (an "
            f"automation an agent made): {', '.join(sorted(result.never))}"
        )
    if result.variables:
        output.note(
            "The API never shows a secret: the specs read each from a variable. Set "
            f"{', '.join(sorted(result.variables))} before plan or apply."
        )
    output.result(
        f"Exported {len(result.keys)} object(s) into {out} as project '{name}' "
        f"({len(result.files)} file(s))."
    )
    for line in carry_over(out, project.target.api):
        output.note(line)


def carry_over(out: Path, source_api: str) -> list[str]:
    """What of the exported assistants each other API generation cannot hold (validate
    would refuse it on such a target): the export deploys there once that is dealt with."""
    try:
        exported, _ = load_unchecked(out, None)
    except AsstDeployError:  # a file to supply, say: validate names it
        return [
            f"Once `asst-deploy validate {out}` passes, `asst-deploy validate {out} --matrix` "
            "shows which API generations can hold each exported assistant."
        ]
    lines = []
    for api_name, api in API_GENERATIONS.items():
        if api_name == source_api:
            continue
        refused = [
            f"{spec.key}: {', '.join(r.label for r in api.refusals(spec))}"
            for spec in exported.assistants
            if api.refusals(spec)
        ]
        if refused:
            lines.append(f"Does not carry over to api {api_name}: {'; '.join(refused)}")
        else:
            lines.append(f"Deploys unchanged to a target of api {api_name}.")
    return lines
