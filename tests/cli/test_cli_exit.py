"""The console script ends without the interpreter's finalisation (cli._exit), yet exits as
it would have: the same status, every byte of output, and any exit hook still run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def console(
    *args: str, before: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`asst-deploy ARGS` as the console script runs it (main() with no argv)."""
    script = (
        f"{before}\nimport sys\nsys.argv = ['asst-deploy', *{list(args)!r}]\n"
        "from asst_deploy.cli import main\nmain()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_all_output_arrives_and_the_status_is_kept() -> None:
    result = console("schema")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["$defs"]  # the whole document, flushed
    usage = console("no-such-command")
    assert usage.returncode == 1 and "No such command" in usage.stderr


def test_an_expected_error_exits_1_with_its_message(tmp_path: Path) -> None:
    (tmp_path / "asst-deploy.yaml").write_text("project: p\n")
    (tmp_path / "assistants").mkdir()
    (tmp_path / "assistants" / "a.yaml").write_text("kind: assistant\nkey: Bad Key\n")
    result = console("validate", str(tmp_path))
    assert result.returncode == 1
    assert "invalid key 'Bad Key'" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "before",
    [
        "import atexit\natexit.register(lambda: print('exit hook ran'))",
        "import threading, time\nthreading.Thread(target=lambda: (time.sleep(0.3), "
        "print('exit hook ran'))).start()",
    ],
    ids=["an exit hook", "a thread the exit waits for"],
)
def test_what_the_normal_exit_would_still_do_is_done(before: str) -> None:
    result = console("--version", before=before)
    assert result.returncode == 0, result.stderr
    assert "exit hook ran" in result.stdout
