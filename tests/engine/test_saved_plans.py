"""Saved plans on every API generation: made for this project and endpoint, validated whole,
checked against a fresh read, and applied exactly (plan --out, plan --destroy --out).

Each test runs once per registered API generation against the project's own sandbox
database. The project is one every generation can hold; what it becomes differs (an
assistant, an agent with its environment template, or a request template that leaves
only the files and the vector store remote), so edits go to the vector store, which every
generation deploys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from asst_deploy import generations, identity
from asst_deploy.engine.compare import from_remote
from asst_deploy.engine.targets import connect
from asst_deploy.generations import API_GENERATIONS
from asst_deploy.spec.loader import load_project
from asst_deploy.state import RemoteState

from .conftest import write_project
from .test_cli import run
from .test_generations import PROJECT as GENERATIONS_PROJECT

PROJECT = {
    "asst-deploy.yaml": """\
project: saved
targets:
  sandbox:
    type: sandbox
    api: {api}
    db: .state/sandbox.db
default_target: sandbox
defaults:
  model: gpt-4o-mini
environments:
  prod:
    defaults:
      model: gpt-4o
""",
    # the generations suite's assistants and store, which every generation can hold
    **{
        path: text
        for path, text in GENERATIONS_PROJECT.items()
        if path != "asst-deploy.yaml" and "weather" not in path and "forecast" not in path
    },
}
DOCS = "vector_stores/docs.yaml"


@pytest.fixture(params=sorted(API_GENERATIONS))
def api(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# Documents of the kinds some generations refuse (refused_documents), by document kind:
# a generation that holds the kind deploys them too, so that its saved plans hold every
# kind it has.
OWN_DOCUMENTS: dict[str, dict[str, str]] = {
    "vault": {
        "vaults/keys.yaml": """\
kind: vault
key: keys
credentials:
  - name: docs
    auth:
      type: static_bearer
      mcp_server_url: https://mcp.example.com/docs
      token: {from_env: SAVED_DOCS_TOKEN}
""",
    },
    "automation": {
        "automations/daily.yaml": """\
kind: automation
key: daily
type: periodic
expression: "0 6 * * *"
timezone: Europe/Berlin
target: {new_session: {agent: tutor, input: Prepare the morning lesson.}}
""",
    },
    "skill": {
        "skills/notes.yaml": "kind: skill\nkey: notes\npath: skills/notes\n",
        "skills/notes/SKILL.md": "---\nname: notes\ndescription: Takes lesson notes.\n---\nWrite them.\n",
    },
    "environment": {
        "environments/lab.yaml": """\
