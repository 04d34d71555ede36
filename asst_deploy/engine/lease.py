"""A lock held on the target itself, so two applies (or destroys) never run at once.

The lease object: a vector store with no files whose metadata carries the project
(PROJECT_KEY), the lease marker (LEASE_KEY), the holder, when it was last renewed, the
holder's process and a generation. A vector store because it has metadata and exists on
every API generation (Assistants, Agents and Responses all keep files and vector stores).
It has no SPEC_KEY, and the backend lists it apart (RemoteState.leases), so it is never a
resource of any plan.

Time. Whether a claim is still live must not rest on two machines' wall clocks agreeing
(a second applier 90 s ahead would see a live claim as expired and take it over). Every
time written on or compared with a claim is the service's: a claim's age is (the
service's now) minus (its last renewal, in the service's time). Each process learns the
service's time from the `created_at` the service stamps on the claim it creates, and
carries it forward with its own monotonic clock (`Lease.clock`): only durations measured
on one machine are used, never a wall clock. `created_at` is whole seconds, stamped
somewhere between our request and its answer, so the estimate has a known error, always
spent on the safe side: a holder stamps its renewals late (its estimate's upper bound),
and whoever judges another's claim measures its age short (the lower bound).

Taking it (`acquire`): create a claim of our own (which also tells the service's time),
list the project's lease objects, and hold the lease only if no other claim there blocks
(else delete ours, back off and look again). Finding them means listing every vector
store, as the read of the remote state does: a holder that reads the state next (apply,
destroy) has the lease make that read its look (`read`), and takes the state it read
(`take_state`) instead of listing everything again. The lease itself then costs a
constant number of requests however many vector stores the target holds: its claim,
the first renewal, the release (and the delete of the claim it replaces). The claims
are what they always were (vector stores with the lease metadata): a lock of an older
asst-deploy is seen, and sees this one's. Of two racing claims, the one created second
always sees the first, so at most one wins. A claim blocks while it is live: renewed
less than TTL ago, unless its holder runs on this host (same host name, boot and pid
namespace) and that process (pid and start time, /proc/<pid>/stat) is gone, when it is
taken over at once with a note. While the lease is held it is renewed every RENEW_EVERY;
released by writing holder "" and, when something was applied, generation+1. A plan
records the generation it read: a saved plan made before another apply landed is refused.

Losing it. The holder writes only while its lease is sure: each write of the apply (the
backend `Lease.guard` wraps) first checks that a renewal sent less than HOLD ago was
answered, and that no renewal found the claim gone. Otherwise the lease is lost for good
and the apply stops before its next write (exit 1, saying so). HOLD is half of TTL: a
holder stops writing at least TTL - HOLD before anyone may take its claim over, which
absorbs the estimates' error and a write still in flight.

force-unlock refuses a claim renewed within the last renewal period (its holder is live,
by every sign) unless --force or its process is gone from this host. It deletes the claim
(the holder's next renewal finds it gone, and it stops) and leaves a released claim, one
generation on, fenced until the holder must have stopped by its own rule (HOLD after its
last renewal, and a margin): no apply starts before then.

What is not guaranteed: list reads must see every create made before them (true on the
sandbox; on a service whose lists are eventually consistent, two applies started within
the list lag can both win, and each still adopts instead of duplicating on retries); and a
single write held in flight for longer than TTL - HOLD could land after a takeover.
"""

from __future__ import annotations

import dataclasses
import getpass
import math
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from asst_deploy import identity
from asst_deploy.backend import Backend, PageRetry, RemoteError
from asst_deploy.engine.apply import RetryPolicy, Stop, page_retry, retrying
from asst_deploy.engine.apply import read_state as read_remote_state
from asst_deploy.errors import AsstDeployError
from asst_deploy.state import RemoteFile, RemoteObject, RemoteState
from asst_deploy.types import Json

LEASE_KIND = "vector_store"  # the kind the lease object is made of (see above)
HOLDER_KEY = "asst_deploy.holder"
RENEWED_KEY = "asst_deploy.renewed"  # service time of the last renewal (none: created_at)
PROCESS_KEY = "asst_deploy.process"  # "<host> <pid> <start>" of the holder (see process_of)
FENCE_KEY = "asst_deploy.fence"  # on a force-unlocked claim: service time it blocks until
GENERATION_KEY = "asst_deploy.generation"
TTL = 60.0  # seconds a claim lives without renewal
POLL = 0.5  # seconds between looks while waiting for --lock-timeout
CONTENTION_TRIES = 5  # lost races (both claims seen) retried before giving up
MARGIN = 5.0  # seconds allowed for a write in flight when a fence ends


