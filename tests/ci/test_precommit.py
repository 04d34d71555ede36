"""The pre-commit hooks of .pre-commit-hooks.yaml: driven through `pre-commit try-repo`
against a temporary clone of this repository (pre-commit builds the hook's virtualenv
from it with pip, from the configured package index), and run as declared."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e  # slow: its own CI step (see pyproject.toml)

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / ".pre-commit-hooks.yaml"
SECRET = "sk-proj-LEAKleakLEAKleak0123456789abcdef"
CLEAN_CASSETTE = """\
interactions:
- request:
    headers:
      Authorization:
      - Bearer <REDACTED>
    method: GET
    uri: http://127.0.0.1/v1/assistants
  response:
    status: {code: 200, message: OK}
"""
LEAKY_CASSETTE = f"""\
interactions:
- request:
    headers:
      Authorization:
      - Bearer {SECRET}
      OpenAI-Organization:
      - org-abcdefghijklmnop
    method: GET
    uri: http://127.0.0.1/v1/assistants
"""
GIT = ["git", "-c", "user.name=asst-deploy tests", "-c", "user.email=tests@example.invalid"]


def hooks() -> dict[str, dict[str, object]]:
    return {h["id"]: h for h in yaml.safe_load(HOOKS.read_text())}


def git(*args: str, cwd: Path) -> None:
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_project(root: Path, *, cassettes: dict[str, str] | None = None) -> Path:
    """A git repository holding a copy of specs/ (what a user's repository looks like)."""
    root.mkdir(parents=True)
    shutil.copytree(
        REPO / "specs", root / "specs", ignore=shutil.ignore_patterns(".asst-deploy", "cassettes")
    )
    for rel, text in (cassettes or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    return root


# ---- the hooks as declared ---------------------------------------------------------------


def test_the_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    manifest = load_manifest(str(HOOKS))
    assert [h["id"] for h in manifest] == ["asst-deploy-validate", "asst-deploy-cassette-scan"]
    assert all(h["language"] == "python" for h in manifest)


def selected(hook_id: str, files: list[str]) -> list[str]:
    """The files pre-commit passes to (or runs) the hook for, by its files/exclude."""
    from pre_commit.clientlib import load_manifest
    from pre_commit.commands.run import filter_by_include_exclude

    (hook,) = [h for h in load_manifest(str(HOOKS)) if h["id"] == hook_id]
    return list(filter_by_include_exclude(files, hook["files"], hook["exclude"]))


def test_validate_runs_when_a_file_it_reads_changes_and_only_then() -> None:
    project_files = [
        "specs/asst-deploy.yaml",
        "specs/assistants/weather.yaml",
        "specs/vector_stores/handbook.yaml",
        "specs/prompts/handbook.md",
        "specs/functions/get_weather.json",
        "specs/knowledge/vacation.md",
        "specs/conversations/weather.conv.yaml",
        "asst-deploy.yaml",  # a project at the repository's root
        "assistants/bot.yml",
    ]
    others = [
        "README.md",
        "src/app.py",
        "docs/prompts.txt",
        "specs/conversations/cassettes/weather/paris.yaml",  # the scan's, not validate's
        "notes/my-assistants/x.yaml",
    ]
    assert selected("asst-deploy-validate", project_files + others) == project_files
    assert selected("asst-deploy-cassette-scan", project_files + others) == [others[3]]
    # one whole-project run at a time: pre-commit never splits it across processes
    assert hooks()["asst-deploy-validate"]["require_serial"] is True


def run_hook(hook_id: str, files: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a hook the way pre-commit does: entry + args (+ the matching files), with the
    package's console script first on PATH, as in the hook's virtualenv."""
    hook = hooks()[hook_id]
    matching = selected(hook_id, files)
    command = shlex.split(str(hook["entry"])) + [str(a) for a in hook.get("args", [])]
    if hook.get("pass_filenames", True):
        command += matching
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_validate_hook_entry(tmp_path: Path) -> None:
    project = make_project(tmp_path / "user")
    assert hooks()["asst-deploy-validate"]["pass_filenames"] is False
    result = run_hook("asst-deploy-validate", ["specs/assistants/weather.yaml"], project)
    assert result.returncode == 0, result.stderr
    assert "valid: project 'examples'" in result.stdout
    weather = project / "specs" / "assistants" / "weather.yaml"
    weather.write_text(weather.read_text().replace("temperature: 0.5", "temprature: 0.5"))
    result = run_hook("asst-deploy-validate", ["specs/assistants/weather.yaml"], project)
    assert result.returncode == 1
    assert "weather.yaml:" in result.stderr and "temprature" in result.stderr


def test_cassette_scan_hook_entry(tmp_path: Path) -> None:
    files = {
        "specs/conversations/cassettes/weather/clean.yaml": CLEAN_CASSETTE,
        "specs/conversations/cassettes/weather/leaky.yaml": LEAKY_CASSETTE,
    }
    project = make_project(tmp_path / "user", cassettes=files)
    # the hook's `files` pattern selects cassettes, not specs
    result = run_hook("asst-deploy-cassette-scan", [*files, "specs/asst-deploy.yaml"], project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "specs/conversations/cassettes/weather/leaky.yaml:5: an Authorization header",
        "specs/conversations/cassettes/weather/leaky.yaml:5: an OpenAI API key (sk-...)",
        "specs/conversations/cassettes/weather/leaky.yaml:5: a Bearer token",
        "specs/conversations/cassettes/weather/leaky.yaml:7: an OpenAI-Organization header",
    ]
    assert SECRET not in result.stdout + result.stderr
    clean = [next(iter(files))]
    assert run_hook("asst-deploy-cassette-scan", clean, project).returncode == 0


# ---- pre-commit try-repo -----------------------------------------------------------------


@pytest.fixture
def hook_repo(tmp_path: Path) -> Path:
    """A clone of this repository with the working tree's files committed on top (the
    hooks under test may not be committed yet)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout of asst-deploy")
    clone = tmp_path / "asst-deploy"
    git("clone", "-q", str(REPO), str(clone), cwd=tmp_path)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = REPO / rel
        if source.is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / rel)
    git("add", "-A", cwd=clone)
    git("commit", "-q", "--allow-empty", "-m", "working tree under test", cwd=clone)
    return clone


def test_try_repo_runs_both_hooks(hook_repo: Path, tmp_path: Path) -> None:
    # try-repo builds the hook's virtualenv from the clone with pip in a temporary store
    # (about 10 s), so one call runs both hooks: specs valid, one cassette leaking
    project = make_project(
        tmp_path / "user",
        cassettes={
            "specs/conversations/cassettes/weather/clean.yaml": CLEAN_CASSETTE,
            "specs/conversations/cassettes/weather/leaky.yaml": LEAKY_CASSETTE,
        },
    )
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "--all-files"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(r"asst-deploy validate\.+Passed", out), out
    assert re.search(r"asst-deploy cassette credential scan\.+Failed", out), out
    assert "specs/conversations/cassettes/weather/leaky.yaml:5: an Authorization header" in out
    assert "clean.yaml" not in out.split("cassette credential scan", 1)[1]
    assert SECRET not in out + result.stderr
    # a commit that touches none of the project's files: validate does not run (the
    # hook's environment is built already, so this costs little)
    (project / "README.md").write_text("hello\n")
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "--files", "README.md"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"asst-deploy validate\.+\(no files to check\)Skipped", result.stdout)
