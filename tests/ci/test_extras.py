"""The test extra: pytest and vcrpy only with `asst-deploy[test]`; without them plan and
apply work, and `asst-deploy test` says what to install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_without_extra(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as an install without the test extra runs it: a None in sys.modules makes
    `import pytest` fail and find_spec answer None, as for a package not installed."""
    script = (
        "import sys\n"
        "for name in ('pytest', '_pytest', 'vcr'):\n"
        "    sys.modules[name] = None\n"
        "from asst_deploy.cli import main\n"
        f"sys.argv = ['asst-deploy', *{list(args)!r}]\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
    )


def test_pytest_and_vcrpy_are_in_the_test_extra_only() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [d.split(">")[0].split("=")[0].split("<")[0] for d in project["dependencies"]]
    assert "pytest" not in names and "vcrpy" not in names
    test = project["optional-dependencies"]["test"]
    assert {d.split(">=")[0] for d in test} == {"pytest", "vcrpy"}
    # the README's install command (".[dev]") brings the test extra along
    assert "asst-deploy[test]" in project["optional-dependencies"]["dev"]


def test_plan_and_apply_need_no_test_extra(tmp_path: Path) -> None:
    shutil.copytree(REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns(".asst-*"))
    for args in (["apply", "specs", "--auto-approve"], ["plan", "specs"]):
        result = run_without_extra(*args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
    assert "No changes" in result.stdout


def test_the_test_command_names_the_extra_to_install(tmp_path: Path) -> None:
    shutil.copytree(REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns(".asst-*"))
    result = run_without_extra("test", "specs/conversations", "--mode", "replay", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "`asst-deploy test` needs pytest, vcrpy, which are not installed" in result.stderr
    assert "pip install 'asst-deploy[test]'" in result.stderr
    assert "Traceback" not in result.stderr
