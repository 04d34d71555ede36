"""`asst-deploy scan-cassettes`: refuse cassettes that still hold credentials."""

from __future__ import annotations

from pathlib import Path

import click

from asst_deploy.cli.common import current_output
from asst_deploy.errors import AsstDeployError
from asst_deploy.secrets import find_credentials
from asst_deploy.spec.loader import find_root

CASSETTE_SUFFIXES = (".yaml", ".yml", ".json")


@click.command(name="scan-cassettes")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def scan_cassettes(paths: tuple[Path, ...]) -> None:
    """Check cassette files (or the .yaml/.yml/.json files under directories) for
    credentials: Authorization, api-key, OpenAI-Organization and OpenAI-Project headers,
    cookies, `sk-` keys and Bearer tokens. Prints FILE:LINE: what was found (never the
    value itself).

    Without PATHS: every cassettes/ folder of the project in the current directory (where
    the harness writes them), so a bare run never passes by scanning nothing.

    Exit status: 0 clean, 1 credentials found (or nothing to scan).
    """
    output = current_output()
    if not paths:
        paths = _project_cassettes()
    files = sorted({f for p in paths for f in _files(p)})
    dirty = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise click.FileError(str(path), str(exc.strerror)) from None
        findings = find_credentials(text)
        dirty += bool(findings)
        for line, what in findings:
            output.result(f"{path}:{line}: {what}")
    if dirty:
        output.note(
            f"{dirty} of {len(files)} cassette(s) hold credentials: scrub them (re-record "
            "with the harness, which filters these headers) and revoke any real key shown."
        )
        raise click.exceptions.Exit(1)
    output.note(f"{len(files)} cassette(s) checked: no credentials found.")


def _project_cassettes() -> tuple[Path, ...]:
    root = find_root(".")
    folders = tuple(
        p
        for p in sorted(root.rglob("cassettes"))
        if p.is_dir() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not folders:
        raise AsstDeployError(
            f"no cassettes/ folder in the project at {root}: nothing to scan; "
            "pass the cassette files or folders to scan"
        )
    return folders


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return [p for p in path.rglob("*") if p.is_file() and p.suffix in CASSETTE_SUFFIXES]
    return [path]
