"""Fixtures for the CLI tests: the example project, an invalid copy, and a subprocess runner."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "specs"


@pytest.fixture
def invalid_project(tmp_path: Path) -> Path:
    """A copy of the example project with one problem: an unknown key in weather.yaml."""
    root = tmp_path / "project"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".asst-deploy"))
    spec = root / "assistants" / "weather.yaml"
    spec.write_text(spec.read_text().replace("temperature: 0.5", "temprature: 0.5"))
    return root


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m asst_deploy ARGS` in a fresh interpreter, as a user's shell would."""

    def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "asst_deploy", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run
