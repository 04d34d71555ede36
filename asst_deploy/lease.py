"""A lock held on the target itself, so two applies (or destroys) never run at once.

The lease object: a vector store with no files whose metadata carries the project
(PROJECT_KEY), the lease marker (LEASE_KEY) and the holder, its expiry and a generation.
A vector store because it has metadata and exists on every API generation (Assistants,
Agents and Responses all keep files and vector stores). It has no SPEC_KEY, and the
backend lists it apart (RemoteState.leases), so it is never a resource of any plan.

Taking it (`acquire`): list the project's lease objects; when none is held by a live
holder, create a claim of our own, list again, and hold the lease only if no other live
claim is there (else delete ours, back off and look again). Of two racing claims, the one
created second always sees the first, so at most one wins. Renewed in the background
while held; released by writing holder "" and, when something was applied, generation+1.
A plan records the generation it read: a saved plan made before another apply landed is
refused. The guarantee needs list reads that see every create made before them: true on
the sandbox; on a service whose lists are eventually consistent, two applies started
within the list lag can both win (each still adopts instead of duplicating on retries).
An expired claim (its holder died) counts as held by nobody, and as having landed.
"""

from __future__ import annotations

import getpass
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

from asst_deploy import identity
from asst_deploy.apply import RetryPolicy, page_retry, retrying
from asst_deploy.backend import Backend
from asst_deploy.errors import AsstDeployError
from asst_deploy.state import RemoteObject

LEASE_KIND = "vector_store"  # the kind the lease object is made of (see above)
HOLDER_KEY = "asst_deploy.holder"
EXPIRES_KEY = "asst_deploy.expires"
GENERATION_KEY = "asst_deploy.generation"
TTL = 60.0  # seconds a claim lives without renewal
RENEW_EVERY = TTL / 4
POLL = 0.5  # seconds between looks while waiting for --lock-timeout
CONTENTION_TRIES = 5  # lost races (both claims seen) retried before giving up


@dataclass(frozen=True)
class Claim:
    id: str
    holder: str  # "" when released
    token: str  # unique per acquire: tells our claims from others with the same holder
    expires: float
    generation: int

    def live(self, now: float) -> bool:
        return bool(self.holder) and self.expires > now

    def landed_generation(self, now: float) -> int:
        """Its generation, +1 when its holder died holding it (it may have applied)."""
        return self.generation + (1 if self.holder and self.expires <= now else 0)


class LockError(AsstDeployError):
    """The lease is held by someone else."""


def parse(obj: RemoteObject | Any, project: str) -> Claim | None:
    """The claim `obj` is, when it is a lease object of `project`."""
    metadata = obj.data.get("metadata") or {}
    if not identity.is_lease(metadata) or metadata.get(identity.PROJECT_KEY) != project:
        return None
    holder, _, token = str(metadata.get(HOLDER_KEY, "")).partition(" #")
    try:
        expires = float(metadata.get(EXPIRES_KEY) or 0)
        generation = int(metadata.get(GENERATION_KEY) or 0)
    except ValueError:  # edited by hand: treat as released at generation 0
        expires, generation = 0.0, 0
    return Claim(obj.id, holder, token, expires, generation)


def claims(objects: Iterable[RemoteObject | Any], project: str) -> list[Claim]:
    return [c for c in (parse(o, project) for o in objects) if c is not None]


def generation(leases: Iterable[RemoteObject], project: str, now: float | None = None) -> int:
    """The generation of `project`'s lease as read: what a plan records."""
    now = time.time() if now is None else now
    return max((c.landed_generation(now) for c in claims(leases, project)), default=0)


def default_holder() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    ci = os.environ.get("GITHUB_RUN_ID") or os.environ.get("CI_JOB_ID")
    where = f"{user}@{socket.gethostname()} pid {os.getpid()}"
    return where + (f" (CI run {ci})" if ci else "")


def _metadata(project: str, holder: str, token: str, expires: float, gen: int) -> dict[str, str]:
    return {
        identity.PROJECT_KEY: project,
        identity.LEASE_KEY: "1",
        HOLDER_KEY: f"{holder} #{token}" if holder else "",
        EXPIRES_KEY: str(int(expires)),
        GENERATION_KEY: str(gen),
    }


def held_message(project: str, claim: Claim, now: float) -> str:
    return (
        f"the target is locked by another apply: held by {claim.holder} "
        f"(lock id {claim.id}, expires in {max(0, claim.expires - now):.0f} s); "
        f"project {project}. Wait for it to finish, pass --lock-timeout SECONDS to wait, "
        f"or, if that apply is dead, run `asst-deploy force-unlock {claim.id}`"
    )


