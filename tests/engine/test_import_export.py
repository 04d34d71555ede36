"""import, export and --only through the CLI, against the project's own sandbox db."""

from __future__ import annotations

import json
from pathlib import Path

from asst_deploy import identity
from asst_deploy.engine.targets import connect
from asst_deploy.spec.loader import load_project

from .test_cli import proj, remote, run

__all__ = ["proj"]  # the fixture, re-exported so pytest finds it here

FUNCTION = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a thing up.",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    },
}


def unmanaged(project: Path, **extra: object) -> dict[str, str]:
    """Objects made by hand on the project's target, as an existing setup would have."""
    with connect(load_project(project).target) as backend:
        store = backend.create("vector_store", {"name": "Docs", "metadata": {"owner": "bob"}})
        helper = backend.create(
            "assistant",
            {
                "model": "gpt-4o",
                "name": "Legacy Helper",
                "instructions": "Be helpful.\nAnswer briefly.",
                "tools": [{"type": "file_search"}, FUNCTION],
                "tool_resources": {"file_search": {"vector_store_ids": [store.id]}},
                "temperature": 0.3,
                "metadata": {"owner": "bob"},
                **extra,
            },
        )
        plain = backend.create("assistant", {"model": "gpt-4o-mini", "name": "Plain"})
    return {"store": store.id, "helper": helper.id, "plain": plain.id}


def test_export_then_plan_shows_only_the_ownership_tags(proj: Path, tmp_path: Path) -> None:
    made = unmanaged(proj)
    out = tmp_path / "exported"
    result = run("export", *made.values(), "--out", str(out), "--dir", str(proj))
    assert result.code == 0, result.err
    assert "Exported 3 object(s)" in result.out
    helper_spec = (out / "assistants/legacy-helper.yaml").read_text()
    assert f"adopt:\n  sandbox: {made['helper']}\n" in helper_spec  # on its target alone
    assert "file: prompts/legacy-helper.md" in helper_spec  # multi-line instructions
    assert (out / "prompts/legacy-helper.md").read_text() == "Be helpful.\nAnswer briefly."
    assert json.loads((out / "functions/lookup.json").read_text())["name"] == "lookup"
    assert run("validate", str(out)).code == 0
    # what another generation could not hold of it is said, field by field
    assert (
        "Does not carry over to api agents: legacy-helper: temperature, tools[0], "
        "tool_resources.file_search" in result.err
    )
    assert "Deploys unchanged to a target of api responses." in result.err
    # the generated project file points at the same sandbox state as the source project
    assert load_project(out).target.db.resolve() == (proj / ".state/sandbox.db").resolve()

    plan = json.loads(run("plan", str(out), "--json").out)
    assert plan["summary"] == {"add": 0, "change": 3, "destroy": 0}
    assert {(a["kind"], a["remote_id"]) for a in plan["actions"]} == {
        ("vector_store", made["store"]),
        ("assistant", made["helper"]),
        ("assistant", made["plain"]),
    }
    assert all(a["adopt"] and a["changes"] == [] for a in plan["actions"])
    assert "(adopt: add the ownership tags)" in run("plan", str(out)).out

    assert run("apply", str(out), "--auto-approve").code == 0, "adoption applies"
    assert "No changes." in run("plan", str(out)).out
    state = remote(proj)
    helper = next(a for a in state.of("assistant") if a.id == made["helper"])
    assert identity.owner(helper.data["metadata"])[:2] == ("feat-export", "legacy-helper")
    assert helper.data["metadata"]["owner"] == "bob"  # the user's metadata is kept
    assert len(state.of("assistant")) == 2, "adopted, not re-created"


def test_export_keeps_files_it_cannot_download_referenced(proj: Path, tmp_path: Path) -> None:
    with connect(load_project(proj).target) as backend:
        uploaded = backend.upload_file(_write(tmp_path / "notes.md", "# Notes\n"), "notes.md")
        store = backend.create("vector_store", {"name": "Notes"})
        backend.attach_files(store.id, [(uploaded.id, {})], None)
    out = tmp_path / "exported"
    result = run("export", store.id, "--out", str(out), "--dir", str(proj))
    assert result.code == 0, result.err
    assert f"file {uploaded.id} cannot be downloaded" in result.err
    assert "put its content at knowledge/notes/notes.md" in result.err
    # the attachment is still named, so nothing plans to detach it until the file is there
    result = run("validate", str(out))
    assert result.code == 1
    assert "file not found: 'knowledge/notes/notes.md'" in result.err


def test_import_tags_an_object_and_refuses_others(proj: Path) -> None:
    made = unmanaged(proj)
    result = run("import", "assistant", made["plain"], "--key", "plain", "--dir", str(proj))
    assert result.code == 0, result.err
    assert f"Imported assistant {made['plain']} as 'plain'" in result.out
    assert "No spec has the key 'plain' yet" in result.err
    plain = next(a for a in remote(proj).of("assistant") if a.id == made["plain"])
    assert identity.owner(plain.data["metadata"])[:2] == ("feat", "plain")
    # managed now: without a spec it is kept, and --prune would delete it
    assert f"assistant plain ({made['plain']})" in run("plan", str(proj)).out

    again = run("import", "assistant", made["plain"], "--key", "other", "--dir", str(proj))
    assert again.code == 1
    assert "already managed by this project as 'plain'" in again.err
    taken = run("import", "assistant", made["helper"], "--key", "plain", "--dir", str(proj))
    assert taken.code == 1 and "key 'plain' already names assistant" in taken.err
    missing = run("import", "vector_store", "vs_nope", "--key", "x", "--dir", str(proj))
    assert missing.code == 1 and "no vector_store vs_nope on target 'sandbox'" in missing.err


def test_only_limits_the_plan(proj: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    for name, old in (("greeter", "name: Greeter"), ("analyst", "name: ${company} Analyst")):
        path = proj / f"assistants/{name}.yaml"
        path.write_text(path.read_text().replace(old, old + " 2"))
    assert json.loads(run("plan", str(proj), "--json").out)["summary"]["change"] == 2
    plan = json.loads(run("plan", str(proj), "--json", "--only", "greeter").out)
    assert [(a["action"], a["key"]) for a in plan["actions"]] == [("update", "greeter")]
    result = run("plan", str(proj), "--resource", "nobody")
    assert result.code == 1
    assert "--resource names no resource of the project: nobody" in result.err


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_an_assistant_and_a_vector_store_keep_one_key(proj: Path, tmp_path: Path) -> None:
    """Keys are unique per spec kind: an export keeps a shared key as it is."""
    with connect(load_project(proj).target) as backend:
        backend.create("vector_store", {"name": "Docs"})
        backend.create("assistant", {"model": "gpt-4o-mini", "name": "Docs"})
    out = tmp_path / "exported"
    assert run("export", "--all", "--out", str(out), "--dir", str(proj)).code == 0
    assert (out / "assistants/docs.yaml").exists() and (out / "vector_stores/docs.yaml").exists()
