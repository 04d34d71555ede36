"""`asst-deploy scan-cassettes`: refuse cassettes that still hold credentials."""

from __future__ import annotations

from pathlib import Path

import click

from asst_deploy.cli.common import current_output
from asst_deploy.secrets import find_credentials

CASSETTE_SUFFIXES = (".yaml", ".yml", ".json")


@click.command(name="scan-cassettes")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def scan_cassettes(paths: tuple[Path, ...]) -> None:
    """Check cassette files (or the .yaml/.yml/.json files under directories) for
    credentials: Authorization, api-key, OpenAI-Organization and OpenAI-Project headers,
    cookies, `sk-` keys and Bearer tokens. Prints FILE:LINE: what was found (never the
    value itself).

    Exit status: 0 clean, 1 credentials found.
    """
    output = current_output()
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


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return [p for p in path.rglob("*") if p.is_file() and p.suffix in CASSETTE_SUFFIXES]
    return [path]