kind: environment
key: lab
packages: {python: [sympy]}
skills: [notes]
setup_commands: [{command: echo ready}]
env: {LEVEL: beginner, LAB_TOKEN: {from_env: SAVED_LAB_TOKEN}}
""",
    },
}


@pytest.fixture
def proj(tmp_path: Path, api: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAVED_DOCS_TOKEN", "saved-docs-token-6a1b")
    monkeypatch.setenv("SAVED_LAB_TOKEN", "saved-lab-token-93f0")
    refused = generations.get(api).refused_documents
    files = {**PROJECT, "asst-deploy.yaml": PROJECT["asst-deploy.yaml"].replace("{api}", api)}
    for kind, documents in OWN_DOCUMENTS.items():
        if kind not in refused:
            files.update(documents)
    return write_project(tmp_path / "saved", files)


def remote(proj: Path) -> RemoteState:
    with connect(load_project(proj).target) as backend:
        return backend.read_state()


def ids(state: RemoteState) -> dict[str, object]:
    """Every remote object and file by id, with what it holds."""
    return {
        **{o.id: (o.kind, o.data) for o in state.all_objects()},
        **{f.id: f.filename for f in state.files},
    }


def saved(proj: Path, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "plan.json"
    result = run("plan", str(proj), "--out", str(out), *extra)
    assert result.code == 0, result.err
    return out


def edit_plan(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def rename_docs(proj: Path, name: str) -> None:
    spec = proj / DOCS
    spec.write_text(spec.read_text().replace("name: Docs", f"name: {name}"))


def test_a_fresh_saved_plan_applies_and_the_plan_after_it_is_empty(
    proj: Path, tmp_path: Path, api: str
) -> None:
    out = saved(proj, tmp_path)
    planned = {a["kind"] for a in json.loads(out.read_text())["actions"]}
    assert planned == {k.name for k in generations.kinds_of(api)}  # every kind it holds, made
    result = run("apply", str(out))
    assert result.code == 0, result.err
    assert run("plan", str(proj), "--detailed-exitcode").code == 0


def test_a_saved_destroy_plan_applies(proj: Path, tmp_path: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    assert ids(remote(proj))
    out = saved(proj, tmp_path, "--destroy")
    assert json.loads(out.read_text())["mode"] == "destroy"
    result = run("apply", str(out))
    assert result.code == 0, result.err
    assert ids(remote(proj)) == {}


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
    other = write_project(tmp_path / "other", {})
    for path in proj.rglob("*"):
        if path.is_file() and ".state" not in path.parts:
            target = other / path.relative_to(proj)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    spec = other / "asst-deploy.yaml"
    spec.write_text(spec.read_text().replace("project: saved", "project: other"))
    edit_plan(out, lambda d: d.update(root=str(other)))
    result = run("apply", str(out))
    assert result.code == 1
    assert "does not fit this project" in result.err
    assert "the plan was made for project 'saved', the project has 'other'" in result.err
    assert not ids(remote(other)) and not ids(remote(proj))


def test_plan_made_for_another_api_generation_is_refused(
    proj: Path, tmp_path: Path, api: str
) -> None:
    out = saved(proj, tmp_path)
    other = next(name for name in sorted(API_GENERATIONS) if name != api)
    spec = proj / "asst-deploy.yaml"
    spec.write_text(spec.read_text().replace(f"api: {api}", f"api: {other}"))
    for kind in generations.get(other).refused_documents:  # what `other` cannot hold goes
        for path in OWN_DOCUMENTS.get(kind, {}):
            (proj / path).unlink(missing_ok=True)
    result = run("apply", str(out))
    assert result.code == 1, result.err
    assert f"the plan was made for api '{api}', the project has '{other}'" in result.err
    assert not ids(remote(proj))


def test_plan_made_before_the_endpoint_changed_is_refused(proj: Path, tmp_path: Path) -> None:
    out = saved(proj, tmp_path)
    spec = proj / "asst-deploy.yaml"
    spec.write_text(spec.read_text().replace("db: .state/sandbox.db", "db: .state/elsewhere.db"))
    result = run("apply", str(out))
    assert result.code == 1
    assert "the plan was made for endpoint" in result.err


def test_damage_is_refused_before_any_call(proj: Path, tmp_path: Path, api: str) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    (proj / "assistants/greeter.yaml").unlink()
    rename_docs(proj, "Docs v2")
    out = saved(proj, tmp_path, "--prune")
    before = ids(remote(proj))
    foreign = "assistant" if api != "assistants" else "agent"  # a kind this API does not hold

    planned = len(json.loads(out.read_text())["actions"])

    def damage(data: dict[str, Any]) -> None:
        data["actions"][0]["remote_id"] = None
        data["actions"].append({"action": "create", "kind": "assistant", "key": 3})
        data["actions"].append({"action": "create", "kind": foreign, "key": "x", "after": {}})
        data["lease_generation"] = "1"

    edit_plan(out, damage)
    result = run("apply", str(out))
    assert result.code == 1, result.err
    assert "damaged plan file; nothing was changed" in result.err
    assert "actions[0].remote_id: expected str, got null" in result.err
    assert f"actions[{planned}].key: expected str, got a number" in result.err
    assert f"actions[{planned}].after: missing" in result.err
    held = ", ".join(k.name for k in generations.kinds_of(api))
    assert f"actions[{planned + 1}].kind: expected one of {held}, got '{foreign}'" in result.err
    assert "lease_generation: expected int, got a string" in result.err
    assert ids(remote(proj)) == before


def test_an_unknown_api_generation_is_named(proj: Path, tmp_path: Path) -> None:
    out = saved(proj, tmp_path)
    edit_plan(out, lambda d: d.update(api="realtime"))
    result = run("apply", str(out))
    assert result.code == 1, result.err
    assert f"api: expected one of {', '.join(API_GENERATIONS)}, got 'realtime'" in result.err


def test_an_added_delete_of_an_unmanaged_object_is_refused(proj: Path, tmp_path: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    with connect(load_project(proj).target) as backend:
        theirs = backend.create("vector_store", {"name": "theirs"})
        plain = backend.upload_file(proj / "knowledge/faq.txt", "faq.txt")
    rename_docs(proj, "Docs v2")
    out = saved(proj, tmp_path)
    before = ids(remote(proj))

    def add_deletes(data: dict[str, Any]) -> None:
        public = from_remote(theirs, {})
        data["actions"] += [
            {
                "action": "delete",
                "kind": "vector_store",
                "key": "docs",
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
    assert f"vector_store docs: {theirs.id} is not managed by project saved" in result.err
    assert f"file knowledge/faq.txt: {plain.id} is not managed by project saved" in result.err
    assert ids(remote(proj)) == before


def test_an_edited_action_is_not_what_a_fresh_plan_would_do(proj: Path, tmp_path: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    rename_docs(proj, "Docs v2")
    out = saved(proj, tmp_path)
    edit_plan(out, lambda d: d["actions"][0]["after"].update(name="Obey the edited plan"))
    before = ids(remote(proj))
    result = run("apply", str(out))
    assert result.code == 1, result.err
    assert "update vector_store docs" in result.err
    assert "is not what a fresh plan would do" in result.err
    assert ids(remote(proj)) == before


def test_a_plan_made_before_another_apply_landed_is_refused(proj: Path, tmp_path: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    rename_docs(proj, "Docs v2")
    out = saved(proj, tmp_path)
    assert json.loads(out.read_text())["lease_generation"] == 1
    # another pipeline applies a change to another object meanwhile, then reverts the spec
    (proj / "knowledge/faq.txt").write_text("Q: Is it snowing?\nA: Look outside.\n")
    assert run("apply", str(proj), "--auto-approve").code == 0
    (proj / "knowledge/faq.txt").write_text(PROJECT["knowledge/faq.txt"])
    result = run("apply", str(out))
    assert result.code == 1, result.err
    assert "another apply landed since the plan was made (lease generation 1, now 2)" in result.err


def test_every_saved_plan_is_valid_against_the_schema_made_from_the_action_types(
    proj: Path, tmp_path: Path, api: str
) -> None:
    import jsonschema

    schema = json.loads(run("schema", "plan").out)
    verbs = {
        v["if"]["properties"]["action"]["const"]
        for v in schema["properties"]["actions"]["items"]["allOf"]
    }
    assert verbs == {"create", "update", "replace", "delete"}
    made = json.loads(saved(proj, tmp_path).read_text())
    jsonschema.validate(made, schema)
    assert run("apply", str(proj), "--auto-approve").code == 0
    (proj / "assistants/greeter.yaml").unlink()
    rename_docs(proj, "Docs v2")
    changed = json.loads(saved(proj, tmp_path, "--prune").read_text())
    jsonschema.validate(changed, schema)
    assert {a["action"] for a in changed["actions"]} >= {"update"}
    destroyed = json.loads(saved(proj, tmp_path, "--destroy").read_text())
    jsonschema.validate(destroyed, schema)
    # and it refuses what the checker refuses: an update without its remote id
    changed["actions"][0].pop("remote_id")
    with pytest.raises(jsonschema.ValidationError, match="'remote_id' is a required property"):
        jsonschema.validate(changed, schema)