def renew_every(ttl: float) -> float:
    return ttl / 6


def hold(ttl: float) -> float:
    """Seconds a holder keeps writing after its last answered renewal was sent."""
    return ttl / 2


RENEW_EVERY = renew_every(TTL)
HOLD = hold(TTL)


@dataclass(frozen=True)
class Claim:
    id: str
    holder: str  # "" when released
    token: str  # unique per acquire: tells our claims from others with the same holder
    renewed: float  # service time
    generation: int
    process: str = ""
    fence: float = 0.0  # service time a released claim blocks until (force-unlock)

    def age(self, now: float) -> float:
        return now - self.renewed

    def live(self, now: float, ttl: float = TTL) -> bool:
        return bool(self.holder) and self.age(now) < ttl and not process_gone(self.process)

    def blocks(self, now: float, ttl: float = TTL) -> bool:
        return self.live(now, ttl) or (not self.holder and self.fence > now)

    def landed_generation(self, now: float, ttl: float = TTL) -> int:
        """Its generation, +1 when its holder died holding it (it may have applied)."""
        return self.generation + (1 if self.holder and not self.live(now, ttl) else 0)


class LockError(AsstDeployError):
    """The lease is held by someone else."""


class LockLost(Stop):
    """The lease this process held is lost: nothing more may be written."""


def parse(obj: RemoteObject | Any, project: str) -> Claim | None:
    """The claim `obj` is, when it is a lease object of `project`."""
    metadata = obj.data.get("metadata") or {}
    if not identity.is_lease(metadata) or metadata.get(identity.PROJECT_KEY) != project:
        return None
    holder, _, token = str(metadata.get(HOLDER_KEY, "")).partition(" #")
    try:
        renewed = float(metadata.get(RENEWED_KEY) or obj.data.get("created_at") or 0)
        generation = int(metadata.get(GENERATION_KEY) or 0)
        fence = float(metadata.get(FENCE_KEY) or 0)
    except (TypeError, ValueError):  # edited by hand: treat as released at generation 0
        holder, renewed, generation, fence = "", 0.0, 0, 0.0
    process = str(metadata.get(PROCESS_KEY, ""))
    return Claim(obj.id, holder, token, renewed, generation, process, fence)


def claims(objects: Iterable[RemoteObject | Any], project: str) -> list[Claim]:
    return [c for c in (parse(o, project) for o in objects) if c is not None]


def generation(leases: Iterable[RemoteObject], project: str, now: float | None = None) -> int:
    """The generation of `project`'s lease as read: what a plan records. Without the
    service's `now` (a plan does not learn it), a held claim counts as live unless its
    process is gone from this host: a dead one makes a saved plan stale once, never the
    other way round."""
    found = claims(leases, project)
    if now is None:
        return max((c.generation + process_gone(c.process) for c in found), default=0)
    return max((c.landed_generation(now) for c in found), default=0)


def default_holder() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    ci = os.environ.get("GITHUB_RUN_ID") or os.environ.get("CI_JOB_ID")
    where = f"{user}@{socket.gethostname()} pid {os.getpid()}"
    return where + (f" (CI run {ci})" if ci else "")


# ---- the holder's process, to tell a dead holder on this host ------------------------------


def _host() -> str | None:
    """This host as a process sees it: name, boot and pid namespace (a container with the
    host's name has its own pids). None where that cannot be known (not Linux)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:")
    except OSError:
        return None
    return f"{socket.gethostname()}/{boot}/{namespace}".replace(" ", "_")


def _started(pid: int) -> str | None:
    """The start time of process `pid` (clock ticks after boot), None when there is none:
    with the pid it names one process, whereas a pid alone may have been reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the name in parentheses may hold spaces
    return fields[19] if len(fields) > 19 else None  # field 22 of proc(5)


def process_of(pid: int | None = None) -> str:
    """What PROCESS_KEY holds for process `pid` (this one by default); "" when unknown."""
    pid = os.getpid() if pid is None else pid
    host, started = _host(), _started(pid)
    return f"{host} {pid} {started}" if host and started else ""


def process_gone(process: str) -> bool:
    """Whether the process PROCESS_KEY names ran on this host and runs no more. A holder
    elsewhere, or of unknown process, is never judged gone: only its renewals tell."""
    host, _, rest = process.partition(" ")
    pid, _, started = rest.partition(" ")
    if not (host and pid.isdigit() and started) or host != _host():
        return False
    return _started(int(pid)) != started


