"""Data-driven invalid specs: each folder under invalid/ breaks one rule and expects one problem.

A case is a small project directory plus `expected.txt`:

    # check: what the case is about (free text)
    # env: NAME                      (optional: validate only this environment)
    # fix: FILE: OLD => NEW          (one or more: edits that make the project valid)
    assistants/a.yaml:4:1: the exact problem line (with its hint)

Lines starting with `#` are directives; every other non-blank line is an expected problem,
as `asst-deploy validate` prints it from inside the case directory. In a fix, `\\n` stands
for a newline and OLD must occur exactly once in FILE.

Large inputs are not committed: a case may hold a `generate.py` that the runner executes
inside a temporary copy of the case (after the fixes, so a fix may edit it) and then
deletes. The fixed variant of every case must validate with no problem at all, which
proves that the case breaks one rule only and that its problem comes from that rule.
"""

from __future__ import annotations

import runpy
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from asst_deploy.spec.validate import validate

CASES_DIR = Path(__file__).parent / "invalid"


@dataclass(frozen=True)
class Case:
    name: str
    directory: Path
    check: str
    env: str | None
    expected: list[str]
    fixes: list[tuple[str, str, str]]


def read_case(directory: Path) -> Case:
    check, env = "", None
    expected: list[str] = []
    fixes: list[tuple[str, str, str]] = []
    for line in (directory / "expected.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if not line.startswith("#"):
            expected.append(line)
            continue
        name, _, value = line[1:].strip().partition(":")
        value = value.strip()
        if name == "check":
            check = value
        elif name == "env":
            env = value
        elif name == "fix":
            file, _, edit = value.partition(": ")
            old, _, new = edit.partition(" =>")
            fixes.append((file, _unescape(old), _unescape(new.removeprefix(" "))))
        else:
            raise ValueError(f"{directory.name}/expected.txt: unknown directive {name!r}")
    return Case(directory.name, directory, check, env, expected, fixes)


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n")


def materialize(case: Case, dest: Path, *, fixed: bool = False) -> Path:
    """Copy the case to `dest`, apply its fixes when asked, and run its generate.py."""
    shutil.copytree(
        case.directory, dest, ignore=shutil.ignore_patterns("expected.txt", "__pycache__")
    )
    if fixed:
        for file, old, new in case.fixes:
            path = dest / file
            text = path.read_text(encoding="utf-8")
            assert text.count(old) == 1, f"{case.name}: fix {old!r} must occur once in {file}"
            path.write_text(text.replace(old, new), encoding="utf-8")
    generator = dest / "generate.py"
    if generator.exists():
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(dest)
            runpy.run_path(str(generator), run_name="__main__")
        generator.unlink()
    return dest


def problems_in(root: Path, env: str | None, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The problem lines `asst-deploy validate [--env ENV]` reports when run inside `root`."""
    monkeypatch.chdir(root)
    return [str(p) for p in validate(".", env).problems]


CASES = [read_case(d) for d in sorted(CASES_DIR.iterdir()) if d.is_dir()]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_invalid_case_reports_exactly_its_problem(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = materialize(case, tmp_path / case.name)
    assert problems_in(root, case.env, monkeypatch) == case.expected


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixed_case_is_valid(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = materialize(case, tmp_path / case.name, fixed=True)
    assert problems_in(root, case.env, monkeypatch) == []


def test_the_cases_are_well_formed() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        assert case.check, f"{case.name}: say what the case checks with '# check:'"
        assert len(case.expected) == 1, f"{case.name}: a case expects exactly one problem"
        assert case.fixes, f"{case.name}: give the '# fix:' that makes the case valid"
        assert (case.directory / "asst-deploy.yaml").is_file(), case.name