class Lease:
    """A lease held on the target: renewed in the background until released."""

    def __init__(
        self,
        backend: Backend,
        project: str,
        holder: str,
        retry: RetryPolicy,
        clock: Callable[[], float] = time.time,
        ttl: float = TTL,
    ) -> None:
        self.backend = backend
        self.project = project
        self.holder = holder
        self.token = secrets.token_hex(6)
        self.retry = retry
        self.clock = clock
        self.ttl = ttl
        self.id: str | None = None
        self.generation = 0
        self.changed = False  # set when the holder applied something: release bumps
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _list(self) -> list[Claim]:
        objects = self.backend.list_newest(LEASE_KIND, page_retry(self.retry))
        return claims(objects, self.project)

    def _write(self, claim_id: str, holder: str, expires: float, gen: int) -> None:
        metadata = _metadata(self.project, holder, self.token, expires, gen)
        set_metadata = partial(self.backend.set_metadata, LEASE_KIND, claim_id, metadata)
        retrying(self.retry, set_metadata)

    def _create(self, gen: int) -> str:
        payload = {
            "name": f"asst-deploy lock ({self.project})",
            "metadata": _metadata(
                self.project, self.holder, self.token, self.clock() + self.ttl, gen
            ),
        }

        def adopt() -> str | None:  # a create that committed but answered an error
            mine = [c for c in self._list() if c.token == self.token]
            return mine[0].id if mine else None

        return retrying(self.retry, lambda: self.backend.create(LEASE_KIND, payload).id, adopt)

    def _delete(self, claim_id: str) -> None:
        retrying(self.retry, partial(self.backend.delete, LEASE_KIND, claim_id), gone_ok=True)

    def acquire(self, timeout: float = 0.0, sleep: Callable[[float], None] = time.sleep) -> None:
        deadline = self.clock() + timeout
        lost = 0
        while True:
            now = self.clock()
            found = self._list()
            others = [c for c in found if c.live(now) and c.token != self.token]
            if not others:
                gen = max((c.landed_generation(now) for c in found), default=0)
                claim_id = self._create(gen)
                now = self.clock()
                again = self._list()
                rivals = [c for c in again if c.live(now) and c.token != self.token]
                if not rivals:
                    self.id, self.generation = claim_id, gen
                    for extra in again:  # our duplicates, and dead or released claims
                        if extra.id != claim_id and (
                            extra.token == self.token or not extra.live(now)
                        ):
                            self._delete(extra.id)
                    self._start_renewal()
                    return
                for mine in (c for c in again if c.token == self.token):
                    self._delete(mine.id)  # a lost race: step back, look again
                lost += 1
                others = rivals
                if lost < CONTENTION_TRIES:
                    sleep(random.uniform(0.02, 0.25))
                    continue
            if self.clock() >= deadline:
                raise LockError(held_message(self.project, others[0], self.clock()))
            sleep(max(0.0, min(POLL, deadline - self.clock())))

    def _start_renewal(self) -> None:
        def renew() -> None:
            while not self._stop.wait(min(RENEW_EVERY, self.ttl / 4)):
                if self.id is None:
                    return
                # a failed renewal is tried again at the next beat; the claim lives TTL s
                with suppress(AsstDeployError):
                    self._write(self.id, self.holder, self.clock() + self.ttl, self.generation)

        self._renewer = threading.Thread(target=renew, name="asst-deploy-lease", daemon=True)
        self._renewer.start()

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.id is None:
            return
        gen = self.generation + (1 if self.changed else 0)
        self._write(self.id, "", self.clock(), gen)
        self.id = None


@contextmanager
def held(
    backend: Backend,
    project: str,
    *,
    retry: RetryPolicy,
    timeout: float = 0.0,
    holder: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Lease]:
    """The project's lease on the target for the duration of the block. The block sets
    `lease.changed` when it applied anything."""
    lease = Lease(backend, project, holder or default_holder(), retry)
    lease.acquire(timeout, sleep)
    try:
        yield lease
    finally:
        lease.release()


def force_unlock(backend: Backend, project: str, lock_id: str, retry: RetryPolicy) -> Claim:
    """Release the claim `lock_id` of `project` whoever holds it (its holder died). The
    generation is bumped: whatever that holder did counts as landed."""
    found = [c for c in claims(backend.list_newest(LEASE_KIND, page_retry(retry)), project)]
    claim = next((c for c in found if c.id == lock_id), None)
    if claim is None:
        known = ", ".join(f"{c.id} ({c.holder or 'released'})" for c in found) or "none"
        raise AsstDeployError(
            f"no lock {lock_id} of project {project} on the target; its locks: {known}"
        )
    metadata = _metadata(project, "", "", 0, claim.generation + 1)
    retrying(retry, partial(backend.set_metadata, LEASE_KIND, lock_id, metadata))
    return claim
