"""`asst-deploy export`: write spec files from remote objects."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click

from asst_deploy.cli.common import current_output, project_dir_option, project_options_for
from asst_deploy.errors import AsstDeployError
from asst_deploy.export import export as run_export
from asst_deploy.export import project_file
from asst_deploy.remote.base import RemoteError
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import PROJECT_FILE, load_project
from asst_deploy.spec.schema import KEY_PATTERN


@click.command()
@click.argument("remote_ids", nargs=-1)
@click.option("--all", "export_all", is_flag=True, help="Export every assistant and vector store.")
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
    manage get `adopt: <id>`, so the next plan only adds the ownership tags.

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
        state = backend.read_state()

        def download(file_id: str) -> bytes | None:
            try:
                return backend.download_file(file_id)
            except RemoteError:
                return None

        result = run_export(state, name, download, None if export_all else set(remote_ids))
    if result.missing:
        raise AsstDeployError(
            f"not found on target '{project.target.name}': {', '.join(result.missing)}; "
            "nothing was written (check the ids with the API, or use --all)"
        )
    if not (out / PROJECT_FILE).exists():
        t = project.target
        db = os.path.relpath(t.db.resolve(), out.resolve()) if t.db else None
        spec = {
            "name": t.name,
            "type": t.type,
            "base_url": t.base_url,
            "api_key_env": t.api_key_env,
            # the same sandbox state, so the exported specs plan against what they describe
            "db": db,
            # validate refuses a db outside the project unless the file says so
            "db_outside_project": bool(db and (db.startswith("..") or os.path.isabs(db))),
        }
        result.files[PROJECT_FILE] = project_file(name, {k: v for k, v in spec.items() if v})
    clashes = [p for p in result.files if (out / p).exists() and p != PROJECT_FILE]
    if clashes and not force:
        raise AsstDeployError(
            f"export would overwrite {len(clashes)} file(s) in {out} (first: {clashes[0]}); "
            "pass --force or choose another --out; nothing was written"
        )
    for rel, content in sorted(result.files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for warning in result.warnings:
        output.warn(warning)
    for owner in sorted(set(result.skipped.values())):
        skipped = sorted(i for i, o in result.skipped.items() if o == owner)
        output.note(
            f"Skipped {len(skipped)} object(s) that project '{owner}' manages (their specs "
            f"are in that project): {', '.join(skipped)}"
        )
    output.result(
        f"Exported {len(result.keys)} object(s) into {out} as project '{name}' "
        f"({len(result.files)} file(s))."
    )