def _pid(process: str) -> str:
    return process.split(" ")[1] if process.count(" ") == 2 else "?"


# ---- the service's time --------------------------------------------------------------------


class ServiceClock:
    """The service's time, learned from the `created_at` of objects we create and carried
    forward with the local monotonic `clock`. Two bounds: `low` never runs ahead of the
    service (to judge another's claim), `high` never behind it (to stamp our own)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._low: float | None = None  # service time minus local clock, bounds
        self._high: float | None = None

    @property
    def known(self) -> bool:
        return self._low is not None

    def learn(self, created_at: float, sent: float, answered: float) -> None:
        # stamped between sending and the answer, and truncated to the second
        low, high = created_at - answered, created_at + 1 - sent
        self._low = low if self._low is None else max(self._low, low)
        self._high = high if self._high is None else min(self._high, high)

    def low(self, at: float | None = None) -> float:
        if self._low is None:
            raise AssertionError("the service's time is not known yet")
        return (self.clock() if at is None else at) + self._low

    def high(self, at: float | None = None) -> float:
        if self._high is None:
            raise AssertionError("the service's time is not known yet")
        return (self.clock() if at is None else at) + self._high


def _metadata(
    project: str,
    holder: str,
    token: str,
    gen: int,
    *,
    renewed: float | None = None,
    process: str = "",
    fence: float = 0.0,
) -> dict[str, str]:
    metadata = {
        identity.PROJECT_KEY: project,
        identity.LEASE_KEY: "1",
        HOLDER_KEY: f"{holder} #{token}" if holder else "",
        GENERATION_KEY: str(gen),
    }
    if renewed is not None:
        metadata[RENEWED_KEY] = str(math.ceil(renewed))
    if process:
        metadata[PROCESS_KEY] = process
    if fence:
        metadata[FENCE_KEY] = str(math.ceil(fence))
    return metadata


def held_message(project: str, claim: Claim, now: float, ttl: float = TTL) -> str:
    if not claim.holder:  # a fence left by force-unlock
        return (
            f"the target's lock (id {claim.id}) was force-unlocked while its holder may "
            f"still be writing; it stops by itself within {max(0, claim.fence - now):.0f} s; "
            f"project {project}. Wait, or pass --lock-timeout SECONDS to wait"
        )
    return (
        f"the target is locked by another apply: held by {claim.holder} "
        f"(lock id {claim.id}, renewed {max(0, claim.age(now)):.0f} s ago, taken over "
        f"if not renewed for {ttl:.0f} s); project {project}. Wait for it to finish, "
        f"pass --lock-timeout SECONDS to wait, or, if that apply is dead, run "
        f"`asst-deploy force-unlock {claim.id}`"
    )


class Lease:
    """A lease held on the target: renewed in the background until released. `clock` is
    a local clock read only for durations (monotonic by default); `note` is told when a
    dead holder's claim is taken over."""

    def __init__(
        self,
        backend: Backend,
        project: str,
        holder: str,
        retry: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = TTL,
        process: str | None = None,
        note: Callable[[str], None] = lambda message: None,
        read: Callable[[], RemoteState] | None = None,
    ) -> None:
        self.backend = backend
        # the whole remote state, read once our claim exists: the look for rival claims,
        # and the holder's first read (take_state); None: the lease lists vector stores
        self.read = read
        self._state: RemoteState | None = None
        self._written: dict[str, str] | None = None  # the metadata the last renewal wrote
        self.project = project
        self.holder = holder
        self.token = secrets.token_hex(6)
        self.retry = retry
        self.clock = clock
        self.ttl = ttl
        self.process = process_of() if process is None else process
        self.note = note
        self.service = ServiceClock(clock)
        self.id: str | None = None
        self.generation = 0
        self.changed = False  # set when the holder applied something: release bumps
        self._mutex = threading.Lock()
        self._confirmed = 0.0  # local clock when the last answered renewal was sent
        self._lost: str | None = None  # why the lease was lost, once it is
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _list(self) -> list[Claim]:
        objects = self.backend.list_newest(LEASE_KIND, page_retry(self.retry))
        return claims(objects, self.project)

    def _metadata(self, gen: int, renewed: float | None = None) -> dict[str, str]:
        return _metadata(
            self.project, self.holder, self.token, gen, renewed=renewed, process=self.process
        )

    def _create(self) -> str:
        payload = {"name": f"asst-deploy lock ({self.project})", "metadata": self._metadata(0)}
        sent = self.clock()

        def adopt() -> RemoteObject | None:  # a create that committed but answered an error
            objects = self.backend.list_newest(LEASE_KIND, page_retry(self.retry))
            for obj in objects:
                claim = parse(obj, self.project)
                if claim is not None and claim.token == self.token:
                    return obj  # type: ignore[return-value]
            return None

        created = retrying(self.retry, lambda: self.backend.create(LEASE_KIND, payload), adopt)
        self.service.learn(float(created.data["created_at"]), sent, self.clock())
        self._confirmed = sent
        return created.id

    def _delete(self, claim_id: str) -> None:
        retrying(self.retry, partial(self.backend.delete, LEASE_KIND, claim_id), gone_ok=True)

    def _blocking(self, found: list[Claim]) -> list[Claim]:
        now = self.service.low()
        return [c for c in found if c.token != self.token and c.blocks(now, self.ttl)]

    def acquire(self, timeout: float = 0.0, sleep: Callable[[float], None] = time.sleep) -> None:
        deadline = self.clock() + timeout
        lost = 0
        while True:
            # until the first claim of ours tells the service's time, nothing can be judged
            others = self._blocking(self._list()) if self.service.known else []
            if not others:
                claim_id = self._create()
                state, again = self._look(claim_id)
                rivals = self._blocking(again)
                if not rivals:
                    deleted = self._settle(claim_id, again)
                    if state is not None:
                        self._state = self._settled(state, claim_id, deleted)
                    return
                for mine in (c for c in again if c.token == self.token):
                    self._delete(mine.id)  # a lost race: step back, look again
                lost += 1
                others = rivals
                if lost < CONTENTION_TRIES:
                    sleep(random.uniform(0.02, 0.25))
                    continue
            if self.clock() >= deadline:
                now = self.service.low()
                raise LockError(held_message(self.project, others[0], now, self.ttl))
            sleep(max(0.0, min(POLL, deadline - self.clock())))

    def _look(self, claim_id: str) -> tuple[RemoteState | None, list[Claim]]:
        """Every claim of the project once ours exists (newest first, as listed), with the
        whole state when the lease reads it (`read`). A failed look takes our claim back:
        left there, it would block every other apply until it expires."""
        try:
            if self.read is None:
                return None, self._list()
            state = self.read()
        except Exception:
            with suppress(AsstDeployError):
                self._delete(claim_id)
            raise
        return state, list(reversed(claims(state.leases, self.project)))

    def _settled(self, state: RemoteState, claim_id: str, deleted: set[str]) -> RemoteState:
        """`state` as the target holds it once _settle is done (what a read now would list):
        without the claims it deleted, ours carrying what its first renewal wrote."""
        leases: list[RemoteObject] = []
        for obj in state.leases:
            if obj.id in deleted:
                continue
            if obj.id == claim_id and self._written is not None:
                obj = RemoteObject(obj.kind, obj.id, {**obj.data, "metadata": self._written})
            leases.append(obj)
        return dataclasses.replace(state, leases=tuple(leases))

    def take_state(self) -> RemoteState | None:
        """The remote state read while acquiring (see `read`), once; None when the lease
        did not read it, or it was taken already: the holder reads the state itself."""
        state, self._state = self._state, None
        return state

    def _settle(self, claim_id: str, found: list[Claim]) -> set[str]:
        """Hold the lease won with `claim_id`: stamp it, then clear away what it replaces
        (the ids of the claims deleted)."""
        now = self.service.low()
        self.id, self.generation = (
            claim_id,
            max((c.landed_generation(now, self.ttl) for c in found if c.id != claim_id), default=0),
        )
        try:
            self.renew()  # the first renewal writes the generation: our claim carries it
            self.check()
        except BaseException:
            self._delete(claim_id)
            self.id = None
            raise
        deleted: set[str] = set()
        for extra in found:  # our duplicates, and dead or released claims
            if extra.id == claim_id or (extra.token != self.token and extra.blocks(now, self.ttl)):
                continue
            self._delete(extra.id)
            deleted.add(extra.id)
            if extra.holder and extra.token != self.token:
                why = (
                    f"its process (pid {_pid(extra.process)}) is no longer running on this host"
                    if process_gone(extra.process)
                    else f"it was not renewed for {extra.age(now):.0f} s"
                )
                self.note(
                    f"Took over the lock of project {self.project} from {extra.holder} "
                    f"(lock id {extra.id}): {why}. What it did counts as landed."
                )
        self._start_renewal()
        return deleted

    # ---- holding it ------------------------------------------------------------------------

    def renew(self) -> None:
        """One renewal (the background thread's beat). A renewal answered after the lease
        was lost revives nothing: a taker may have judged the claim by then."""
        if self.id is None or self._lost is not None:
            return
        sent = self.clock()
        metadata = self._metadata(self.generation, renewed=self.service.high(sent))
        try:
            retrying(self.retry, partial(self.backend.set_metadata, LEASE_KIND, self.id, metadata))
            self._written = metadata
        except RemoteError as exc:
            if exc.status == 404:
                self._lose(
                    f"its claim {self.id} is gone from the target (force-unlocked, or taken "
                    "over by another apply)"
                )
            return  # tried again at the next beat; check() stops the writes after HOLD
        except AsstDeployError:
            return
        with self._mutex:
            if self.clock() - self._confirmed < hold(self.ttl):
                self._confirmed = max(self._confirmed, sent)
        self.check(raising=False)

    def _lose(self, why: str) -> None:
        with self._mutex:
            self._lost = self._lost or why

    @property
    def lost(self) -> bool:
        return self._lost is not None

    def check(self, raising: bool = True) -> None:
        """Raise LockLost unless the lease is sure: what every write asks first."""
        with self._mutex:
            silent = self.clock() - self._confirmed
            if self._lost is None and self.id is not None and silent >= hold(self.ttl):
                self._lost = f"it could not renew its claim {self.id} for {silent:.0f} s"
        if raising and self._lost is not None:
            raise LockLost(
                f"lost the lock of project {self.project}: {self._lost}. This run stopped "
                "before its next write, so that another apply may go on alone. Run "
                "`asst-deploy plan` to see what is left, then apply again"
            )

    def guard(self, backend: Backend) -> Backend:
        """`backend` whose every write first checks that the lease is still held."""
        return Guarded(backend, self.check)

    def _start_renewal(self) -> None:
        def beat() -> None:
            while not self._stop.wait(renew_every(self.ttl)):
                if self.id is None or self._lost is not None:
                    return
                self.renew()

        self._renewer = threading.Thread(target=beat, name="asst-deploy-lease", daemon=True)
        self._renewer.start()

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.id is None:
            return
        claim_id, self.id = self.id, None
        if self._lost is not None:
            return  # not ours any more: writing it could release another's lock
        gen = self.generation + (1 if self.changed else 0)
        metadata = _metadata(self.project, "", "", gen)
        try:
            retrying(self.retry, partial(self.backend.set_metadata, LEASE_KIND, claim_id, metadata))
        except RemoteError as exc:
            if exc.status != 404:  # gone: force-unlocked at the very end, nothing to release
                raise


