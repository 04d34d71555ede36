"""Reliability defects of issue 9: stuck applies, failed reads, retried deletes, slow recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from asst_deploy import identity
from asst_deploy.backend import RemoteError
from asst_deploy.engine import operations, render
from asst_deploy.engine.apply import Options, RetryPolicy, read_state
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.generations.sdk import openai_backend
from asst_deploy.plan import Create, Lookalike, Plan
from asst_deploy.sandbox.faults import FaultConfig, FaultRule
from asst_deploy.sandbox.server import SandboxServer

from .conftest import (
    NO_SLEEP,
    Deployer,
    Foreign,
    assert_no_duplicates,
    managed_counts,
    proof_of_authorship,
)

SERIAL = Options(parallelism=1, poll_interval=0.01, retry=NO_SLEEP)


def test_removing_a_file_from_an_updated_store_with_prune_converges(
    deployer: Deployer, foreign: Foreign
) -> None:
    # one plan deletes the file version and detaches it from a store updated in place
    deployer.apply()
    deployer.edit("vector_stores/docs.yaml", "  - knowledge/faq.txt\n", "")
    plan = deployer.apply(prune=True)
    assert {(a.verb, a.kind, a.key) for a in plan.actions} == {
        ("update", "vector_store", "docs"),
        ("delete", "file", "knowledge/faq.txt"),
    }
    assert deployer.plan(prune=True).empty
    assert_no_duplicates(deployer.backend.read_state())
    foreign.assert_untouched()


def test_changed_file_uploaded_before_a_crash_then_store_update_converges(
    deployer: Deployer,
) -> None:
    # the state a SIGKILL between the upload of a changed file and the store update leaves
    deployer.apply()
    deployer.edit("knowledge/faq.txt", "Ask", "Call")
    project = deployer.load()
    path = "knowledge/faq.txt"
    sha = operations.local_shas(project)[path]
    proof = proof_of_authorship(deployer.backend, "file", path)
    deployer.backend.upload_file(project.root / path, identity.file_name("feat", sha, path, proof))
    deployer.apply(prune=True)
    assert deployer.plan(prune=True).empty
    assert_no_duplicates(deployer.backend.read_state())


class DetachCommitsThenFails:
    """The first detach is done on the server but answers 500 (its retry then sees 404)."""

    def __init__(self, inner: AssistantsBackend) -> None:
        self.inner = inner
        self.failed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def detach_file(self, store_id: str, file_id: str) -> None:
        self.inner.detach_file(store_id, file_id)
        if not self.failed:
            self.failed += 1
            raise RemoteError("detaching", "server error", status=500, retryable=True)


def test_detach_that_committed_but_failed_is_done_on_retry(deployer: Deployer) -> None:
    deployer.apply()
    deployer.edit("vector_stores/docs.yaml", "  - knowledge/faq.txt\n", "")
    flaky = DetachCommitsThenFails(deployer.backend)  # type: ignore[arg-type]
    deployer.apply(backend=flaky, options=SERIAL)  # type: ignore[arg-type]
    assert flaky.failed == 1
    assert deployer.plan().empty


def test_a_dropped_list_page_is_fetched_again_alone(
    deployer: Deployer, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        client.beta.assistants.create(model="gpt-4o-mini", name=f"a{n}")
    monkeypatch.setattr(openai_backend, "_PAGE", 1)
    backend = AssistantsBackend(client)
    assistants = backend.collections["assistant"].resource
    real = assistants.list
    afters: list[str | None] = []

    def flaky(**kwargs: Any) -> Any:
        afters.append(kwargs.get("after"))
        if len(afters) == 2:  # the second page's first attempt: the connection drops
            request = openai._base_client.httpx2.Request("GET", "http://127.0.0.1/")  # type: ignore[attr-defined]
            raise openai.APIConnectionError(request=request)
        return real(**kwargs)

    monkeypatch.setattr(assistants, "list", flaky)
    state = read_state(backend, NO_SLEEP)
    assert len(state.of("assistant")) == 3
    # page 1 once, page 2 twice (the retry), page 3 once; the read never started over
    assert afters[0] is None and afters[1] == afters[2] and len(afters) == 4


def test_a_list_that_drops_under_faults_does_not_fail_the_plan(
    deployer: Deployer, server: SandboxServer
) -> None:
    deployer.apply()
    server.faults = FaultConfig(seed=5, rules=[FaultRule(method="GET", rate_drop=0.3)])
    for _ in range(5):
        assert deployer.plan().empty
    assert server.log.faults()["drop"] >= 1


def test_an_endpoint_never_reached_fails_at_once() -> None:
    slept: list[float] = []
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x", max_retries=0)
    with pytest.raises(RemoteError, match="cannot reach"):
        read_state(AssistantsBackend(client), RetryPolicy(sleep=slept.append))
    assert slept == []


def test_recovering_a_failed_create_lists_only_its_kind_newest_first(
    deployer: Deployer, server: SandboxServer, client: openai.OpenAI
) -> None:
    deployer.apply()
    for n in range(3):  # older objects the lookup must not need to read
        client.beta.assistants.create(model="gpt-4o-mini", name=f"other {n}")
    deployer.write("assistants/new.yaml", "kind: assistant\nkey: new\nname: New\n")
    server.faults = FaultConfig(
        seed=1, rules=[FaultRule(method="POST", path="/assistants", rate_commit_then_fail=1.0)]
    )
    position = server.log.total
    deployer.apply(options=SERIAL)
    server.faults = FaultConfig()
    after_create = server.log.since(position)
    first = next(i for i, e in enumerate(after_create) if e.fault == "commit_then_fail")
    lookups = [e for e in after_create[first + 1 :] if e.method == "GET"]
    assert lookups and all(e.path == "/v1/assistants" for e in lookups), lookups
    assert all("order=desc" in e.query for e in lookups)
    assert len(lookups) == 1  # the newest page holds it: stop there
    assert deployer.plan().empty
    assert_no_duplicates(deployer.backend.read_state())


# ---- protection recorded remotely ------------------------------------------------------


def protect(deployer: Deployer, rel: str, value: str) -> None:
    kind = "kind: assistant" if rel.startswith("assistants/") else "kind: vector_store"
    deployer.edit(rel, kind, f"{kind}\nprotect: {value}")


def test_protection_outlives_the_spec_for_prune_and_destroy(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    protect(deployer, "assistants/greeter.yaml", "true")
    deployer.apply()
    greeter = [a for a in deployer.backend.read_state().of("assistant") if a.owner[1] == "greeter"]
    assert greeter[0].protected and greeter[0].owner[2]  # stamped, and the hash still reads
    assert deployer.plan().empty  # a stable form: no change on the next plan
    (deployer.root / "assistants/greeter.yaml").unlink()
    pruned = deployer.plan(prune=True)
    assert any("greeter" in r and "protect: true" in r for r in pruned.refused), pruned.refused
    assert not any(a.key == "greeter" for a in pruned.actions)
    destroyed = operations.destroy_plan(deployer.load(), deployer.backend.read_state())
    assert any("greeter" in r for r in destroyed.refused), destroyed.refused
    assert not any(a.key == "greeter" for a in destroyed.actions)


def test_an_apply_with_protect_false_lifts_the_protection(deployer: Deployer) -> None:
    protect(deployer, "vector_stores/docs.yaml", "true")
    deployer.apply()
    deployer.edit("vector_stores/docs.yaml", "protect: true", "protect: false")
    plan = deployer.apply()
    assert [(a.key, [c.field for c in a.changes]) for a in plan.actions] == [("docs", ["protect"])]
    destroyed = deployer.destroy()
    assert not destroyed.refused
    assert not managed_counts(deployer.backend.read_state())


# ---- destroy keeps what others use ---------------------------------------------------------


def test_destroy_keeps_files_that_unmanaged_objects_use(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    deployer.apply()
    names = {f.identity.path: f.id for f in deployer.backend.read_state().files if f.identity}
    theirs = client.vector_stores.create(name="their store", file_ids=[names["knowledge/faq.txt"]])
    their_bot = client.beta.assistants.create(
        model="gpt-4o-mini",
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": [names["data/orders.csv"]]}},
    )
    plan = deployer.destroy()
    assert {(k.key, k.reason) for k in plan.kept} == {
        ("knowledge/faq.txt", f"still used by vector store {theirs.id}"),
        ("data/orders.csv", f"still used by assistant {their_bot.id}"),
    }
    assert "still used by" in render.text(plan, render.plain)
    left = {f.id for f in deployer.backend.read_state().files}
    assert {names["knowledge/faq.txt"], names["data/orders.csv"]} <= left
    assert names["knowledge/policy.md"] not in left
    assert [f.id for f in client.vector_stores.files.list(theirs.id)] == [
        names["knowledge/faq.txt"]
    ]


def test_prune_keeps_a_file_an_unmanaged_store_uses(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    deployer.apply()
    faq = next(f.id for f in deployer.backend.read_state().files if "faq" in f.filename)
    client.vector_stores.create(name="their store", file_ids=[faq])
    deployer.edit("vector_stores/docs.yaml", "  - knowledge/faq.txt\n", "")
    plan = deployer.apply(prune=True)
    assert not any(a.kind == "file" for a in plan.actions)
    assert [k.remote_id for k in plan.kept] == [faq]


# ---- ownership: clones and look-alike uploads ------------------------------------------------


def test_a_faithful_clone_is_not_deleted_by_a_plain_apply(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    deployer.apply()
    greeter = next(
        a
        for a in client.beta.assistants.list()
        if (a.metadata or {}).get(identity.SPEC_KEY) == "greeter"
    )
    clone = client.beta.assistants.create(
        model=greeter.model,
        name=greeter.name,
        instructions=greeter.instructions,
        metadata=greeter.metadata,
    )
    deployer.edit("assistants/greeter.yaml", "Greet visitors", "Welcome visitors")
    plan = deployer.apply()
    assert [(a.verb, a.remote_id) for a in plan.actions] == [("update", greeter.id)]
    assert clone.id in {a.id for a in client.beta.assistants.list()}
    # its tags are copies: their proof of authorship names the original's id, not its own
    pruned = deployer.apply(prune=True)
    assert pruned.empty and not pruned.kept
    assert pruned.lookalikes == (Lookalike("assistant", "greeter", clone.id),)
    assert clone.id in {a.id for a in client.beta.assistants.list()}


def test_a_file_uploaded_by_someone_else_under_a_tagged_name_survives_a_plain_apply(
    deployer: Deployer, client: openai.OpenAI
) -> None:
    deployer.apply()
    lookalike = client.files.create(
        file=(identity.file_name("feat", "f" * 16, "knowledge/faq.txt"), b"someone's"),
        purpose="assistants",
    )
    plan = deployer.apply()
    assert plan.empty
    assert lookalike.id in {f.id for f in client.files.list()}
    # uploaded after the deployment marker, without the project's proof: nobody's
    pruned = deployer.apply(prune=True)
    assert pruned.empty and pruned.lookalikes == (
        Lookalike("file", "knowledge/faq.txt", lookalike.id),
    )
    assert lookalike.id in {f.id for f in client.files.list()}


# ---- values JSON cannot carry ----------------------------------------------------------------


def test_nan_and_lone_surrogates_do_not_crash_the_engine(
    deployer: Deployer, tmp_path: Path
) -> None:
    # validation rejects them (another layer); if one gets here it is an error, not a crash
    odd = {"name": "bad \ud800 name", "temperature": float("nan"), "top_p": float("inf")}
    assert len(identity.canonical_hash(odd)) == 16
    plan = Plan("feat", None, "sandbox", actions=(Create("assistant", "odd", after=odd),))
    out = tmp_path / "plan.json"
    operations.save_plan(plan, deployer.load(), out)
    back, _ = operations.read_plan(out)
    assert back.actions[0].after["name"] == odd["name"]  # type: ignore[attr-defined]
    for payload in ({"model": "gpt-4o-mini", **odd}, {"model": "gpt-4o-mini", "name": "\udfff"}):
        with pytest.raises(RemoteError, match="NaN, an infinity or a lone surrogate"):
            deployer.backend.create("assistant", payload)
