"""The target's lease: one apply at a time, a clear refusal naming the holder, force-unlock."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import openai
import pytest

from asst_deploy import deploy, identity, lease
from asst_deploy.apply import apply_plan
from asst_deploy.remote.assistants_backend import AssistantsBackend
from asst_deploy.remote.targets import connect
from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.spec.loader import load_project

from .conftest import NO_SLEEP, Deployer, assert_no_duplicates, sdk_client
from .test_cli import remote, run


def locked_apply(
    deployer: Deployer, backend: AssistantsBackend, holder: str, timeout: float
) -> None:
    """What `asst-deploy apply` does: lease, read, plan, apply, release."""
    with lease.held(backend, "feat", retry=NO_SLEEP, timeout=timeout, holder=holder) as held:
        project = deployer.load()
        plan, state = deploy.make_plan(project, backend, retry=NO_SLEEP)
        if not plan.empty:
            held.changed = True
            apply_plan(plan, project.root, backend, state, options=deployer.options)


def test_a_second_apply_is_refused_naming_the_holder(deployer: Deployer) -> None:
    with lease.held(deployer.backend, "feat", retry=NO_SLEEP, holder="ci@runner-1 pid 7") as held:
        with pytest.raises(lease.LockError) as refused:
            locked_apply(deployer, deployer.backend, "me", timeout=0)
        message = str(refused.value)
        assert "held by ci@runner-1 pid 7" in message and held.id is not None
        assert f"asst-deploy force-unlock {held.id}" in message and "--lock-timeout" in message
    assert not deployer.backend.read_state().of("assistant")  # the refused one changed nothing
    locked_apply(deployer, deployer.backend, "me", timeout=0)  # released: it goes now
    assert deployer.plan().empty


def test_concurrent_applies_never_duplicate(deployer: Deployer, server: SandboxServer) -> None:
    # each with its own client, as separate pipelines would be; all start at once
    workers = 4
    start = threading.Barrier(workers)
    outcomes: list[str] = []

    def one(n: int) -> None:
        with sdk_client(server) as client:
            start.wait()
            try:
                locked_apply(deployer, AssistantsBackend(client), f"pipeline {n}", timeout=0)
                outcomes.append("applied")
            except lease.LockError as exc:
                assert "held by pipeline " in str(exc)
                outcomes.append("refused")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == workers and "applied" in outcomes, outcomes
    assert_no_duplicates(deployer.backend.read_state())
    assert deployer.plan().empty


def test_waiting_applies_run_one_after_another(deployer: Deployer, server: SandboxServer) -> None:
    workers = 3
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def one(n: int) -> None:
        with sdk_client(server) as client:
            start.wait()
            try:
                locked_apply(deployer, AssistantsBackend(client), f"pipeline {n}", timeout=30)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    state = deployer.backend.read_state()
    assert_no_duplicates(state)
    assert len(state.leases) == 1  # released claims are cleaned up by the next holder


def test_the_lease_is_no_resource_of_any_plan(deployer: Deployer, client: openai.OpenAI) -> None:
    locked_apply(deployer, deployer.backend, "me", timeout=0)
    state = deployer.backend.read_state()
    assert len(state.leases) == 1 and state.leases[0].id not in {
        s.id for s in state.of("vector_store")
    }
    assert lease.generation(state.leases, "feat") == 1
    assert deployer.plan(prune=True).empty
    destroy = deploy.destroy_plan(deployer.load(), state)
    assert state.leases[0].id not in {a.remote_id for a in destroy.actions}
    deployer.destroy()
    assert [s.id for s in client.vector_stores.list()] == [state.leases[0].id]


def test_an_expired_lease_is_taken_over_and_counts_as_landed(deployer: Deployer) -> None:
    # a holder whose claim ran out a minute ago (its clock says so; nothing sleeps)
    dead = lease.Lease(
        deployer.backend, "feat", "dead pipeline", NO_SLEEP, ttl=0.5, clock=lambda: time.time() - 60
    )
    dead.acquire()
    dead._stop.set()  # the process died: no renewal, no release
    with lease.held(deployer.backend, "feat", retry=NO_SLEEP) as held:
        assert held.generation == 1  # whatever the dead one did may have landed


def test_cli_refuses_while_locked_and_force_unlock_releases(proj: Path) -> None:
    with connect(load_project(proj).target) as backend:
        other = lease.Lease(backend, "feat", "ops@laptop pid 42", NO_SLEEP)
        other.acquire()
        other._stop.set()
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 1
    assert "held by ops@laptop pid 42" in result.err and other.id in result.err
    assert not remote(proj).of("assistant")
    result = run("force-unlock", str(other.id), "--dir", str(proj), "--auto-approve")
    assert result.code == 0, result.err
    assert "was held by ops@laptop pid 42" in result.out
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 0, result.err
    assert run("destroy", str(proj), "--auto-approve").code == 0


def test_cli_lock_timeout_waits_for_the_holder(proj: Path) -> None:
    with connect(load_project(proj).target) as backend:
        other = lease.Lease(backend, "feat", "slow pipeline", NO_SLEEP)
        other.acquire()
        timer = threading.Timer(1.0, other.release)
        timer.start()
        result = run("apply", str(proj), "--auto-approve", "--lock-timeout", "20")
        timer.join()
    assert result.code == 0, result.err


@pytest.fixture
def proj(project_dir: Path) -> Path:
    return project_dir


def test_lease_metadata_is_reserved() -> None:
    meta = {identity.PROJECT_KEY: "feat", identity.LEASE_KEY: "1", "team": "x"}
    assert identity.is_lease(meta) and identity.user_metadata(meta) == {"team": "x"}
