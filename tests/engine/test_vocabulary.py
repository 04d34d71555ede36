"""Terraform's vocabulary: plan --destroy, apply/destroy --json, --refresh-only, --replace,
the renamed --endpoint / --resource, max_retries and the progress bar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from asst_deploy.cli.common import ActionProgress, Output
from asst_deploy.desired import Target
from asst_deploy.engine import render
from asst_deploy.engine.apply import RemoteError, RetryPolicy
from asst_deploy.engine.operations import read_plan
from asst_deploy.engine.operations import target_retries as with_target_retries
from asst_deploy.engine.targets import connect

from .test_cli import ids, remote, run


@pytest.fixture
def proj(project_dir: Path) -> Path:
    assert run("apply", str(project_dir), "--auto-approve").code == 0
    return project_dir


def assistant_id(proj: Path, key: str) -> str:
    return next(a.id for a in remote(proj).of("assistant") if a.owner[1] == key)


def edit_live(proj: Path, key: str, **fields: Any) -> None:
    """An edit outside asst-deploy (drift)."""
    target = Target("sandbox", "sandbox", db=proj / ".state/sandbox.db")
    with connect(target) as backend:
        backend.update("assistant", assistant_id(proj, key), fields)


def test_plan_destroy_is_saved_reviewed_and_applied(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "destroy.json"
    shown = run("plan", str(proj), "--destroy", "--out", str(out), "--detailed-exitcode")
    assert shown.code == 2, shown.err
    assert "Plan: 0 to add, 0 to change, 6 to destroy." in shown.out
    plan, _ = read_plan(out)
    assert plan.mode == "destroy" and all(a.verb == "delete" for a in plan.actions)
    assert ids(remote(proj))  # planning deleted nothing
    applied = run("apply", str(out))
    assert applied.code == 0, applied.err
    assert not ids(remote(proj))


def test_a_stale_destroy_plan_is_refused(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "destroy.json"
    assert run("plan", str(proj), "--destroy", "--out", str(out)).code == 0
    edit_live(proj, "greeter", name="edited by hand")
    result = run("apply", str(out))
    assert result.code == 1 and "is stale" in result.err
    assert "assistant greeter" in result.err and ids(remote(proj))


def test_destroy_takes_no_other_planning_options(proj: Path) -> None:
    result = run("plan", str(proj), "--destroy", "--prune")
    assert result.code == 1 and "--destroy cannot be combined with --prune" in result.err


def test_apply_json_reports_what_was_done_on_stdout_alone(project_dir: Path) -> None:
    result = run("apply", str(project_dir), "--auto-approve", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)  # the whole of stdout is the report
    assert report["summary"] == {"add": 6, "change": 0, "destroy": 0}
    done = {(d["action"], d["kind"], d["key"]): d["remote_id"] for d in report["done"]}
    assert done[("create", "assistant", "greeter")] == assistant_id(project_dir, "greeter")
    assert len(done) == 6 and all(done.values())
    assert "Apply complete" in result.err and "+ assistant greeter" in result.err


def test_apply_json_without_changes_and_on_failure(proj: Path) -> None:
    same = run("apply", str(proj), "--auto-approve", "--json")
    assert same.code == 0 and json.loads(same.out)["done"] == []
    (proj / "assistants/greeter.yaml").write_text("kind: assistant\nkey: greeter\nmodle: x\n")
    bad = run("apply", str(proj), "--auto-approve", "--json")
    assert bad.code == 1
    error = json.loads(bad.out)["error"]
    assert error["unexpected"] is False and error["problems"]


def test_destroy_json(proj: Path) -> None:
    result = run("destroy", str(proj), "--auto-approve", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["command"] == "destroy" and report["summary"]["destroy"] == 6
    assert {d["done"] for d in report["done"]} == {"deleted"}
    assert "Destroy complete" in result.err and not ids(remote(proj))


def test_refresh_only_adopts_the_drift_without_changing_fields(proj: Path, tmp_path: Path) -> None:
    edit_live(proj, "greeter", name="edited by hand")
    before = {a.id: a.data for a in remote(proj).of("assistant")}
    out = tmp_path / "refresh.json"
    shown = run("plan", str(proj), "--refresh-only", "--out", str(out))
    assert shown.code == 0, shown.err
    assert "refresh-only" in shown.out and "greeter" in shown.out and "analyst" not in shown.out
    plan, _ = read_plan(out)  # a saved refresh round-trips
    (action,) = plan.actions
    assert action.refresh and action.changes == () and action.before == action.after  # type: ignore[attr-defined]
    assert "(refresh-only)" in render.markdown(plan)
    assert json.loads(render.to_json(plan))["actions"][0]["refresh"] is True
    assert run("apply", str(out)).code == 0
    after = {a.id: a.data for a in remote(proj).of("assistant")}
    gid = assistant_id(proj, "greeter")
    strip = lambda d: {k: v for k, v in d.items() if k != "metadata"}  # noqa: E731
    assert strip(after[gid]) == strip(before[gid]) and after[gid]["name"] == "edited by hand"
    # no drift any more: the next plan is the way back to the specs, a plain update
    again = json.loads(run("plan", str(proj), "--json").out)
    (update,) = again["actions"]
    assert update["key"] == "greeter" and update["drift"] is False and not update["refresh"]
    assert json.loads(run("plan", str(proj), "--refresh-only", "--json").out)["actions"] == []


def test_apply_refresh_only_of_an_assistant_and_a_vector_store(proj: Path) -> None:
    edit_live(proj, "greeter", name="edited by hand")
    store = next(s for s in remote(proj).of("vector_store") if s.owner[1] == "docs")
    target = Target("sandbox", "sandbox", db=proj / ".state/sandbox.db")
    with connect(target) as backend:
        backend.update("vector_store", store.id, {"name": "store edited by hand"})
    result = run("apply", str(proj), "--refresh-only", "--auto-approve", "--json")
    assert result.code == 0, result.err
    done = {(d["kind"], d["key"], d["done"]) for d in json.loads(result.out)["done"]}
    assert done == {("assistant", "greeter", "refreshed"), ("vector_store", "docs", "refreshed")}
    actions = json.loads(run("plan", str(proj), "--json").out)["actions"]
    assert {a["key"] for a in actions} == {"greeter", "docs"}
    assert not any(a["drift"] for a in actions)
    live = next(s for s in remote(proj).of("vector_store") if s.id == store.id)
    assert live.data["name"] == "store edited by hand"


def test_apply_draws_a_bar_only_in_a_terminal(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = run("apply", str(project_dir), "--auto-approve")
    assert plain.code == 0 and "\r" not in plain.err and "Applying" not in plain.err
    assert "  + assistant greeter: created asst_" in plain.err  # one line per action
    (project_dir / "assistants/greeter.yaml").write_text(
        (project_dir / "assistants/greeter.yaml").read_text().replace("Greeter", "Hello")
    )
    import asst_deploy.cli.common as common

    monkeypatch.setattr(common, "is_tty", lambda stream: True)
    bar = run("apply", str(project_dir), "--auto-approve", "--replace", "analyst")
    assert bar.code == 0, bar.err
    assert "\r" in bar.err and "3/3" in bar.err and "assistant greeter: updated" in bar.err


def test_replace_recreates_an_unchanged_object(proj: Path, tmp_path: Path) -> None:
    old = assistant_id(proj, "greeter")
    out = tmp_path / "replace.json"
    shown = run("plan", str(proj), "--replace", "greeter", "--out", str(out))
    assert shown.code == 0, shown.err
    assert "-/+ assistant greeter" in shown.out and "asked for with --replace" in shown.out
    assert read_plan(out)[0].replace == ("greeter",)
    assert run("apply", str(out)).code == 0
    new = assistant_id(proj, "greeter")
    assert new != old and old not in ids(remote(proj))


def test_replace_refuses_protected_files_and_unknown_keys(proj: Path) -> None:
    spec = proj / "assistants/greeter.yaml"
    spec.write_text(spec.read_text() + "protect: true\n")
    assert run("apply", str(proj), "--auto-approve").code == 0
    before = ids(remote(proj))
    result = run("apply", str(proj), "--replace", "greeter", "--auto-approve")
    assert result.code == 1 and "is refused: it is protected" in result.err
    unknown = run("plan", str(proj), "--replace", "nobody")
    assert unknown.code == 1 and "--replace names no assistant" in unknown.err
    file = run("plan", str(proj), "--replace", "knowledge/faq.txt")
    assert file.code == 1 and "not a file" in file.err
    assert ids(remote(proj)) == before


def test_old_option_names_still_work_with_a_note(proj: Path) -> None:
    new = run("plan", str(proj), "--endpoint", "sandbox", "--resource", "greeter", "--json")
    old = run("plan", str(proj), "--target", "sandbox", "--only", "greeter", "--json")
    assert new.code == old.code == 0 and new.out == old.out
    assert "Deprecated" not in new.err
    assert "Deprecated: --target is now --endpoint" in old.err
    assert "Deprecated: --only is now --resource" in old.err
    wrong = run("plan", str(proj), "--endpoint", "nowhere")
    assert wrong.code == 1


def test_a_targets_max_retries_sets_the_attempts() -> None:
    policy = RetryPolicy()
    target = Target("t", "openai", max_retries=1)
    assert with_target_retries(policy, target).attempts == 2  # one retry after the first try
    assert with_target_retries(policy, Target("t", "openai")) is policy
    calls: list[int] = []

    def fail() -> None:
        calls.append(1)
        raise RemoteError("calling", "busy", status=503, retryable=True)

    from asst_deploy.engine.apply import retrying

    fast = with_target_retries(
        RetryPolicy(sleep=lambda s: None), Target("t", "openai", max_retries=0)
    )
    with pytest.raises(RemoteError):
        retrying(fast, fail)
    assert len(calls) == 1


def test_progress_lines_without_a_terminal_are_unchanged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ActionProgress(Output(), 3, force_bar=False) as bar:
        bar.status("[1/3] create assistant a")
        bar.done("  + assistant a: created asst_1")
    err = capsys.readouterr().err
    assert err == "  + assistant a: created asst_1\n"  # status is for terminals only


def test_progress_bar_draws_in_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ActionProgress(Output(), 3, force_bar=True) as bar:
        bar.status("[1/3] create assistant a")
        bar.done("  + assistant a: created asst_1")
        bar.done("  + assistant b: created asst_2")
    err = capsys.readouterr().err
    assert "  + assistant a: created asst_1" in err
    assert "\r" in err and "2/3" in err and "#" in err  # the bar, redrawn in place
