"""The example workflow's shell steps (and the composite action's), run as GitHub would
run them against the built-in sandbox: exit codes, job summary, the one PR comment."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from .gha import ACTION, REPO, Job, Runner, gh_calls, load, make_bin

SPECS = REPO / "specs"
API_KEY = "sk-proj-FAKEfakeFAKEfake0123456789abcdef"  # must never show up anywhere
TOKEN = "ghs_FAKEgithubTOKEN0123456789abcdef"
HAS_TEST_COMMAND = importlib.util.find_spec("asst_deploy.cli.test") is not None


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    workspace = tmp_path / "workspace"
    shutil.copytree(SPECS, workspace / "specs", ignore=shutil.ignore_patterns(".asst-deploy"))
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    return Runner(
        workspace=workspace,
        temp=temp,
        bin_dir=make_bin(tmp_path / "bin"),
        secrets={"ASSISTANTS_API_KEY": API_KEY},
        extra_env={
            "FAKE_GH_STATE": str(tmp_path / "gh-state.json"),
            "FAKE_GH_LOG": str(tmp_path / "gh-log.jsonl"),
            "FAKE_PYTHON_LOG": str(tmp_path / "python-log.txt"),
            "FAKE_GITHUB_TOKEN": TOKEN,
        },
    )


def comments(runner: Runner) -> list[dict[str, object]]:
    state = Path(runner.extra_env["FAKE_GH_STATE"])
    return json.loads(state.read_text())["comments"] if state.exists() else []


def assert_no_secret(runner: Runner, job: Job) -> None:
    seen = [job.log, job.summary, json.dumps(comments(runner))]
    seen += [json.dumps(c["args"]) for c in gh_calls(Path(runner.extra_env["FAKE_GH_LOG"]))]
    for text in seen:
        assert API_KEY not in text
        assert TOKEN not in text


def test_jobs_run_on_their_events(runner: Runner) -> None:
    assert runner.job_runs("plan", "pull_request") and not runner.job_runs("plan", "push")
    assert runner.job_runs("apply", "push") and not runner.job_runs("apply", "pull_request")


def test_pr_then_merge_then_pr(runner: Runner) -> None:
    # 1. a pull request on a fresh target: changes (plan exit 2) are not a failure
    job = runner.run_job("plan", "pull_request")
    assert job.ok, job.log
    names = [s.name for s in job.steps]
    assert names == [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "Install asst-deploy",
        "Validate",
        "Plan",
        "Comment the plan on the pull request",
        "Conversation tests (replay)",
        "Apply",
    ]
    assert job.step("Apply").code is None  # pr mode never applies
    # installs the asst-deploy the action belongs to (the ref in `uses:` pins the version)
    pip = Path(runner.extra_env["FAKE_PYTHON_LOG"]).read_text().split()
    assert pip[:3] == ["-m", "pip", "install"]
    assert Path(pip[-1]).resolve() == REPO
    assert job.step("Install asst-deploy").stdout.startswith("asst-deploy, version ")
    assert "valid: project 'examples'" in job.step("Validate").stdout
    plan = job.step("Plan")
    assert plan.outputs["has-changes"] == "true"
    assert job.summary.startswith("### asst-deploy plan: `examples` on `sandbox`\n")
    assert "| `+` create | assistant | `weather` |" in job.summary
    assert len(comments(runner)) == 1
    (first,) = comments(runner)
    body = str(first["body"])
    assert body.startswith("<!-- asst-deploy-plan:") and body.split("\n", 1)[1] == job.summary
    calls = gh_calls(Path(runner.extra_env["FAKE_GH_LOG"]))
    assert [c["args"][:3] for c in calls] == [
        ["api", "--paginate", "repos/acme/assistants/issues/7/comments"],
        ["api", "--method", "POST"],
    ]
    assert all(c["token"] == TOKEN for c in calls)  # GH_TOKEN reaches gh through env
    assert_no_secret(runner, job)

    # 2. merged: the apply job applies the reviewed specs
    job = runner.run_job("apply", "push")
    assert job.ok, job.log
    assert [s.name for s in job.steps if s.code is not None] == [
        "Install asst-deploy",
        "Validate",
        "Apply",
    ]
    applied = job.step("Apply").stdout
    assert "Apply complete: 7 added, 0 changed, 0 destroyed" in applied
    assert job.summary.startswith("### asst-deploy apply\n") and "Apply complete" in job.summary
    assert_no_secret(runner, job)

    # 3. the next pull request: no changes, and the same comment is updated in place
    job = runner.run_job("plan", "pull_request")
    assert job.ok, job.log
    assert job.step("Plan").outputs["has-changes"] == "false"
    assert "No changes" in job.summary
    (again,) = comments(runner)
    assert again["id"] == first["id"] and "No changes" in str(again["body"])
    calls = gh_calls(Path(runner.extra_env["FAKE_GH_LOG"]))
    assert calls[-1]["args"][:4] == [
        "api",
        "--method",
        "PATCH",
        f"repos/acme/assistants/issues/comments/{first['id']}",
    ]
    assert_no_secret(runner, job)


def test_a_failing_plan_fails_the_job_and_posts_nothing(runner: Runner) -> None:
    # valid offline, but the target needs an API key the job does not have
    project = runner.workspace / "specs" / "asst-deploy.yaml"
    project.write_text(
        project.read_text().replace("default_target: sandbox", "default_target: compatible")
    )
    runner.secrets.clear()
    job = runner.run_job("plan", "pull_request")
    plan = job.step("Plan")
    assert plan.code == 1
    assert "::error::asst-deploy plan failed (exit 1)" in plan.stdout
    assert "ASSISTANTS_API_KEY, which is not set" in plan.stderr
    assert job.steps[-1] is plan  # nothing runs after a failed step
    assert job.summary == "" and comments(runner) == []


def test_a_read_only_token_leaves_the_plan_in_the_summary(runner: Runner) -> None:
    runner.extra_env["FAKE_GH_FAIL"] = "1"  # a fork's pull request: the token cannot write
    job = runner.run_job("plan", "pull_request")
    assert job.ok, job.log
    step = job.step("Comment the plan on the pull request")
    assert "::warning::could not read the pull request's comments" in step.stdout
    assert job.summary.startswith("### asst-deploy plan")


def test_an_unknown_mode_is_refused(runner: Runner) -> None:
    runner.workflow["jobs"]["plan"]["steps"][1]["with"]["mode"] = "deploy"
    job = runner.run_job("plan", "pull_request")
    assert job.step("Validate").code == 1
    assert "input 'mode' is 'deploy'" in job.step("Validate").stdout


@pytest.mark.skipif(
    not HAS_TEST_COMMAND,
    reason="`asst-deploy test` (asst_deploy.cli.test, the replay harness of issue 5) is not in this checkout yet",
)
def test_the_replay_step_runs_the_conversation_tests(runner: Runner) -> None:
    if not (runner.workspace / "specs" / "conversations").exists():
        pytest.skip("specs/conversations does not exist yet (issue 5)")
    job = runner.run_job("plan", "pull_request")
    step = job.step("Conversation tests (replay)")
    assert step.code == 0, job.log
    assert "skipped" not in step.stdout


def test_the_replay_step_calls_the_documented_command() -> None:
    # the step the README and the issue name: `asst-deploy test --mode replay specs/conversations`
    action = load(ACTION / "action.yml")
    (step,) = [s for s in action["runs"]["steps"] if s.get("name") == "Conversation tests (replay)"]
    assert 'asst-deploy test --mode replay "$conversations"' in step["run"]
    assert '"${CONVERSATIONS:-$ASST_DEPLOY_DIR/conversations}"' in step["run"]
    assert action["inputs"]["directory"]["default"] == "specs"
