"""The example project's conversations on its responses environment: from the committed
cassettes, live after apply, and side by side with an assistants environment (parity)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "specs" / "conversations" / "cassettes" / "responses"


def asst_deploy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ASST_DEPLOY_MODE")}
    return subprocess.run(
        [sys.executable, "-m", "asst_deploy", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of specs/ without its sandbox state (nothing deployed yet)."""
    shutil.copytree(REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("*.db*"))
    return tmp_path


def test_every_example_conversation_has_a_responses_cassette() -> None:
    recorded = sorted(str(p.relative_to(CASSETTES)) for p in CASSETTES.rglob("*.yaml"))
    assert recorded == [
        "handbook/vacation.yaml",
        "math-tutor/quickstart-polling.yaml",
        "math-tutor/quickstart.yaml",
        "weather/paris.yaml",
        "weather/unit-from-template.yaml",
    ]


@pytest.mark.e2e  # the installed command, in subprocesses
def test_the_example_replays_on_responses_from_its_cassettes(example: Path) -> None:
    result = asst_deploy(
        "test", "specs/conversations", "--mode", "replay", "--env", "responses", cwd=example
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout
    assert not (example / "specs" / ".asst-deploy" / "responses.db").exists()  # no sandbox


@pytest.mark.e2e  # the installed command, in subprocesses
def test_the_example_passes_live_on_responses_after_apply(example: Path) -> None:
    applied = asst_deploy("apply", "specs", "--env", "responses", "--auto-approve", cwd=example)
    assert applied.returncode == 0, applied.stderr
    result = asst_deploy(
        "test", "specs/conversations", "--mode", "live", "--env", "responses", cwd=example
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


@pytest.mark.e2e  # the installed command, in subprocesses
def test_parity_of_the_example_with_an_assistants_environment(example: Path) -> None:
    result = asst_deploy(
        "test", "specs/conversations", "--parity", "dev:replay", "responses:replay", cwd=example
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if ".conv.yaml::" in line]
    assert len(rows) == 9  # every turn of the five conversations
    assert all(row[2:4] == ["pass", "pass"] for row in rows), result.stdout
    # the same tools on both generations, also the handbook's file_search
    assert not any("tool calls:" in line for line in result.stdout.splitlines()), result.stdout
    assert "responses kept every verdict dev had (9 turns)." in result.stdout
