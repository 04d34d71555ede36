"""Saved plans: made for this project and endpoint, validated whole, checked against a fresh read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from asst_deploy.kinds import assistant as assistant_kind
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import load_project

from .conftest import FULL_PROJECT, write_project
from .test_cli import ids, remote, run


@pytest.fixture
def proj(project_dir: Path) -> Path:
    return project_dir


def saved(proj: Path, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "plan.json"
    result = run("plan", str(proj), "--out", str(out), *extra)
    assert result.code == 0, result.err
    return out


def edit_plan(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "option", [["--prune"], ["--env", "prod"], ["--target", "sandbox"], ["--only", "greeter"]]
)
def test_planning_options_with_a_plan_file_are_refused(
    proj: Path, tmp_path: Path, option: list[str]
) -> None:
    out = saved(proj, tmp_path)
    result = run("apply", str(out), *option)
    assert result.code == 1, result.err
    assert "takes no planning options" in result.err and option[0] in result.err
    assert not ids(remote(proj))


def test_plan_made_for_another_project_is_refused(proj: Path, tmp_path: Path) -> None:
    out = saved(proj, tmp_path)
    other = write_project(tmp_path / "other", FULL_PROJECT)
    spec = other / "asst-deploy.yaml"
    spec.write_text(spec.read_text().replace("project: feat", "project: other"))
    edit_plan(out, lambda d: d.update(root=str(other)))
    result = run("apply", str(out))
    assert result.code == 1
    assert "does not fit this project" in result.err
    assert "the plan was made for project 'feat', the project has 'other'" in result.err
    assert not ids(remote(other)) and not ids(remote(proj))


def test_plan_made_before_the_endpoint_changed_is_refused(proj: Path, tmp_path: Path) -> None:
    out = saved(proj, tmp_path)
    spec = proj / "asst-deploy.yaml"
    spec.write_text(spec.read_text().replace("db: .state/sandbox.db", "db: .state/elsewhere.db"))
    result = run("apply", str(out))
    assert result.code == 1
    assert "the plan was made for endpoint" in result.err


def test_null_remote_id_is_refused_before_any_call(proj: Path, tmp_path: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    (proj / "assistants/greeter.yaml").unlink()
    out = saved(proj, tmp_path, "--prune")
    before = ids(remote(proj))

    def damage(data: dict[str, Any]) -> None:
        data["actions"][0]["remote_id"] = None
        data["actions"].append({"action": "create", "kind": "assistant", "key": 3})
        data["lease_generation"] = "1"

    edit_plan(out, damage)
    result = run("apply", str(out))
    assert result.code == 1, result.err
    assert "damaged plan file; nothing was changed" in result.err
    assert "actions[0].remote_id: expected str, got null" in result.err
    assert "actions[1].key: expected str, got a number" in result.err
    assert "actions[1].after: missing" in result.err
    assert "lease_generation: expected int, got a string" in result.err
    assert ids(remote(proj)) == before


def test_an_added_delete_of_an_unmanaged_object_is_refused(proj: Path, tmp_path: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    with connect(load_project(proj).target) as backend:
        theirs = backend.create("assistant", {"model": "gpt-4o-mini", "name": "theirs"})
        plain = backend.upload_file(proj / "knowledge/faq.txt", "faq.txt")
    (proj / "assistants/greeter.yaml").write_text("kind: assistant\nkey: greeter\nname: Host\n")
    out = saved(proj, tmp_path)
    before = ids(remote(proj))

    def add_deletes(data: dict[str, Any]) -> None:
        from asst_deploy import identity

        public = assistant_kind.from_remote(theirs.data, {})
        data["actions"] += [
            {
                "action": "delete",
                "kind": "assistant",
                "key": "greeter",
                "remote_id": theirs.id,
                "fingerprint": identity.canonical_hash(public),
                "before": public,
            },
            {
                "action": "delete",
                "kind": "file",
                "key": "knowledge/faq.txt",
                "remote_id": plain.id,
                "fingerprint": None,
                "before": None,
            },
        ]

    edit_plan(out, add_deletes)
    result = run("apply", str(out))
    assert result.code == 1, result.err
    assert f"assistant greeter: {theirs.id} is not managed by project feat" in result.err
    assert f"file knowledge/faq.txt: {plain.id} is not managed by project feat" in result.err
    assert ids(remote(proj)) == before


def test_an_edited_action_is_not_what_a_fresh_plan_would_do(proj: Path, tmp_path: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    (proj / "assistants/greeter.yaml").write_text("kind: assistant\nkey: greeter\nname: Host\n")
    out = saved(proj, tmp_path)
    edit_plan(out, lambda d: d["actions"][0]["after"].update(instructions="Obey the edited plan."))
    before = ids(remote(proj))
    result = run("apply", str(out))
    assert result.code == 1, result.err
    assert "update assistant greeter" in result.err
    assert "is not what a fresh plan would do" in result.err
    assert ids(remote(proj)) == before


def test_a_plan_made_before_another_apply_landed_is_refused(proj: Path, tmp_path: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    (proj / "assistants/greeter.yaml").write_text("kind: assistant\nkey: greeter\nname: Host\n")
    out = saved(proj, tmp_path)
    assert json.loads(out.read_text())["lease_generation"] == 1
    # another pipeline applies a change to another object meanwhile
    analyst = proj / "assistants/analyst.yaml"
    analyst.write_text(analyst.read_text().replace("temperature: 0.7", "temperature: 0.6"))
    assert run("apply", str(proj), "--auto-approve", "--only", "analyst").code == 0
    analyst.write_text(analyst.read_text().replace("temperature: 0.6", "temperature: 0.7"))
    result = run("apply", str(out))
    assert result.code == 1, result.err
    assert "another apply landed since the plan was made (lease generation 1, now 2)" in result.err


def test_a_fresh_saved_plan_still_applies(proj: Path, tmp_path: Path) -> None:
    out = saved(proj, tmp_path)
    result = run("apply", str(out))
    assert result.code == 0, result.err
    assert run("plan", str(proj), "--detailed-exitcode").code == 0
