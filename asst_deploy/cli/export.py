"""`asst-deploy export`: write spec files from remote objects."""

from __future__ import annotations

import os
from pathlib import Path

import click

from asst_deploy.cli.common import current_output, project_dir_option, project_options
from asst_deploy.errors import AsstDeployError
from asst_deploy.export import export as run_export
from asst_deploy.export import project_file
from asst_deploy.remote.base import RemoteError
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import PROJECT_FILE, load_project


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
@project_options
def export(
    remote_ids: tuple[str, ...],
    export_all: bool,
    out: Path,
    directory: str,
    force: bool,
    env: str | None,
    target: str | None,
) -> None:
    """Write spec files for REMOTE_IDS (or --all) into --out. Objects the project does not
    manage get `adopt: <id>`, so the next plan only adds the ownership tags."""
    if export_all == bool(remote_ids):
        raise click.UsageError("name the objects to export, or pass --all (not both)")
    output = current_output()
    project = load_project(directory, env, target)
    with connect(project.target, trace=output.trace()) as backend:
        state = backend.read_state()

        def download(file_id: str) -> bytes | None:
            try:
                return backend.download_file(file_id)
            except RemoteError:
                return None

        result = run_export(state, project.name, download, None if export_all else set(remote_ids))
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
        result.files[PROJECT_FILE] = project_file(
            project.name, {k: v for k, v in spec.items() if v}
        )
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
    output.result(
        f"Exported {len(result.keys)} object(s) into {out} ({len(result.files)} file(s))."
    )
