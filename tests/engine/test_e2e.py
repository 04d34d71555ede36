"""End to end through the sandbox with the real openai SDK: every spec feature converges."""

from __future__ import annotations

import json

import openai
import pytest

from asst_deploy import authorship, identity
from asst_deploy.engine import operations, planfile
from asst_deploy.errors import AsstDeployError
from asst_deploy.plan import Create, Delete, Plan, Replace, Update
from asst_deploy.sandbox.server import SandboxServer

from .conftest import (
    PROJECT,
    Deployer,
    Foreign,
    assert_no_duplicates,
    managed_counts,
    proof_of_authorship,
)


def summary(plan: Plan) -> list[tuple[str, str, str]]:
    return [(a.verb, a.kind, a.key) for a in plan.actions]


def changed_fields(plan: Plan) -> dict[tuple[str, str], list[str]]:
    return {
        (a.kind, a.key): [c.field for c in a.changes]
        for a in plan.actions
        if isinstance(a, Update | Replace)
    }


def assistant_by_key(client: openai.OpenAI, key: str) -> dict:
    found = [
        a.model_dump(mode="json")
        for a in client.beta.assistants.list(limit=100)
        if (a.metadata or {}).get(identity.PROJECT_KEY) == PROJECT
        and (a.metadata or {}).get(identity.SPEC_KEY) == key
    ]
    assert len(found) == 1, found
    return found[0]


def store_by_key(client: openai.OpenAI, key: str) -> dict:
    found = [
        s.model_dump(mode="json")
        for s in client.vector_stores.list(limit=100)
        if (s.metadata or {}).get(identity.PROJECT_KEY) == PROJECT
        and (s.metadata or {}).get(identity.SPEC_KEY) == key
    ]
    assert len(found) == 1, found
    return found[0]


