"""The example workflow's shell steps (and the composite action's), run as GitHub would
run them against the built-in sandbox: exit codes, job summary, the one PR comment, the
plan saved on the pull request and applied, exactly, after merge."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .gha import ACTION, GIT_USER, REPO, Job, Runner, gh_calls, load, make_bin

pytestmark = pytest.mark.e2e  # slow: its own CI step (see pyproject.toml)

SPECS = REPO / "specs"
API_KEY = "sk-proj-FAKEfakeFAKEfake0123456789abcdef"  # must never show up anywhere
TOKEN = "ghs_FAKEgithubTOKEN0123456789abcdef"
HAS_TEST_COMMAND = importlib.util.find_spec("asst_deploy.cli.test") is not None
HEAD = "a1" * 20  # the pull request's head commit (the runner checks out the test merge)
STEPS_PR = [
    "actions/checkout@v4",
    "actions/setup-python@v5",
    "Install asst-deploy",
    "Validate",
    "Plan",
    "Save the plan for the apply job",
    "Comment the plan on the pull request",
    "Conversation tests (replay)",
    "Save the conversation report",
    "Comment the conversation tests on the pull request",
    "Conversation tests verdict",
    "Find the reviewed plan",
    "Apply",
]


def commit(workspace: Path, message: str) -> None:
    for args in (["add", "-A"], ["commit", "-q", "--allow-empty", "-m", message]):
        subprocess.run([*GIT_USER, *args], cwd=workspace, check=True, capture_output=True)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    workspace = tmp_path / "workspace"
    shutil.copytree(SPECS, workspace / "specs", ignore=shutil.ignore_patterns(".asst-deploy"))
    # a checkout: the saved plan is bound to the git tree of the project directory
    subprocess.run(["git", "init", "-q"], cwd=workspace, check=True)
    (workspace / ".gitignore").write_text(".asst-deploy/\n")
    commit(workspace, "the specs")
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


def plan_and_apply_only(runner: Runner) -> None:
    """The plan job without its conversation tests, for tests of the reviewed plan alone
    (test_pr_then_merge_then_pr runs the whole job)."""
    runner.workflow["jobs"]["plan"]["steps"][1]["with"]["conversations"] = "no-conversations"


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
    job = runner.run_job("plan", "pull_request", head_sha=HEAD)
    assert job.ok, job.log
    assert [s.name for s in job.steps] == STEPS_PR
    assert job.step("Apply").code is None  # pr mode never applies
    assert job.step("Find the reviewed plan").code is None
    # installs the asst-deploy the action belongs to (the ref in `uses:` pins the version),
    # with the test extra the conversation tests need
    pip = Path(runner.extra_env["FAKE_PYTHON_LOG"]).read_text().split()
    assert pip[:3] == ["-m", "pip", "install"]
    assert pip[-1].endswith("[test]") and Path(pip[-1][: -len("[test]")]).resolve() == REPO
    assert job.step("Install asst-deploy").stdout.startswith("asst-deploy, version ")
    assert "valid: project 'examples'" in job.step("Validate").stdout
    plan = job.step("Plan")
    # setup-terraform's outputs: the exit code, the saved plan, has-changes
    assert plan.outputs["has-changes"] == "true" and plan.outputs["exitcode"] == "2"
    saved = json.loads(Path(plan.outputs["plan-file"]).read_text())
    assert saved["kind"] == "asst-deploy-plan" and saved["summary"]["add"] == 7
    artifact = plan.outputs["artifact"]
    assert re.fullmatch(r"asst-deploy-plan-[0-9a-f]{12}-" + HEAD, artifact)
    assert job.summary.startswith("### asst-deploy plan: `examples` on `sandbox`\n")
    assert "| `+` create | assistant | `weather` |" in job.summary
    assert f"Plan of commit `{HEAD[:12]}`, saved as artifact `{artifact}`" in job.summary
    # the plan went up as an artifact of this run, bound to the head commit; the
    # conversations' HTML report as another
    stored, report = runner.state()["artifacts"]
    assert stored["name"] == artifact and stored["workflow_run"]["head_sha"] == HEAD
    assert re.fullmatch(r"asst-deploy-report-[0-9a-f]{12}-" + HEAD, report["name"])
    assert '<table class="verdicts">' in (Path(report["stored"]) / "report.html").read_text()
    binding = json.loads((Path(stored["stored"]) / "binding.json").read_text())
    assert binding["head_sha"] == HEAD and binding["sha"] == runner.head()
    assert binding["has_changes"] is True and binding["directory"] == "specs"
    assert (Path(stored["stored"]) / "plan.json").read_text() == json.dumps(saved, indent=2) + "\n"
    # the comment: the marker names the commit, then the plan as in the summary
    # two comments: the plan's, and the conversation tests' (verdicts and costs)
    first, tests_comment = comments(runner)
    assert str(tests_comment["body"]).startswith("<!-- asst-deploy-tests:")
    assert "**5 passed**" in str(tests_comment["body"])
    body = str(first["body"])
    marker, rest = body.split("\n", 1)
    assert re.fullmatch(r"<!-- asst-deploy-plan:[0-9a-f]{12} commit:" + HEAD + " -->", marker)
    plan_summary, tests_summary = job.summary.split("### asst-deploy conversation tests\n")
    assert rest == plan_summary
    # the conversation tests: a row per conversation, a mark per turn (JUnit XML behind it)
    assert "**5 passed**" in tests_summary
    row = "| ✅ passed | `specs/conversations/weather.conv.yaml` | `paris` | 1 ✅ · 2 ✅ | $"
    assert any(line.startswith(row) for line in tests_summary.splitlines()), tests_summary
    assert "Cost of the run: **$" in tests_summary
    junit = job.step("Conversation tests (replay)").outputs["junit-xml"]
    assert Path(junit).read_text().count("<testcase ") == 5
    calls = gh_calls(Path(runner.extra_env["FAKE_GH_LOG"]))
    assert [c["args"][:3] for c in calls] == [
        ["api", "--paginate", "repos/acme/assistants/issues/7/comments"],
        ["api", "--method", "POST"],
        ["api", "--paginate", "repos/acme/assistants/issues/7/comments"],
        ["api", "--method", "POST"],
    ]
    assert all(c["token"] == TOKEN for c in calls)  # GH_TOKEN reaches gh through env
    assert_no_secret(runner, job)

    # 2. merged: the apply job finds the reviewed plan through the pull request's head
    # commit and applies exactly it
    runner.merge(7, HEAD)
    job = runner.run_job("apply", "push")
    assert job.ok, job.log
    assert [s.name for s in job.steps if s.code is not None] == [
        "Install asst-deploy",
        "Validate",
        "Find the reviewed plan",
        "Apply",
    ]
    found = job.step("Find the reviewed plan")
    assert found.outputs["artifact"] == artifact and found.outputs["pr"] == "7"
    assert found.outputs["plan-run"] == "https://github.com/acme/assistants/actions/runs/1000"
    assert json.loads(Path(found.outputs["plan-file"]).read_text()) == saved
    assert found.outputs["has-changes"] == "true"
    applied = job.step("Apply")
    assert applied.outputs["exitcode"] == "0"
    assert "Apply complete: 7 added, 0 changed, 0 destroyed" in applied.stdout
    assert job.summary.startswith("### asst-deploy apply\n") and "Apply complete" in job.summary
    assert "The plan reviewed in pull request #7" in job.summary
    calls = gh_calls(Path(runner.extra_env["FAKE_GH_LOG"]))[4:]
    assert [c["args"][:2] for c in calls] == [
        ["api", f"repos/acme/assistants/commits/{runner.head()}/pulls"],
        ["api", f"repos/acme/assistants/actions/artifacts?name={artifact}"],
        ["run", "download"],
    ]
    download = calls[2]["args"]
    assert download[2] == "1000" and download[download.index("--name") + 1] == artifact
    assert download[download.index("--repo") + 1] == "acme/assistants"
    assert all(c["token"] == TOKEN for c in calls)
    assert_no_secret(runner, job)

    # 3. the next pull request: no changes, and the same comment is updated in place
    job = runner.run_job("plan", "pull_request", head_sha="b2" * 20)
    assert job.ok, job.log
    assert job.step("Plan").outputs["has-changes"] == "false"
    assert job.step("Plan").outputs["exitcode"] == "0"
    assert "No changes" in job.summary
    again, tests_again = comments(runner)
    assert again["id"] == first["id"] and "No changes" in str(again["body"])
    assert "commit:" + "b2" * 20 in str(again["body"])
    assert tests_again["id"] == tests_comment["id"]  # edited in place too
    calls = gh_calls(Path(runner.extra_env["FAKE_GH_LOG"]))
    assert [c["args"][:4] for c in calls[-3::2]] == [
        ["api", "--method", "PATCH", f"repos/acme/assistants/issues/comments/{first['id']}"],
        [
            "api",
            "--method",
            "PATCH",
            f"repos/acme/assistants/issues/comments/{tests_comment['id']}",
        ],
    ]
    assert_no_secret(runner, job)


def test_a_stale_plan_is_refused_and_the_job_says_to_plan_again(runner: Runner) -> None:
    plan_and_apply_only(runner)
    job = runner.run_job("plan", "pull_request", head_sha=HEAD)  # run 1000
    assert job.ok, job.log
    # between review and merge, someone applies the specs by hand: the reviewed plan's
    # creates now exist, so asst-deploy refuses it and changes nothing
    subprocess.run(
        [str(Path(sys.executable).parent / "asst-deploy"), "apply", "specs", "--auto-approve"],
        cwd=runner.workspace,
        check=True,
        capture_output=True,
    )
    runner.merge(7, HEAD)
    job = runner.run_job("apply", "push")  # run 1001
    step = job.step("Apply")
    assert step.code == 1 and step.outputs["exitcode"] == "1", job.log
    assert "stale" in step.stdout and "nothing was changed" in step.stdout
    assert "::error::the plan reviewed in pull request #7 was not applied (exit 1)" in step.stdout
    assert "re-run the plan job of pull request #7" in step.stdout
    assert "https://github.com/acme/assistants/actions/runs/1000" in step.stdout
    assert "stale" in job.summary
    # re-running the pull request's plan job (the same commit) saves a fresh plan
    job = runner.run_job("plan", "pull_request", head_sha=HEAD)  # run 1002
    assert job.ok and job.step("Plan").outputs["has-changes"] == "false", job.log
    job = runner.run_job("apply", "push")  # run 1003: the newest plan of that commit
    assert job.ok, job.log
    assert job.step("Find the reviewed plan").outputs["plan-run"].endswith("/runs/1002")
    assert "No changes" in job.step("Apply").stdout


def test_specs_merged_after_the_plan_are_not_applied(runner: Runner) -> None:
    plan_and_apply_only(runner)
    job = runner.run_job("plan", "pull_request", head_sha=HEAD)
    assert job.ok, job.log
    # another change to the specs lands on the default branch after the plan was made
    weather = runner.workspace / "specs" / "assistants" / "weather.yaml"
    weather.write_text(weather.read_text().replace("temperature: 0.5", "temperature: 0.9"))
    commit(runner.workspace, "another change")
    runner.merge(7, HEAD)
    job = runner.run_job("apply", "push")
    step = job.step("Find the reviewed plan")
    assert step.code == 1 and job.steps[-1] is step
    assert "something else was merged after the pull request's plan" in step.stdout
    assert "Plan this commit's specs in a new pull request" in step.stdout
    assert "Apply complete" not in job.log and job.summary == ""


def test_a_push_without_a_reviewed_plan_applies_nothing(runner: Runner) -> None:
    # a direct push: no pull request, so no plan anyone reviewed
    job = runner.run_job("apply", "push")
    step = job.step("Find the reviewed plan")
    assert step.code == 1
    assert "is not the merge of a pull request, so there is no reviewed plan" in step.stdout
    # a merged pull request whose plan job never saved a plan
    runner.merge(8, "c3" * 20)
    job = runner.run_job("apply", "push")
    step = job.step("Find the reviewed plan")
    assert step.code == 1
    assert "pull request #8 has no saved plan for its head commit c3c3c3c3c3c3" in step.stdout
    assert "Re-run the plan job of pull request #8" in step.stdout
    assert job.summary == ""


def test_a_failing_plan_fails_the_job_and_posts_nothing(runner: Runner) -> None:
    # valid offline, but the target needs an API key the job does not have
    project = runner.workspace / "specs" / "asst-deploy.yaml"
    project.write_text(
        project.read_text().replace("default_target: sandbox", "default_target: compatible")
    )
    runner.secrets.clear()
    job = runner.run_job("plan", "pull_request")
    plan = job.step("Plan")
    assert plan.code == 1 and plan.outputs["exitcode"] == "1"
    assert "::error::asst-deploy plan failed (exit 1)" in plan.stdout
    assert "ASSISTANTS_API_KEY, which is not set" in plan.stderr
    assert job.steps[-1] is plan  # nothing runs after a failed step
    assert job.summary == "" and comments(runner) == [] and runner.state()["artifacts"] == []


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


def test_an_exit_2_without_a_saved_plan_is_an_error_not_changes(runner: Runner) -> None:
    plan_and_apply_only(runner)
    # click's usage errors exit 2 too: only a saved plan with changes makes 2 "changes"
    real = Path(sys.executable).parent / "asst-deploy"
    fake = runner.bin_dir / "asst-deploy"
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = plan ]; then echo "Error: No such option: --out" >&2; exit 2; fi\n'
        f'exec {real} "$@"\n'
    )
    fake.chmod(0o755)
    job = runner.run_job("plan", "pull_request", head_sha=HEAD)
    plan = job.step("Plan")
    assert plan.code == 1 and plan.outputs["exitcode"] == "2"
    assert "::error::asst-deploy plan exited 2 without saving a plan" in plan.stdout
    assert "has-changes" not in plan.outputs
    assert job.steps[-1] is plan and comments(runner) == [] and runner.state()["artifacts"] == []


@pytest.mark.parametrize("environment", ["agents", "responses"])
def test_the_reviewed_plan_of_another_generation_is_applied(
    runner: Runner, environment: str
) -> None:
    # the same flow as the base's, for an environment whose target is another API
    # generation: its saved plan holds that generation's kinds (agents, templates) and
    # must apply exactly, then leave nothing to change
    plan_and_apply_only(runner)
    for job_name in ("plan", "apply"):
        runner.workflow["jobs"][job_name]["steps"][1]["with"]["env"] = environment
    job = runner.run_job("plan", "pull_request", head_sha=HEAD)
    assert job.ok, job.log
    plan = job.step("Plan")
    assert plan.outputs["has-changes"] == "true", job.log
    saved = json.loads(Path(plan.outputs["plan-file"]).read_text())
    assert saved["environment"] == environment and saved["summary"]["add"] > 0
    if environment == "agents":
        assert {a["kind"] for a in saved["actions"]} >= {"agent", "environment_template"}
    runner.merge(7, HEAD)
    job = runner.run_job("apply", "push")
    assert job.ok, job.log
    applied = job.step("Apply")
    assert applied.outputs["exitcode"] == "0"
    assert f"Apply complete: {saved['summary']['add']} added, 0 changed" in applied.stdout
    job = runner.run_job("plan", "pull_request", head_sha="b2" * 20)
    assert job.ok and job.step("Plan").outputs["has-changes"] == "false", job.log
    assert_no_secret(runner, job)
