"""Output that fits terminals and logs: stdout holds only results, --quiet and --verbose,
progress only on a terminal (or --verbose), colour only on a terminal without NO_COLOR."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from asst_deploy.backend import RemoteError
from asst_deploy.cli import main
from asst_deploy.cli.common import NORMAL, QUIET, VERBOSE, Output
from asst_deploy.engine.apply import RetryPolicy, retrying

# the openai SDK marks the Assistants API deprecated on every call
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
TRACE = re.compile(r"^  GET /v1/assistants\?\S* -> 200 in \d+ ms \(request \S+\)$", re.M)


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(*args: str) -> Result:
    """The CLI through its error boundary, stdin/stdout/stderr not terminals."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    shutil.copytree(REPO / "specs", root, ignore=shutil.ignore_patterns(".asst-deploy"))
    return root


def test_quiet_and_verbose_exclude_each_other() -> None:
    result = run("--quiet", "--verbose", "validate", str(REPO / "specs"))
    assert result.code == 1 and "choose one of --quiet and --verbose" in result.err


def test_json_stays_alone_on_stdout_even_with_verbose(specs: Path) -> None:
    result = run("--verbose", "plan", str(specs), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["summary"]["add"] == 7
    # per-call details went to stderr: method, path, status, time, request id
    assert TRACE.search(result.err), result.err
    assert "Bearer" not in result.err and "authorization" not in result.err.lower()


def test_markdown_stays_alone_on_stdout(specs: Path) -> None:
    result = run("-v", "plan", str(specs), "--markdown")
    assert result.out.startswith("### asst-deploy plan") and "GET /v1" not in result.out


def test_apply_default_quiet_and_verbose(specs: Path, tmp_path: Path) -> None:
    # default, in a log (stderr no terminal): the plan and the result on stdout, a note
    # per action done on stderr, no progress lines
    result = run("apply", str(specs), "--auto-approve")
    assert result.code == 0, result.err
    assert "Plan: 7 to add" in result.out and "Apply complete: 7 added" in result.out
    assert "uploaded as file-" in result.err
    assert "[1/7]" not in result.err and "GET /v1" not in result.err

    # --verbose: progress ([n/N], uploads) and per-call details too
    other = tmp_path / "other"
    shutil.copytree(REPO / "specs", other, ignore=shutil.ignore_patterns(".asst-deploy"))
    result = run("--verbose", "apply", str(other), "--auto-approve")
    assert result.code == 0, result.err
    assert re.search(r"^\[1/7\] create file knowledge/", result.err, re.M), result.err
    assert re.search(r"^    uploading knowledge/\S+\.md \(\d+ B\)$", result.err, re.M)
    assert "POST /v1/assistants -> 200" in result.err

    # --quiet with --auto-approve: only the result
    weather = specs / "assistants" / "weather.yaml"
    weather.write_text(weather.read_text().replace("temperature: 0.5", "temperature: 0.6"))
    result = run("--quiet", "apply", str(specs), "--auto-approve")
    assert result.code == 0, result.err
    assert re.fullmatch(r"Apply complete: 0 added, 1 changed, 0 destroyed in \S+ s\.\n", result.out)
    assert result.err == ""
    result = run("--quiet", "apply", str(specs), "--auto-approve")
    assert (result.code, result.out, result.err) == (0, "No changes.\n", "")


def test_quiet_keeps_errors(tmp_path: Path) -> None:
    result = run("-q", "validate", str(tmp_path))
    assert result.code == 1 and "asst-deploy.yaml" in result.err


def pty_run(args: list[str], *, tty: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the console script with stdout or stderr (`tty`) on a pseudo-terminal."""
    primary, secondary = pty.openpty()
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, tty: secondary}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "asst-deploy"), *args],
        stdin=subprocess.DEVNULL,
        env=env,
        **streams,  # type: ignore[arg-type]
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    piped = (process.stderr if tty == "stdout" else process.stdout).read().decode()  # type: ignore[union-attr]
    code = process.wait(timeout=120)
    os.close(primary)
    terminal = b"".join(chunks).decode().replace("\r\n", "\n")
    return code, terminal, piped


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return {**env, "TERM": "xterm", **extra}


def test_colour_only_on_a_terminal_and_never_with_no_color(specs: Path) -> None:
    code, terminal, _ = pty_run(["plan", str(specs)], tty="stdout", env=clean_env())
    assert code == 0 and ANSI.search(terminal), terminal
    code, terminal, _ = pty_run(["plan", str(specs)], tty="stdout", env=clean_env(NO_COLOR="1"))
    assert code == 0 and "Plan: 7 to add" in terminal and not ANSI.search(terminal)
    result = run("plan", str(specs))  # stdout a pipe
    assert not ANSI.search(result.out)


def test_progress_when_stderr_is_a_terminal(specs: Path) -> None:
    args = ["apply", str(specs), "--auto-approve"]
    code, terminal, stdout = pty_run(args, tty="stderr", env=clean_env())
    assert code == 0, terminal
    assert "[1/7] create file" in terminal and "uploaded as" in terminal
    assert "[1/7]" not in stdout and not ANSI.search(stdout)
    assert "GET /v1" not in terminal  # per-call details only with --verbose


def test_output_levels(capsys: pytest.CaptureFixture[str]) -> None:
    for level, shown in ((QUIET, "R W "), (NORMAL, "R W N "), (VERBOSE, "R W N P D ")):
        out = Output(level)
        out.result("R")
        out.warn("W")
        out.note("N")
        out.progress("P")  # stderr is no terminal under capsys
        out.detail("D")
        captured = capsys.readouterr()
        assert captured.out == "R\n"
        assert captured.err.replace("Warning: ", "").replace("\n", " ") == shown[2:], level


def test_retries_are_told_with_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    calls = iter(
        [
            RemoteError(
                "listing assistants", "overloaded", status=503, request_id="req_1", retryable=True
            )
        ]
    )

    def flaky() -> str:
        error = next(calls, None)
        if error:
            raise error
        return "done"

    policy = Output(VERBOSE).retry_policy()
    policy = RetryPolicy(sleep=lambda s: None, base=0.0, on_retry=policy.on_retry)
    assert retrying(policy, flaky) == "done"
    err = capsys.readouterr().err
    assert (
        "retrying in 0.0 s: listing assistants failed: overloaded (HTTP 503, request req_1)" in err
    )
    assert Output(NORMAL).trace() is None