def test_first_apply_creates_everything_then_plan_is_empty(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    plan = deployer.apply()
    assert summary(plan) == [
        ("create", "file", "data/orders.csv"),
        ("create", "file", "knowledge/faq.txt"),
        ("create", "file", "knowledge/policy.md"),
        ("create", "vector_store", "docs"),
        ("create", "assistant", "analyst"),
        ("create", "assistant", "greeter"),
    ]
    assert deployer.plan().empty
    assert deployer.plan(prune=True).empty
    assert_no_duplicates(deployer.backend.read_state())

    # every feature reached the live objects
    analyst = assistant_by_key(client, "analyst")
    assert analyst["name"] == "Acme Analyst"
    assert analyst["instructions"] == "You are the analyst of Acme. Be friendly.\n"
    assert analyst["description"] == "Answers questions about orders and documents."
    assert analyst["model"] == "gpt-4o-mini"
    assert (analyst["temperature"], analyst["top_p"]) == (0.7, 0.9)
    assert analyst["metadata"]["owner"] == "analytics"
    assert analyst["metadata"]["team"] == "platform"
    assert analyst["response_format"]["json_schema"]["name"] == "answer"
    tools = {t["type"] + ":" + (t.get("function") or {}).get("name", "") for t in analyst["tools"]}
    assert tools == {
        "code_interpreter:",
        "file_search:",
        "function:cancel_order",
        "function:lookup_order",
    }
    file_search = next(t for t in analyst["tools"] if t["type"] == "file_search")
    assert file_search["file_search"]["max_num_results"] == 7
    assert file_search["file_search"]["ranking_options"]["score_threshold"] == 0.25
    lookup = next(
        t["function"]
        for t in analyst["tools"]
        if (t.get("function") or {}).get("name") == "lookup_order"
    )
    assert lookup["strict"] is True
    store = store_by_key(client, "docs")
    assert analyst["tool_resources"]["file_search"]["vector_store_ids"] == [store["id"]]
    ci_files = analyst["tool_resources"]["code_interpreter"]["file_ids"]
    assert [client.files.retrieve(i).filename for i in ci_files] == [
        identity.file_name(
            PROJECT,
            identity.file_sha(deployer.root / "data/orders.csv"),
            "data/orders.csv",
            proof_of_authorship(deployer.backend, "file", "data/orders.csv"),
        )
    ]
    assert store["name"] == "Acme docs"
    assert store["expires_after"] == {"anchor": "last_active_at", "days": 30}
    assert store["metadata"]["owner"] == "docs-team"
    files = list(client.vector_stores.files.list(store["id"]))
    assert len(files) == 2
    assert {f.status for f in files} == {"completed"}
    attributes = [f.attributes or {} for f in files]
    assert {"topic": "policy", "version": 2, "public": True} in attributes
    assert {f.chunking_strategy.static.max_chunk_size_tokens for f in files} == {600}  # type: ignore[union-attr]
    greeter = assistant_by_key(client, "greeter")
    assert greeter["instructions"] == "Greet visitors of Acme in a friendly tone."


def test_environment_applies_and_converges(deployer: Deployer, client: openai.OpenAI) -> None:
    deployer.apply()
    deployer.env = "prod"
    plan = deployer.plan()
    assert changed_fields(plan) == {
        ("vector_store", "docs"): ["name"],
        ("assistant", "analyst"): ["instructions", "model", "temperature"],
        ("assistant", "greeter"): ["instructions", "model"],
    }
    deployer.apply()
    assert deployer.plan().empty
    analyst = assistant_by_key(client, "analyst")
    assert (analyst["model"], analyst["temperature"]) == ("gpt-4o", 0.3)
    assert analyst["instructions"] == "You are the analyst of Acme. Be formal.\n"


# (file, old text, new text, kind, key, the one field that changes)
FIELD_EDITS = [
    (
        "assistants/analyst.yaml",
        "name: ${company} Analyst",
        "name: Analyst",
        "assistant",
        "analyst",
        "name",
    ),
    (
        "assistants/analyst.yaml",
        "description: Answers",
        "description: Replies to",
        "assistant",
        "analyst",
        "description",
    ),
    ("prompts/analyst.md", "Be ${tone}.", "Be brief.", "assistant", "analyst", "instructions"),
    (
        "assistants/analyst.yaml",
        "temperature: 0.7",
        "temperature: 0.2",
        "assistant",
        "analyst",
        "temperature",
    ),
    ("assistants/analyst.yaml", "top_p: 0.9", "top_p: 0.5", "assistant", "analyst", "top_p"),
    (
        "assistants/analyst.yaml",
        "owner: analytics",
        "owner: finance",
        "assistant",
        "analyst",
        "metadata",
    ),
    (
        "assistants/analyst.yaml",
        "max_num_results: 7",
        "max_num_results: 3",
        "assistant",
        "analyst",
        "tools",
    ),
    (
        "assistants/analyst.yaml",
        "score_threshold: 0.25",
        "score_threshold: 0.5",
        "assistant",
        "analyst",
        "tools",
    ),
    (
        "assistants/analyst.yaml",
        "description: Cancel an order.",
        "description: Cancel it.",
        "assistant",
        "analyst",
        "tools",
    ),
    ("functions/lookup.json", '"strict": true', '"strict": false', "assistant", "analyst", "tools"),
    (
        "assistants/analyst.yaml",
        "name: answer",
        "name: reply",
        "assistant",
        "analyst",
        "response_format",
    ),
    (
        "assistants/analyst.yaml",
        "  - type: code_interpreter\n",
        "",
        "assistant",
        "analyst",
        "tools",
    ),
    (
        "assistants/greeter.yaml",
        "kind: assistant",
        "kind: assistant\nmodel: gpt-4o",
        "assistant",
        "greeter",
        "model",
    ),
    (
        "vector_stores/docs.yaml",
        "name: ${company} docs",
        "name: Docs",
        "vector_store",
        "docs",
        "name",
    ),
    ("vector_stores/docs.yaml", "days: 30", "days: 7", "vector_store", "docs", "expires_after"),
    (
        "vector_stores/docs.yaml",
        "owner: docs-team",
        "owner: support",
        "vector_store",
        "docs",
        "metadata",
    ),
    ("vector_stores/docs.yaml", "topic: policy", "topic: rules", "vector_store", "docs", "files"),
    ("asst-deploy.yaml", "company: Acme", "company: Acme Inc", None, None, None),
]


@pytest.mark.parametrize(
    ("rel", "old", "new", "kind", "key", "field"),
    FIELD_EDITS,
    ids=[f"{e[0]}:{e[5] or 'vars'}" + (f"-{i}" if i else "") for i, e in enumerate(FIELD_EDITS)],
)
def test_one_field_change_is_one_update(
    deployer: Deployer,
    rel: str,
    old: str,
    new: str,
    kind: str | None,
    key: str | None,
    field: str | None,
) -> None:
    deployer.apply()
    if rel == "assistants/analyst.yaml" and old.startswith("  - type: code_interpreter"):
        # without the tool, its files must go too (validation says so)
        deployer.edit(rel, "  code_interpreter:\n    files: [data/*.csv]\n", "")
    deployer.edit(rel, old, new)
    plan = deployer.plan()
    if kind is None:  # ${company} is used in two resources and in a prompt file
        assert changed_fields(plan) == {
            ("vector_store", "docs"): ["name"],
            ("assistant", "analyst"): ["instructions", "name"],
            ("assistant", "greeter"): ["instructions"],
        }
    elif field == "tools" and "code_interpreter" in old:
        assert changed_fields(plan) == {(kind, key): ["code_interpreter_files", "tools"]}
    else:
        assert changed_fields(plan) == {(kind, key): [field]}
    assert all(isinstance(a, Update) and not a.drift for a in plan.actions)
    deployer.apply()
    assert deployer.plan().empty
    assert_no_duplicates(deployer.backend.read_state())


def test_out_of_band_edit_is_drift(deployer: Deployer, client: openai.OpenAI) -> None:
    deployer.apply()
    analyst = assistant_by_key(client, "analyst")
    client.beta.assistants.update(analyst["id"], instructions="hacked", temperature=1.5)
    store = store_by_key(client, "docs")
    client.vector_stores.update(store["id"], name="renamed by hand")
    plan = deployer.plan()
    assert changed_fields(plan) == {
        ("vector_store", "docs"): ["name"],
        ("assistant", "analyst"): ["instructions", "temperature"],
    }
    assert all(isinstance(a, Update) and a.drift for a in plan.actions)
    deployer.apply()
    assert deployer.plan().empty
    assert assistant_by_key(client, "analyst")["instructions"].startswith("You are the analyst")


def test_spec_change_is_not_drift_but_both_together_are(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    deployer.apply()
    deployer.edit("assistants/greeter.yaml", "name: Greeter", "name: Host")
    (update,) = deployer.plan().actions
    assert isinstance(update, Update) and not update.drift
    greeter = assistant_by_key(client, "greeter")
    client.beta.assistants.update(greeter["id"], description="by hand")
    (update,) = deployer.plan().actions
    assert isinstance(update, Update) and update.drift
    assert [c.field for c in update.changes] == ["description", "name"]


def test_out_of_band_file_detach_and_attach_are_drift(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    deployer.apply()
    store = store_by_key(client, "docs")
    files = list(client.vector_stores.files.list(store["id"]))
    client.vector_stores.files.delete(files[0].id, vector_store_id=store["id"])
    stranger = client.files.create(file=("stranger.md", b"# mine"), purpose="assistants")
    client.vector_stores.files.create(store["id"], file_id=stranger.id)
    (update,) = deployer.plan().actions
    assert isinstance(update, Update) and update.drift
    assert [c.field for c in update.changes] == ["files"]
    assert {"file": f"id:{stranger.id}", "attributes": {}} in update.changes[0].before
    deployer.apply()
    assert deployer.plan().empty
    # detached, never deleted: the file is not ours
    assert client.files.retrieve(stranger.id).id == stranger.id


def test_chunking_change_replaces_the_store_and_repoints_assistants(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    deployer.apply()
    old = store_by_key(client, "docs")
    deployer.edit(
        "vector_stores/docs.yaml", "max_chunk_size_tokens: 600", "max_chunk_size_tokens: 900"
    )
    plan = deployer.plan()
    replace = plan.actions[0]
    assert isinstance(replace, Replace)
    assert (replace.kind, replace.key, replace.remote_id) == ("vector_store", "docs", old["id"])
    assert [c.field for c in replace.changes] == ["chunking_strategy"]
    # the assistant that uses the store is re-pointed at the new one
    assert summary(plan) == [
        ("replace", "vector_store", "docs"),
        ("update", "assistant", "analyst"),
    ]
    assert plan.counts() == (1, 1, 1)
    deployer.apply()
    assert deployer.plan().empty
    new = store_by_key(client, "docs")
    assert new["id"] != old["id"]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(old["id"])
    files = list(client.vector_stores.files.list(new["id"]))
    assert {f.chunking_strategy.static.max_chunk_size_tokens for f in files} == {900}  # type: ignore[union-attr]
    analyst = assistant_by_key(client, "analyst")
    assert analyst["tool_resources"]["file_search"]["vector_store_ids"] == [new["id"]]


def test_protected_store_refuses_replacement(deployer: Deployer, client: openai.OpenAI) -> None:
    deployer.edit(
        "vector_stores/docs.yaml", "kind: vector_store", "kind: vector_store\nprotect: true"
    )
    deployer.apply()
    old = store_by_key(client, "docs")
    deployer.edit(
        "vector_stores/docs.yaml", "max_chunk_size_tokens: 600", "max_chunk_size_tokens: 900"
    )
    plan = deployer.plan()
    assert plan.empty
    assert len(plan.refused) == 1
    assert "docs" in plan.refused[0] and "protected" in plan.refused[0]
    deployer.apply()
    assert store_by_key(client, "docs") == old


def test_prune_deletes_only_managed_objects(
    deployer: Deployer, client: openai.OpenAI, foreign: Foreign
) -> None:
    deployer.apply()
    greeter = assistant_by_key(client, "greeter")
    (deployer.root / "assistants/greeter.yaml").unlink()
    plan = deployer.plan()
    assert plan.empty
    assert [(k.kind, k.key, k.remote_id) for k in plan.kept] == [
        ("assistant", "greeter", greeter["id"])
    ]
    deployer.apply()
    assert client.beta.assistants.retrieve(greeter["id"]).id == greeter["id"]

    # now drop the vector store and its files too, and prune
    (deployer.root / "vector_stores/docs.yaml").unlink()
    deployer.edit("assistants/analyst.yaml", "  file_search:\n    vector_stores: [docs]\n", "")
    plan = deployer.plan(prune=True)
    assert sorted(summary(plan)) == [
        ("delete", "assistant", "greeter"),
        ("delete", "file", "knowledge/faq.txt"),
        ("delete", "file", "knowledge/policy.md"),
        ("delete", "vector_store", "docs"),
        ("update", "assistant", "analyst"),
    ]
    deployer.apply(prune=True)
    assert deployer.plan(prune=True).empty
    counts = managed_counts(deployer.backend.read_state())
    assert set(counts) == {("assistant", "analyst"), ("file", "data/orders.csv")}
    foreign.assert_untouched()


def test_foreign_objects_survive_apply_prune_and_destroy(
    deployer: Deployer, foreign: Foreign
) -> None:
    plan = deployer.plan(prune=True)
    assert all(isinstance(a, Create) for a in plan.actions)
    deployer.apply(prune=True)
    foreign.assert_untouched()
    assert deployer.plan(prune=True).empty
    destroyed = deployer.destroy()
    assert len(destroyed.actions) == 6
    foreign.assert_untouched()
    assert not managed_counts(deployer.backend.read_state())


def test_destroy_deletes_everything_in_reverse_order(
    deployer: Deployer, server: SandboxServer
) -> None:
    deployer.apply()
    start = server.log.total
    plan = deployer.destroy()
    assert [a.kind for a in plan.actions] == ["assistant"] * 2 + ["vector_store"] + ["file"] * 3
    assert all(isinstance(a, Delete) for a in plan.actions)
    deletes = [e.path for e in server.log.since(start) if e.method == "DELETE"]
    assert [p.split("/")[2] for p in deletes] == ["assistants"] * 2 + ["vector_stores"] + [
        "files"
    ] * 3
    # the deployment marker stays (authorship.py): without it, tags alone would be trusted
    assert authorship.markers(deployer.backend.read_state().leases)["feat"].sealed
    assert not managed_counts(deployer.backend.read_state())
    assert [a.verb for a in deployer.plan().actions] == ["create"] * 6


def test_protected_assistant_refuses_destroy(deployer: Deployer, client: openai.OpenAI) -> None:
    deployer.edit("assistants/greeter.yaml", "kind: assistant", "kind: assistant\nprotect: true")
    deployer.apply()
    plan = operations.destroy_plan(deployer.load(), deployer.backend.read_state())
    assert plan.refused == ("assistant 'greeter' is protected; set protect: false to destroy it",)
    assert ("assistant", "greeter") not in {(a.kind, a.key) for a in plan.actions}


def test_file_content_change_at_equal_size_replaces_the_file(
    deployer: Deployer, client: openai.OpenAI, server: SandboxServer
) -> None:
    deployer.apply()
    state = deployer.backend.read_state()
    old = next(f for f in state.files if f.identity and f.identity.path == "knowledge/policy.md")
    store_id = store_by_key(client, "docs")["id"]
    text = (deployer.root / "knowledge/policy.md").read_text()
    deployer.write("knowledge/policy.md", text.replace("30 days", "60 days"))
    assert len(text) == len((deployer.root / "knowledge/policy.md").read_text())
    plan = deployer.plan()
    assert summary(plan) == [
        ("replace", "file", "knowledge/policy.md"),
        ("update", "vector_store", "docs"),
    ]
    assert [c.field for c in plan.actions[0].changes] == ["sha"]  # type: ignore[attr-defined]
    start = server.log.total
    deployer.apply()
    # the old file goes only after the store points at the new one
    writes = [(e.method, e.path) for e in server.log.since(start) if e.method != "GET"]
    attach = writes.index(("POST", f"/v1/vector_stores/{store_id}/file_batches"))
    assert writes[-1] == ("DELETE", f"/v1/files/{old.id}")
    assert attach < len(writes) - 1
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(old.id)
    assert deployer.plan().empty
    assert_no_duplicates(deployer.backend.read_state())


def test_unchanged_files_are_never_uploaded_again(
    deployer: Deployer, server: SandboxServer
) -> None:
    deployer.apply()
    uploads = server.log.routes()["POST /v1/files"].requests
    assert uploads == 3
    deployer.edit("assistants/greeter.yaml", "name: Greeter", "name: Host")
    deployer.edit(
        "vector_stores/docs.yaml", "max_chunk_size_tokens: 600", "max_chunk_size_tokens: 700"
    )
    deployer.apply()
    deployer.apply()
    assert server.log.routes()["POST /v1/files"].requests == uploads
    assert deployer.plan().empty


def test_stale_saved_plan_is_refused_and_changes_nothing(
    deployer: Deployer, client: openai.OpenAI, tmp_path
) -> None:
    deployer.apply()
    deployer.edit("assistants/greeter.yaml", "name: Greeter", "name: Host")
    project = deployer.load()
    plan, _ = operations.make_plan(project, deployer.backend)
    saved = tmp_path / "plan.json"
    operations.save_plan(plan, project, saved)
    greeter = assistant_by_key(client, "greeter")
    client.beta.assistants.update(greeter["id"], description="meanwhile")
    loaded, root = operations.read_plan(saved)
    assert loaded == plan and root == deployer.root.resolve()
    reasons = operations.stale_reasons(
        loaded, deployer.backend.read_state(), operations.local_shas(project)
    )
    assert reasons == [f"assistant greeter ({greeter['id']}) changed since the plan was made"]


def test_saved_plan_with_file_deletes_is_not_stale(deployer: Deployer, tmp_path) -> None:
    deployer.apply()
    deployer.edit("knowledge/faq.txt", "Ask", "Call")
    (deployer.root / "vector_stores/docs.yaml").unlink()
    deployer.edit("assistants/analyst.yaml", "  file_search:\n    vector_stores: [docs]\n", "")
    project = deployer.load()
    plan, _ = operations.make_plan(project, deployer.backend, prune=True)
    assert {a.verb for a in plan.actions if a.kind == "file"} == {"delete"}
    operations.save_plan(plan, project, tmp_path / "p.json")
    loaded, _ = operations.read_plan(tmp_path / "p.json")
    assert (
        operations.stale_reasons(
            loaded, deployer.backend.read_state(), operations.local_shas(project)
        )
        == []
    )


def test_local_file_changed_after_plan_is_refused(deployer: Deployer) -> None:
    project = deployer.load()
    plan, remote = operations.make_plan(project, deployer.backend)
    deployer.write("knowledge/faq.txt", "changed\n")
    reasons = operations.stale_reasons(
        plan, deployer.backend.read_state(), operations.local_shas(project)
    )
    assert reasons == ["local file knowledge/faq.txt changed since the plan was made"]
    from asst_deploy.engine.apply import apply_plan

    with pytest.raises(
        AsstDeployError, match=r"knowledge/faq\.txt changed since the plan was made"
    ):
        apply_plan(plan, project.root, deployer.backend, remote, options=deployer.options)


def test_duplicate_left_by_interrupted_apply_is_removed(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    deployer.apply()
    analyst = assistant_by_key(client, "analyst")
    # what a create interrupted before it wrote its final proof of authorship leaves
    provisional = proof_of_authorship(deployer.backend, "assistant", "analyst")
    stamp = identity.with_proof(analyst["metadata"][identity.HASH_KEY], provisional)
    dup = client.beta.assistants.create(
        **{
            k: analyst[k]
            for k in (
                *("model", "name", "description", "instructions", "tools"),
                *("tool_resources", "temperature", "top_p"),
            )
        },
        metadata={**analyst["metadata"], identity.HASH_KEY: stamp},
        response_format=deployer.load().assistants[0].response_format,
    )
    # a plain apply never deletes a copy (it may be someone's faithful clone): it shows it
    plain = deployer.plan()
    assert plain.empty and [k.remote_id for k in plain.kept] == [dup.id]
    plan = deployer.plan(prune=True)
    assert [(a.verb, a.key, a.remote_id) for a in plan.actions] == [("delete", "analyst", dup.id)]
    deployer.apply(prune=True)
    assert deployer.plan().empty and not deployer.plan().kept
    assert assistant_by_key(client, "analyst")["id"] == analyst["id"]


def test_plan_json_survives_a_round_trip(deployer: Deployer) -> None:
    plan = deployer.plan()
    assert planfile.from_json(json.loads(json.dumps(plan.to_json()))) == plan
