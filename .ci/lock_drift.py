"""Print what the installed packages drifted from the lock: package, locked, installed.

.ci/run-latest installs the newest versions pyproject.toml allows, ignoring the lock; this
shows which of them differ from requirements/lock.txt (a newer release, a package new or
gone), so a red canary names the releases to look at. Informational: it exits 0 either
way. Usage: python .ci/lock_drift.py [LOCK] (default requirements/lock.txt; it compares
with `pip freeze --exclude-editable` of the interpreter that runs it). Where
GITHUB_STEP_SUMMARY is set it writes the same table there, in Markdown.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements" / "lock.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def canonical(name: str) -> str:
    """A package's name as pip compares it (PEP 503): PyYAML, pyyaml and py_yaml are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: Iterable[str]) -> dict[str, tuple[str, str]]:
    """{canonical name: (name as written, version)} of the name==version lines; comments,
    blank lines and anything else (an editable install, a direct URL) are left out."""
    found = {}
    for line in lines:
        match = _PIN.match(line.strip())
        if match:
            found[canonical(match.group(1))] = (match.group(1), match.group(2))
    return found


def drift(
    locked: dict[str, tuple[str, str]], installed: dict[str, tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """(package, locked version, installed version) for each package whose versions differ,
    "-" standing for absent (new since the lock, or no longer installed); sorted by name."""
    rows = []
    for key in sorted(locked.keys() | installed.keys()):
        name, old = locked.get(key, ("", "-"))
        new_name, new = installed.get(key, ("", "-"))
        if old != new:
            rows.append((name or new_name, old, new))
    return rows


def table(rows: list[tuple[str, str, str]]) -> str:
    header = ("package", "locked", "installed")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def markdown(rows: list[tuple[str, str, str]], lock: str) -> str:
    if not rows:
        return f"No drift: every installed package is at its version in `{lock}`.\n"
    lines = [
        f"### Drift from `{lock}`",
        "",
        "| package | locked | installed |",
        "| --- | --- | --- |",
        *(f"| {name} | {old} | {new} |" for name, old, new in rows),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    lock = Path(argv[0]) if argv else LOCK
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = drift(pins(lock.read_text(encoding="utf-8").splitlines()), pins(freeze.splitlines()))
    if rows:
        print(table(rows))
        print(f"{len(rows)} package(s) differ from {lock}; `bash .ci/lock` takes these versions")
    else:
        print(f"no drift: every installed package is at its version in {lock}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(markdown(rows, str(lock)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