class Guarded:
    """A backend whose writes are refused once the lease is lost (Lease.guard)."""

    def __init__(self, backend: Backend, check: Callable[[], None]) -> None:
        self.backend = backend
        self.check = check

    def read_state(self, retry: PageRetry | None = None, *, models: bool = False) -> RemoteState:
        return self.backend.read_state(retry, models=models)

    def list_newest(
        self, kind: str, retry: PageRetry | None = None
    ) -> Iterator[RemoteObject | RemoteFile]:
        return self.backend.list_newest(kind, retry)

    def retrieve(self, kind: str, remote_id: str) -> RemoteObject | None:
        return self.backend.retrieve(kind, remote_id)

    def download_file(self, file_id: str) -> bytes:
        return self.backend.download_file(file_id)

    def download_content(self, kind: str, remote_id: str) -> bytes:
        return self.backend.download_content(kind, remote_id)

    def vector_store_files(
        self, store_id: str, retry: PageRetry | None = None
    ) -> list[Mapping[str, Json]]:
        return self.backend.vector_store_files(store_id, retry)

    def create(self, kind: str, payload: Mapping[str, Json]) -> RemoteObject:
        self.check()
        return self.backend.create(kind, payload)

    def update(self, kind: str, remote_id: str, payload: Mapping[str, Json]) -> RemoteObject:
        self.check()
        return self.backend.update(kind, remote_id, payload)

    def delete(self, kind: str, remote_id: str) -> None:
        self.check()
        self.backend.delete(kind, remote_id)

    def act(self, kind: str, remote_id: str, action: str) -> RemoteObject:
        self.check()
        return self.backend.act(kind, remote_id, action)

    def set_metadata(self, kind: str, remote_id: str, metadata: Mapping[str, Json]) -> None:
        self.check()
        self.backend.set_metadata(kind, remote_id, metadata)

    def upload_file(self, path: Path, filename: str) -> RemoteFile:
        self.check()
        return self.backend.upload_file(path, filename)

    def attach_files(
        self, store_id: str, files: Sequence[tuple[str, Mapping[str, Json]]], chunking: Json
    ) -> None:
        self.check()
        self.backend.attach_files(store_id, files, chunking)

    def update_file_attributes(
        self, store_id: str, file_id: str, attributes: Mapping[str, Json]
    ) -> None:
        self.check()
        self.backend.update_file_attributes(store_id, file_id, attributes)

    def detach_file(self, store_id: str, file_id: str) -> None:
        self.check()
        self.backend.detach_file(store_id, file_id)


