"""The target's lease: one apply at a time, a clear refusal naming the holder, force-unlock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import openai
import pytest

from asst_deploy import identity
from asst_deploy.engine import lease, operations
from asst_deploy.engine.apply import apply_plan
from asst_deploy.engine.targets import connect
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.spec.loader import load_project

from .conftest import NO_SLEEP, Deployer, assert_no_duplicates, sdk_client
from .test_cli import remote, run
from .test_generations import api, gen, gen_backend  # noqa: F401 (fixtures)


def locked_apply(
    deployer: Deployer,
    backend: AssistantsBackend,
    holder: str,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """What `asst-deploy apply` does: lease, read, plan, apply through the lease's guard,
    release."""
    project = deployer.load()
    taken = lease.Lease(backend, project.name, holder, NO_SLEEP, clock=clock)
    taken.acquire(timeout, sleep)
    try:
        plan, state = operations.make_plan(project, backend, retry=NO_SLEEP)
        if not plan.empty:
            taken.changed = True
            guarded = taken.guard(backend)
            apply_plan(plan, project.root, guarded, state, options=deployer.options)
    finally:
        taken.release()


class Clock:
    """A local clock that moves only when told: time passes without sleeping."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def skewed(seconds: float) -> Callable[[], float]:
    """A machine's wall clock `seconds` off."""
    return lambda: time.time() + seconds


def age(held: lease.Lease, seconds: float) -> None:
    """Make `held`'s claim look last renewed `seconds` ago, as the service counts time:
    a holder that died then."""
    assert held.id is not None
    metadata = held._metadata(held.generation, renewed=held.service.low() - seconds)
    held.backend.set_metadata(lease.LEASE_KIND, held.id, metadata)


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
    # released claims are cleaned up by the next holder
    assert len(lease.claims(state.leases, "feat")) == 1


def test_the_lease_is_no_resource_of_any_plan(deployer: Deployer, client: openai.OpenAI) -> None:
    locked_apply(deployer, deployer.backend, "me", timeout=0)
    state = deployer.backend.read_state()
    # the claim, and the deployment marker (authorship.py), which the lock never reads
    assert len(state.leases) == 2 and not {o.id for o in state.leases} & {
        s.id for s in state.of("vector_store")
    }
    assert len(lease.claims(state.leases, "feat")) == 1
    assert lease.generation(state.leases, "feat") == 1
    assert deployer.plan(prune=True).empty
    destroy = operations.destroy_plan(deployer.load(), state)
    assert state.leases[0].id not in {a.remote_id for a in destroy.actions}
    deployer.destroy()
    # what stays: the released claim, and the deployment marker (destroy keeps it)
    assert {s.id for s in client.vector_stores.list()} == {o.id for o in state.leases}


def test_an_expired_lease_is_taken_over_and_counts_as_landed(deployer: Deployer) -> None:
    dead = lease.Lease(deployer.backend, "feat", "dead pipeline", NO_SLEEP)
    dead.acquire()
    dead._stop.set()  # the process died: no renewal, no release
    age(dead, lease.TTL + 1)  # ...a minute ago, as the service counts time (nothing sleeps)
    notes: list[str] = []
    with lease.held(deployer.backend, "feat", retry=NO_SLEEP, note=notes.append) as held:
        assert held.generation == 1  # whatever the dead one did may have landed
    assert len(notes) == 1 and "from dead pipeline" in notes[0] and "not renewed for 6" in notes[0]


def test_cli_refuses_while_locked_and_force_unlock_releases(proj: Path) -> None:
    with connect(load_project(proj).target) as backend:
        other = lease.Lease(backend, "feat", "ops@laptop pid 42", NO_SLEEP)
        other.acquire()
        other._stop.set()
        # it died a while ago: past the time it could write (HOLD), not yet expired (TTL);
        # 2 * HOLD was TTL itself, which the lock then sometimes counted as expired
        age(other, (lease.HOLD + lease.TTL) / 2)
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


# ---- time is the service's; a lost lease stops the holder ------------------------------------


@pytest.mark.parametrize(
    ("holder_skew", "taker_skew"),
    [(0, 90), (0, 120), (0, -120), (-90, 0), (-120, 0), (120, -120), (-120, 120)],
)
def test_clock_skew_never_takes_over_a_live_claim(
    gen: Deployer,  # noqa: F811 (a fixture: each API generation's backend)
    api: str,  # noqa: F811
    holder_skew: float,
    taker_skew: float,
) -> None:
    holder = lease.Lease(gen.backend, "gen", "pipeline A", NO_SLEEP, clock=skewed(holder_skew))
    holder.acquire()
    try:
        with pytest.raises(lease.LockError, match="held by pipeline A"):
            taker = skewed(taker_skew)
            locked_apply(gen, gen.backend, "pipeline B", 0, clock=taker)  # type: ignore[arg-type]
        holder.check()  # still held: nobody deleted its claim
    finally:
        holder.release()
    state = gen.backend.read_state()
    assert not state.all_objects() and not state.files, api


