"""The lock costs the same requests however many vector stores the target holds: taking it
reads the state the apply reads anyway, instead of listing every store once more.
Counted in the sandbox's request log, never timed."""

from __future__ import annotations

import re
from collections import Counter

import openai
import pytest

from asst_deploy.engine import lease
from asst_deploy.engine.apply import read_state
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.sandbox.server import SandboxServer

from .conftest import NO_SLEEP

PROJECT = "feat"


def requests(server: SandboxServer, position: int) -> Counter[str]:
    """The requests made since `position`, by method and path, ids read as {id}."""
    return Counter(
        f"{e.method} " + re.sub(r"/(?:vs_|file-|file_|asst_)[-\w]+", "/{id}", e.path)
        for e in server.log.since(position)
    )


def lock_cost(server: SandboxServer, backend: AssistantsBackend) -> Counter[str]:
    """What a locked read (take the lock, read the state, release) costs beyond a read."""
    start = server.log.total
    read_state(backend, NO_SLEEP)
    read = requests(server, start)
    start = server.log.total
    with lease.held(backend, PROJECT, retry=NO_SLEEP, read_state=True) as held:
        state = held.take_state()
        assert state is not None and held.take_state() is None  # taken once
        assert len(lease.claims(state.leases, PROJECT)) == 1  # ours, as it now reads
    locked = requests(server, start)
    assert all(locked[r] >= n for r, n in read.items()), (locked, read)
    return Counter({r: locked[r] - read[r] for r in locked if locked[r] > read[r]})


def add_stores(client: openai.OpenAI, n: int) -> None:
    for i in range(n):
        client.vector_stores.create(name=f"other team's store {i}", metadata={"team": "x"})


def test_the_lock_costs_the_same_requests_at_10_and_300_stores(
    server: SandboxServer, client: openai.OpenAI, backend: AssistantsBackend
) -> None:
    add_stores(client, 10)
    first = lock_cost(server, backend)  # no claim yet: create, first renewal, release
    at_10 = lock_cost(server, backend)  # the released claim is replaced (one delete more)
    add_stores(client, 290)
    at_300 = lock_cost(server, backend)
    assert at_10 == at_300, (at_10, at_300)
    assert "GET /v1/vector_stores" not in at_300  # no listing of its own
    assert sum(first.values()) == 3 and sum(at_300.values()) == 4, (first, at_300)


def test_a_lock_taken_long_ago_behind_300_stores_is_seen(
    server: SandboxServer, client: openai.OpenAI, backend: AssistantsBackend
) -> None:
    # an apply of an older asst-deploy (a claim listed on its own, no state read) holds
    # the lock; 300 stores made since then list after its claim
    older = lease.Lease(backend, PROJECT, "ci@old-runner pid 9", NO_SLEEP)
    older.acquire()
    try:
        add_stores(client, 300)
        with (
            pytest.raises(lease.LockError, match="held by ci@old-runner pid 9"),
            lease.held(backend, PROJECT, retry=NO_SLEEP, read_state=True),
        ):
            pass
        claims = lease.claims(backend.read_state().leases, PROJECT)
        assert [c.holder for c in claims] == ["ci@old-runner pid 9"]  # ours was taken back
    finally:
        older.release()
    # and one that reads the state, holding it, is seen by a lease that lists on its own
    with lease.held(backend, PROJECT, retry=NO_SLEEP, read_state=True, holder="ci@new"):
        other = lease.Lease(backend, PROJECT, "ci@old-runner pid 10", NO_SLEEP)
        with pytest.raises(lease.LockError, match="held by ci@new"):
            other.acquire()