@contextmanager
def held(
    backend: Backend,
    project: str,
    *,
    retry: RetryPolicy,
    timeout: float = 0.0,
    holder: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    note: Callable[[str], None] = lambda message: None,
    read_state: bool = False,
    models: bool = False,
) -> Iterator[Lease]:
    """The project's lease on the target for the duration of the block. The block sets
    `lease.changed` when it applied anything, and writes through `lease.guard(backend)`.
    With `read_state`, taking the lease reads the whole remote state (the listing it needs
    anyway, and with `models` the target's model list), which the block takes with
    `lease.take_state()` instead of reading it again."""
    read = partial(read_remote_state, backend, retry, models=models) if read_state else None
    lease = Lease(backend, project, holder or default_holder(), retry, note=note, read=read)
    lease.acquire(timeout, sleep)
    try:
        yield lease
    finally:
        lease.release()


@dataclass(frozen=True)
class Unlocked:
    claim: Claim  # as it was
    age: float  # seconds since its last renewal, in the service's time
    wait: float  # seconds until the fence ends: its holder has surely stopped by then


def force_unlock(
    backend: Backend,
    project: str,
    lock_id: str,
    retry: RetryPolicy,
    *,
    force: bool = False,
    clock: Callable[[], float] = time.monotonic,
    ttl: float = TTL,
) -> Unlocked:
    """Release the claim `lock_id` of `project` whoever holds it (its holder died), unless
    it was renewed within the last renewal period (its holder looks live) and not `force`.
    The generation is bumped: whatever that holder did counts as landed."""
    found = claims(backend.list_newest(LEASE_KIND, page_retry(retry)), project)
    claim = next((c for c in found if c.id == lock_id), None)
    if claim is None:
        known = ", ".join(f"{c.id} ({c.holder or 'released'})" for c in found) or "none"
        raise AsstDeployError(
            f"no lock {lock_id} of project {project} on the target; its locks: {known}"
        )
    if not claim.holder:
        return Unlocked(claim, 0.0, 0.0)
    gone = process_gone(claim.process)
    # the holder stops writing HOLD after its last renewal at the latest (Lease.check);
    # sooner, when its next renewal finds the claim gone
    fence = 0.0 if gone else claim.renewed + hold(ttl) + MARGIN
    successor = _metadata(project, "", "", claim.generation + 1, fence=fence)
    payload = {"name": f"asst-deploy lock ({project})", "metadata": successor}
    service = ServiceClock(clock)
    sent = clock()
    created = retrying(retry, lambda: backend.create(LEASE_KIND, payload))
    service.learn(float(created.data["created_at"]), sent, clock())
    now = service.low()
    age = claim.age(now)
    fresh = renew_every(ttl) * 1.5  # a renewal may run late by its own retries
    if age < fresh and not gone and not force:
        retrying(retry, partial(backend.delete, LEASE_KIND, created.id), gone_ok=True)
        raise AsstDeployError(
            f"lock {lock_id} of project {project} is live: held by {claim.holder}, renewed "
            f"{max(0.0, age):.0f} s ago (a live holder renews every "
            f"{renew_every(ttl):.0f} s); nothing was changed. Wait for that apply to finish; "
            f"if you are sure it is dead (its machine is gone), pass --force: it stops "
            f"before its next write, and other applies wait until it has"
        )
    retrying(retry, partial(backend.delete, LEASE_KIND, lock_id), gone_ok=True)
    return Unlocked(claim, age, max(0.0, fence - now))