def test_a_holder_that_cannot_renew_stops_before_its_next_write(deployer: Deployer) -> None:
    clock = Clock()
    holder = lease.Lease(deployer.backend, "feat", "pipeline A", NO_SLEEP, clock=clock)
    holder.acquire()
    holder._stop.set()  # its renewals stop getting through
    guarded = holder.guard(deployer.backend)
    clock.advance(lease.HOLD - 1)
    guarded.set_metadata(lease.LEASE_KIND, str(holder.id), holder._metadata(0))  # still sure
    clock.advance(1)
    with pytest.raises(lease.LockLost, match="lost the lock of project feat: it could not renew"):
        guarded.create("assistant", {"model": "gpt-4o", "name": "never sent"})
    holder.renew()  # a renewal answered after that revives nothing: a taker may have judged
    with pytest.raises(lease.LockLost):
        holder.check()
    holder.release()
    assert not deployer.backend.read_state().of("assistant")


def test_force_unlock_refuses_a_live_holder_and_the_holder_notices(deployer: Deployer) -> None:
    holder = lease.Lease(deployer.backend, "feat", "pipeline A", NO_SLEEP)
    holder.acquire()
    project = deployer.load()
    plan, state = operations.make_plan(project, deployer.backend, retry=NO_SLEEP)
    assert holder.id is not None
    with pytest.raises(AsstDeployError, match="is live: held by pipeline A, renewed 0 s ago"):
        lease.force_unlock(deployer.backend, "feat", holder.id, NO_SLEEP)
    holder.check()  # refused: untouched
    unlocked = lease.force_unlock(deployer.backend, "feat", holder.id, NO_SLEEP, force=True)
    assert unlocked.claim.holder == "pipeline A" and unlocked.wait > lease.HOLD
    # no apply starts before the holder must have stopped, whatever its clock says
    with pytest.raises(lease.LockError, match="force-unlocked while its holder may still"):
        locked_apply(deployer, deployer.backend, "pipeline B", 0, clock=skewed(120))
    holder.renew()  # its next renewal finds the claim gone
    with pytest.raises(lease.LockLost, match=r"its claim .* is gone from the target") as lost:
        apply_plan(plan, project.root, holder.guard(deployer.backend), state)
    assert "Stopped after 0 successful action(s)" in str(lost.value)
    holder.release()  # no 404 about the lock object: it is not ours to release any more
    assert not deployer.backend.read_state().of("assistant")
    # once the fence has passed (waited for with --lock-timeout on a clock of its own)
    later = Clock()
    locked_apply(deployer, deployer.backend, "pipeline B", 60, clock=later, sleep=later.advance)
    # the waiter knows the service's time from its own claim's created_at, whole seconds:
    # it is sure the fence passed to within that second
    assert later.now - 1000.0 >= unlocked.wait - 1.0
    assert_no_duplicates(deployer.backend.read_state())
    assert deployer.plan().empty


DOOMED = """
import sys, time, openai
from asst_deploy.engine import lease
from asst_deploy.engine.apply import RetryPolicy
from asst_deploy.generations.assistants.backend import AssistantsBackend
client = openai.OpenAI(base_url=sys.argv[1], api_key="sandbox", max_retries=0)
held = lease.Lease(AssistantsBackend(client), "feat", "doomed pipeline", RetryPolicy())
held.acquire()
print(held.id, flush=True)
time.sleep(600)
"""


def test_a_dead_holder_on_this_host_is_taken_over_at_once(
    deployer: Deployer, server: SandboxServer
) -> None:
    args = [sys.executable, "-c", DOOMED, server.base_url]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        lock_id = child.stdout.readline().strip()
    finally:
        child.kill()  # SIGKILL: no release, no clean-up
        child.wait()
    assert lock_id.startswith("vs_")
    notes: list[str] = []
    with lease.held(deployer.backend, "feat", retry=NO_SLEEP, note=notes.append) as held:
        assert held.generation == 1  # whatever it did may have landed
    assert len(notes) == 1 and lock_id in notes[0] and "from doomed pipeline" in notes[0]
    assert f"pid {child.pid}) is no longer running on this host" in notes[0]


def test_cli_force_unlock_refuses_a_live_lock_unless_forced(proj: Path) -> None:
    with connect(load_project(proj).target) as backend:
        other = lease.Lease(backend, "feat", "ops@laptop pid 42", NO_SLEEP)
        other.acquire()
        other._stop.set()
    assert other.id is not None
    result = run("force-unlock", other.id, "--dir", str(proj), "--auto-approve")
    assert result.code == 1
    assert f"lock {other.id} of project feat is live: held by ops@laptop pid 42" in result.err
    assert "pass --force" in result.err and "nothing was changed" in result.err
    result = run("force-unlock", other.id, "--dir", str(proj), "--auto-approve", "--force")
    assert result.code == 0, result.err
    assert "was held by ops@laptop pid 42" in result.out and "other applies wait" in result.out
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 1 and "force-unlocked while its holder may still be writing" in result.err
    assert not remote(proj).of("assistant")
    with connect(load_project(proj).target) as backend:
        other.backend = backend
        other.renew()
        with pytest.raises(lease.LockLost, match="force-unlocked"):
            other.check()
