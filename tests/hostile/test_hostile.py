"""Hostile inputs (see README.md): each case runs one command within a time and memory bound."""

from __future__ import annotations

import json
import os
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

CASES_DIR = Path(__file__).parent / "cases"
REPO = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 2 * 2**30  # a hard stop far below the machine's memory
WALL_SECONDS = 60  # a hung process is killed: the CPU bound then fails the case


@dataclass(frozen=True)
class Case:
    name: str
    directory: Path
    check: str
    args: list[str]
    exit: int
    seconds: float
    megabytes: float
    expected: list[str]


def read_case(directory: Path) -> Case:
    values = {"check": "", "run": "validate", "exit": "1", "seconds": "2", "megabytes": "200"}
    expected: list[str] = []
    for line in (directory / "expected.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            name, _, value = line[1:].strip().partition(":")
            if name not in values:
                raise ValueError(f"{directory.name}/expected.txt: unknown directive {name!r}")
            values[name] = value.strip()
        elif line.strip():
            expected.append(line)
    return Case(
        directory.name,
        directory,
        values["check"],
        shlex.split(values["run"]),
        int(values["exit"]),
        float(values["seconds"]),
        float(values["megabytes"]),
        expected,
    )


CASES = [read_case(d) for d in sorted(CASES_DIR.iterdir()) if d.is_dir()]


@dataclass(frozen=True)
class Outcome:
    code: int
    output: str
    cpu_seconds: float
    megabytes: float


# Runs the command under the limits and writes what it used to a file. A small process of
# its own: a child forked (or vforked) from this pytest worker has its peak memory counted
# from the worker's (hundreds of MB in a full run, whatever the command used), as Linux
# carries an address space's high-water mark through exec into ru_maxrss.
_MEASURE = """
import json, os, resource, subprocess, sys
space, cpu, report, command = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def limit():
    resource.setrlimit(resource.RLIMIT_AS, (space, space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
child = subprocess.Popen(command, preexec_fn=limit)
_, status, usage = os.wait4(child.pid, 0)
with open(report, "w") as out:
    json.dump({"code": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime,
               "kb": usage.ru_maxrss}, out)
"""


def _measured(command: list[str], cpu_seconds: float, report: Path) -> list[str]:
    hard = int(cpu_seconds * 5) + 5
    return [sys.executable, "-c", _MEASURE, str(ADDRESS_SPACE), str(hard), str(report), *command]


def run_bounded(command: list[str], cwd: Path, cpu_seconds: float) -> Outcome:
    """Run `command` in a fresh, limited process and measure what it used."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "200"}
    report = cwd.parent / f"{cwd.name}.usage.json"
    with (cwd.parent / f"{cwd.name}.output").open("w+", encoding="utf-8") as out:
        process = subprocess.Popen(
            _measured(command, cpu_seconds, report),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group: a hung command is killed with it
        )
        try:
            process.wait(timeout=WALL_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        out.seek(0)
        output = out.read()
    usage = json.loads(report.read_text()) if report.exists() else {"code": -9, "cpu": 0, "kb": 0}
    return Outcome(
        usage["code"],
        output,
        usage["cpu"],
        usage["kb"] / 1024,  # kilobytes on Linux
    )


def materialize(case: Case, dest: Path) -> Path:
    shutil.copytree(
        case.directory, dest, ignore=shutil.ignore_patterns("expected.txt", "__pycache__")
    )
    generator = dest / "generate.py"
    if generator.exists():
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(dest)
            runpy.run_path(str(generator), run_name="__main__")
        generator.unlink()
    return dest


@pytest.mark.e2e  # the installed command under its bounds, a subprocess per case
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_fails_cleanly_within_bounds(case: Case, tmp_path: Path) -> None:
    root = materialize(case, tmp_path / case.name)
    outcome = run_bounded([sys.executable, "-m", "asst_deploy", *case.args], root, case.seconds)
    lines = outcome.output.splitlines()
    missing = [line for line in case.expected if line not in lines]
    assert not missing, f"{case.name}: missing lines {missing}\noutput:\n{outcome.output[:3000]}"
    assert outcome.code == case.exit, f"{case.name}: exit {outcome.code}\n{outcome.output[:3000]}"
    assert "Traceback" not in outcome.output
    assert outcome.cpu_seconds < case.seconds, f"{case.name}: {outcome.cpu_seconds:.2f} s of CPU"
    assert outcome.megabytes < case.megabytes, f"{case.name}: {outcome.megabytes:.0f} MB peak"


def test_the_cases_are_well_formed() -> None:
    assert CASES
    for case in CASES:
        assert case.check, f"{case.name}: say what the case attacks with '# check:'"
        assert case.expected, f"{case.name}: expect at least one output line"


@pytest.mark.e2e  # the control of the bounds above, in a subprocess
def test_the_measurements_see_what_a_process_uses(tmp_path: Path) -> None:
    # the control: a process that takes 300 MB and a second of CPU is measured as such
    hog = 'import time\nx = b"x" * (300 * 2**20)\nwhile time.process_time() < 1: pass\n'
    outcome = run_bounded([sys.executable, "-c", hog], tmp_path, 2)
    assert outcome.code == 0, outcome.output
    assert outcome.megabytes > 300
    assert outcome.cpu_seconds >= 1
