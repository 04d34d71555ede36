"""Proof of authorship (issue 26): prune, destroy and adopt never act on an object the
project did not make, though it carries the project's tags (a copy, a clone, a file or a
template named like ours); deployments made before the proof keep working."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from asst_deploy import authorship, identity
from asst_deploy.backend import Backend
from asst_deploy.engine import apply as apply_module
from asst_deploy.engine import operations
from asst_deploy.generations.sdk.driver_base import find_managed
from asst_deploy.plan import Delete, Lookalike
from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.state import RemoteFile, RemoteObject, RemoteState

from .conftest import Deployer, assert_no_duplicates, write_project
from .test_generations import PROJECT as GEN_PROJECT
from .test_generations import api, gen, gen_backend  # noqa: F401 (fixtures)

NONCE = "n" * 32


def store(remote_id: str, tags: dict[str, str], created_at: int = 100) -> RemoteObject:
    data = {"id": remote_id, "created_at": created_at, "metadata": tags}
    return RemoteObject("vector_store", remote_id, data)


def marker(sealed: bool, created_at: int = 50) -> RemoteObject:
    metadata = authorship.marker_metadata("feat", NONCE, sealed=sealed)
    return RemoteObject(
        "vector_store", "vs_marker", {"created_at": created_at, "metadata": metadata}
    )


def tags(key: str, proof: str | None) -> dict[str, str]:
    return identity.stamp("feat", key, {"name": key}, proof)


def state(
    *objects: RemoteObject, files: tuple[RemoteFile, ...] = (), sealed: bool = True
) -> RemoteState:
    return RemoteState(objects={"vector_store": objects}, files=files, leases=(marker(sealed),))


# ---- the rule, on hand-built states ----------------------------------------------------------


def test_without_a_marker_tags_are_trusted_as_before() -> None:
    remote = RemoteState(objects={"vector_store": (store("vs_1", tags("docs", None)),)})
    assert authorship.vet(remote) == remote


def test_a_sealed_marker_trusts_only_a_proof_naming_the_objects_own_id() -> None:
    final = authorship.proof(NONCE, "vector_store", "docs", "vs_1")
    provisional = authorship.proof(NONCE, "vector_store", "docs")
    remote = state(
        store("vs_1", tags("docs", final)),
        store("vs_copy", tags("docs", final)),  # a copy of vs_1's tags
        store("vs_new", tags("docs", authorship.proof(NONCE, "vector_store", "docs"))),
        store("vs_none", tags("docs", None)),
        store("vs_other", tags("docs", authorship.proof("x" * 32, "vector_store", "docs"))),
    )
    vetted = authorship.vet(remote)
    owners = {o.id: o.owner.project for o in vetted.of("vector_store")}
    assert owners == {
        "vs_1": "feat",
        "vs_copy": None,
        "vs_new": "feat",  # a create not yet given its final proof (provisional)
        "vs_none": None,
        "vs_other": None,
    }
    assert [o.id for o in vetted.lookalikes] == ["vs_copy", "vs_none", "vs_other"]
    assert authorship.vet(vetted) == vetted  # idempotent
    assert provisional != final


def test_an_unsealed_marker_trusts_tags_until_every_object_has_its_proof() -> None:
    remote = state(store("vs_none", tags("docs", None)), sealed=False)
    assert authorship.vet(remote) == remote


def test_a_file_is_trusted_by_its_proof_or_for_being_older_than_the_marker() -> None:
    proof = authorship.proof(NONCE, "file", "k/a.md")
    files = (
        RemoteFile(
            "file-proven", identity.file_name("feat", "a" * 16, "k/a.md", proof), 1, "a", 90
        ),
        RemoteFile("file-old", identity.file_name("feat", "a" * 16, "k/a.md"), 1, "a", 49),
        RemoteFile("file-new", identity.file_name("feat", "a" * 16, "k/a.md"), 1, "a", 50),
    )
    vetted = authorship.vet(state(files=files, sealed=True))
    assert [f.id for f in vetted.files if f.identity] == ["file-proven", "file-old"]
    assert [f.id for f in vetted.lookalikes] == ["file-new"]


def test_the_oldest_marker_counts_and_a_claim_is_no_marker() -> None:
    older = marker(sealed=True, created_at=10)
    newer = RemoteObject(
        "vector_store",
        "vs_newer",
        {"created_at": 20, "metadata": authorship.marker_metadata("feat", "m" * 32)},
    )
    claim = RemoteObject(
        "vector_store",
        "vs_claim",
        {"metadata": {identity.PROJECT_KEY: "feat", identity.LEASE_KEY: "1"}},
    )
    found = authorship.markers([newer, claim, older])
    assert list(found) == ["feat"] and found["feat"].id == "vs_marker"


# ---- end to end on the sandbox -------------------------------------------------------------


def test_an_agent_edited_to_carry_the_projects_tags_is_never_pruned(
    gen: Deployer,  # noqa: F811
    api: str,  # noqa: F811
) -> None:
    gen.apply()
    kind = api[:-1]
    state = gen.backend.read_state()
    weather = next(o for o in state.of(kind) if o.owner[:2] == ("gen", "weather"))
    theirs = gen.backend.create(kind, {"model": "gpt-4o-mini", "name": "theirs"})
    gen.backend.set_metadata(kind, theirs.id, dict(weather.data["metadata"]))
    plan = gen.plan(prune=True)
    assert plan.empty and plan.lookalikes == (Lookalike(kind, "weather", theirs.id),)
    (gen.root / "assistants/weather.yaml").unlink()
    plan = gen.apply(prune=True)
    assert {a.remote_id for a in plan.actions if isinstance(a, Delete)} >= {weather.id}
    assert theirs.id not in {a.remote_id for a in plan.actions}
    assert gen.backend.retrieve(kind, theirs.id) is not None
    assert_no_duplicates(operations.read_remote(gen.backend), "gen")


@pytest.mark.parametrize("api", ["agents"])
def test_a_template_named_like_the_projects_is_never_pruned(gen: Deployer) -> None:  # noqa: F811
    gen.apply()
    ours = next(
        o for o in gen.backend.read_state().of("environment_template") if o.owner.key == "tutor"
    )
    # a copy of our template's name (its proof names our template's id), and one tagged
    # as asst-deploy tagged templates before the proof
    named = [ours.data["name"], f"gen~tutor~{'0' * 16}"]
    theirs = [
        gen.backend.create("environment_template", {"name": name, "files": []}).id for name in named
    ]
    (gen.root / "assistants/tutor.yaml").unlink()
    plan = gen.apply(prune=True)
    deleted = {a.remote_id for a in plan.actions if isinstance(a, Delete)}
    assert ours.id in deleted and not deleted & set(theirs)
    assert {x.remote_id for x in plan.lookalikes} == set(theirs)
    assert all(gen.backend.retrieve("environment_template", t) for t in theirs)


def legacy_apply(deployer: Deployer, monkeypatch: pytest.MonkeyPatch) -> None:
    """An apply as asst-deploy made them before the proof: no marker, no proof."""
    with monkeypatch.context() as patch:
        patch.setattr(authorship, "proof", lambda *args: "")
        patch.setattr(apply_module._Run, "make_marker", lambda self: None)
        patch.setattr(apply_module._Run, "seal", lambda self: None)
        deployer.apply()


def test_a_deployment_made_before_the_proof_is_migrated_by_its_next_apply(
    deployer: Deployer, server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = time.time() - 100
    server.sandbox.clock = lambda: made  # the old deployment is older than the marker
    legacy_apply(deployer, monkeypatch)
    server.sandbox.clock = time.time
    remote = operations.read_remote(deployer.backend)
    assert not authorship.markers(remote.leases)
    assert not any(authorship.carried(o) for o in (*remote.all_objects(), *remote.files))
    # it keeps working: nothing to do, nothing seen as someone else's
    assert deployer.plan(prune=True).empty and not deployer.plan(prune=True).lookalikes
    deployer.edit("assistants/greeter.yaml", "Greet visitors", "Welcome visitors")
    plan = deployer.apply(prune=True)
    assert [(a.verb, a.key) for a in plan.actions] == [("update", "greeter")]
    remote = operations.read_remote(deployer.backend)
    found = authorship.markers(remote.leases)["feat"]
    assert found.sealed
    # every object but the files (which cannot be renamed) now carries its final proof
    assert not authorship.unproven(remote, "feat", found.nonce)
    assert deployer.plan(prune=True).empty and not remote.lookalikes
    assert_no_duplicates(remote)
    # from now on an object tagged as before, without a proof, is someone else's
    greeter = next(o for o in remote.of("assistant") if o.owner.key == "greeter")
    old_tags = {**greeter.data["metadata"]}
    old_tags[identity.HASH_KEY] = identity.with_proof(old_tags[identity.HASH_KEY], None)
    mimic = deployer.backend.create(
        "assistant", {"model": "gpt-4o-mini", "name": "mimic", "metadata": old_tags}
    )
    plan = deployer.plan(prune=True)
    assert plan.empty and plan.lookalikes == (Lookalike("assistant", "greeter", mimic.id),)


def test_a_plan_limited_by_resource_does_not_seal(
    deployer: Deployer, server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = time.time() - 100
    server.sandbox.clock = lambda: made
    legacy_apply(deployer, monkeypatch)
    server.sandbox.clock = time.time
    deployer.edit("assistants/greeter.yaml", "Greet visitors", "Welcome visitors")
    project = deployer.load()
    plan, remote = operations.make_plan(project, deployer.backend, only=["greeter"])
    apply_module.apply_plan(plan, project.root, deployer.backend, remote, options=deployer.options)
    remote = operations.read_remote(deployer.backend)
    assert not authorship.markers(remote.leases)["feat"].sealed
    # the others, still without a proof, are the project's until the next full apply
    assert deployer.plan(prune=True).empty and not remote.lookalikes
    deployer.edit("assistants/greeter.yaml", "Welcome visitors", "Hail visitors")
    deployer.apply()
    assert authorship.markers(operations.read_remote(deployer.backend).leases)["feat"].sealed


def test_the_first_apply_marks_and_seals_and_destroy_keeps_the_marker(
    tmp_path: Path,
    gen_backend: Backend,  # noqa: F811
    api: str,  # noqa: F811
) -> None:
    deployer = Deployer(write_project(tmp_path / "gen", GEN_PROJECT), gen_backend, api=api)
    deployer.apply()
    remote = operations.read_remote(deployer.backend)
    found = authorship.markers(remote.leases)["gen"]
    assert found.sealed and not authorship.unproven(remote, "gen", found.nonce)
    assert all(authorship.proven(f, found.nonce) for f in remote.files if f.identity)
    deployer.destroy()
    kept = authorship.markers(operations.read_remote(deployer.backend).leases)["gen"]
    assert kept == found  # a mimic made after the destroy is no more trusted than before


def test_the_runtime_never_takes_a_lookalike_for_a_deployed_file(deployer: Deployer) -> None:
    from asst_deploy.request_template import deployed_ids

    deployer.apply()
    project = deployer.load()
    ours = deployed_ids(project, deployer.backend).files["data/orders.csv"]
    path = project.root / "data/orders.csv"
    name = identity.file_name("feat", identity.file_sha(path), "data/orders.csv")
    newer = deployer.backend.upload_file(path, name)  # the same content, tagged, no proof
    assert deployed_ids(project, deployer.backend).files["data/orders.csv"] == ours != newer.id


def test_conversation_tests_never_talk_to_a_clone_of_the_deployed_assistant(
    gen: Deployer,  # noqa: F811
    api: str,  # noqa: F811
) -> None:
    gen.apply()
    kind = api[:-1]
    weather = next(
        o for o in gen.backend.read_state().of(kind) if o.owner[:2] == ("gen", "weather")
    )
    # a clone made after it, its tags and all: the newest of those the tags name
    clone = gen.backend.create(kind, {"model": "gpt-4o-mini", "name": "clone"})
    gen.backend.set_metadata(kind, clone.id, dict(weather.data["metadata"]))
    found = find_managed(gen.backend, kind, "gen", "weather")
    assert found is not None and found.id == weather.id
    assert gen.plan().lookalikes == (Lookalike(kind, "weather", clone.id),)
