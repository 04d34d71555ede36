"""Execute a plan: files, vector stores, assistants in order; deletes in reverse; retries."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from asst_deploy import authorship, identity, kinds
from asst_deploy.backend import Backend, PageRetry, RemoteError
from asst_deploy.errors import AsstDeployError
from asst_deploy.plan import Action, Create, Delete, Plan, Replace, Update
from asst_deploy.state import FILE_KIND, RemoteState
from asst_deploy.types import Json, Mode

T = TypeVar("T")
INSUFFICIENT_STORAGE = 507
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base: float = 0.5
    cap: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    # told of each retry before its sleep (the error, the delay): for `--verbose`
    on_retry: Callable[[RemoteError, float], None] | None = None

    def delay(self, attempt: int, error: RemoteError) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.cap)
        # full jitter: spreads retries of parallel workers apart
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


@dataclass(frozen=True)
class Options:
    parallelism: int = 4
    ingestion_timeout: float = 300.0
    poll_interval: float = 0.2
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # what waits between polls (of a store's files while they ingest): tests pass their own
    sleep: Callable[[float], None] = time.sleep


def retrying(
    policy: RetryPolicy,
    fn: Callable[[], T],
    adopt: Callable[[], T | None] | None = None,
    *,
    connection_errors: bool = True,
    gone_ok: bool = False,
    landed: Callable[[], Any] | None = None,
) -> T:
    """Run `fn`, retrying what the API calls retryable. Before a create is sent again,
    `adopt` looks for the object the failed attempt may have made after all. Without
    `connection_errors`, an endpoint no connection can be made to fails at once (a
    connection that broke mid-answer is retried). With `gone_ok` (deletes, detaches),
    404 means done: an earlier attempt committed although it answered an error.

    When the last attempt fails too, a write may still have committed (an answer lost
    after the work was done): `landed` (for a create, `adopt`) reads the target back, and
    what it finds (anything but None) is the result, instead of a failure of work done."""
    for attempt in range(policy.attempts):
        try:
            return fn()
        except RemoteError as exc:
            if gone_ok and exc.status == 404:
                return None  # type: ignore[return-value]
            unreachable = exc.unreachable and not connection_errors
            # 507: the server cannot store it (the sandbox's disk is full): not transient
            if not exc.retryable or unreachable or exc.status == INSUFFICIENT_STORAGE:
                raise
            if attempt == policy.attempts - 1:
                found = _look(policy, landed if landed is not None else adopt)
                if found is not None:
                    return cast(T, found)
                raise
            delay = policy.delay(attempt, exc)
            if policy.on_retry is not None:
                policy.on_retry(exc, delay)
            policy.sleep(delay)
            if adopt is not None:
                found = retrying(policy, adopt)
                if found is not None:
                    return found
    raise AssertionError("unreachable")


def _look(policy: RetryPolicy, look: Callable[[], Any] | None) -> Any:
    """What `look` finds on the target, None when nothing or when it cannot read either
    (the write's own failure is then what is reported)."""
    if look is None:
        return None
    try:
        return retrying(policy, look)
    except AsstDeployError:
        return None


def page_retry(policy: RetryPolicy) -> PageRetry:
    """Retries for the pages of one read: a failed page (429, 5xx, a dropped connection) is
    fetched again on its own; an endpoint never reached fails at once (a wrong base_url
    should be reported, not retried for a minute)."""
    reached = False

    def run(fetch: Callable[[], T]) -> T:
        nonlocal reached
        result = retrying(policy, fetch, connection_errors=reached)
        reached = True
        return result

    return run


def read_state(
    backend: Backend,
    policy: RetryPolicy,
    *,
    models: bool = False,
    wrap: Callable[[PageRetry], PageRetry] | None = None,
) -> RemoteState:
    """The whole remote state, each list page retried on its own (through `wrap`, when
    given); objects tagged as a project's without its proof of authorship are nobody's
    (authorship.vet). With `models`, the shutdown dates the target's model list reports."""
    pages = page_retry(policy)
    return authorship.vet(backend.read_state(wrap(pages) if wrap else pages, models=models))


class ApplyError(AsstDeployError):
    def __init__(self, failures: list[str], done: int) -> None:
        self.failures = failures
        lines = "\n".join(f"  {f}" for f in failures)
        super().__init__(
            f"apply finished with {len(failures)} error(s) after {done} successful action(s):\n{lines}\n"
            "Run `asst-deploy plan` to see what is left; running apply again converges."
        )

    def render(self) -> str:
        return f"Error: {self}"


class Stop(AsstDeployError):
    """Raised by a write refused before it was sent because nothing more may be written
    (the lease was lost: lease.py). The run stops at once instead of failing each action
    in turn, and apply_plan raises it, told how far the run got."""

    def stopped_after(self, done: int) -> Stop:
        return type(self)(
            f"{self}\nStopped after {done} successful action(s), before any further write."
        )


class _Run:
    def __init__(
        self,
        plan: Plan,
        root: Path,
        backend: Backend,
        remote: RemoteState,
        options: Options,
        progress: Progress,
        status: Progress,
    ) -> None:
        remote = authorship.vet(remote)
        self.plan = plan
        self.project = plan.project
        self.remote = remote
        # the proof of authorship every write carries (authorship.py); with no marker on
        # the target yet, the run makes one with this nonce before its first write
        self.marker = authorship.markers(remote.leases).get(plan.project)
        self.nonce = self.marker.nonce if self.marker else authorship.new_nonce()
        self.proved: set[str] = set()  # ids written with their final proof by this run
        self.root = root
        self.backend = backend
        self.options = options
        self.progress = progress
        self.status = status
        self.started = itertools.count(1)  # actions begun, for "[3/12]"; next() is atomic
        self.total = step_count(plan)
        # logical name ("path#sha" or vector store key) -> remote id, grown as objects appear
        # (never one this plan deletes: of duplicates, the one kept)
        deleted = {a.remote_id for a in plan.actions if isinstance(a, Delete)}
        self.names = kinds.names(remote, plan.project)  # every id, also of objects being deleted
        self.ids = {
            name: remote_id for remote_id, name in self.names.items() if remote_id not in deleted
        }
        self.stores = {o.id: o for o in remote.all_objects()}
        self.failures: list[str] = []
        self.stopped: Stop | None = None
        self.done = 0
        # what was done, for `apply --json`: one entry per action and phase, in order done
        self.results: list[dict[str, Json]] = []

    # ---- calls with retries ------------------------------------------------------

    def call(
        self,
        fn: Callable[[], T],
        adopt: Callable[[], T | None] | None = None,
        *,
        gone_ok: bool = False,
        landed: Callable[[], Any] | None = None,
    ) -> T:
        return retrying(self.options.retry, fn, adopt, gone_ok=gone_ok, landed=landed)

    # ---- looking before a failure is reported (retrying's `landed`) -------------------

    def id_names(self) -> dict[str, str]:
        """Remote id -> logical name, of the objects of the state read and made since."""
        return {**self.names, **{remote_id: name for name, remote_id in self.ids.items()}}

    def updated(self, kind: str, remote_id: str, after: Mapping[str, Json]) -> Callable[[], Any]:
        """Whether an update of `remote_id` to `after` landed: the object, read back, is it."""

        def look() -> Any:
            obj = self.backend.retrieve(kind, remote_id)
            if obj is None or not kinds.get(kind).holds(obj, after, self.id_names()):
                return None
            return obj if authorship.final(obj, self.nonce) else None

        return look

    def tagged(self, kind: str, remote_id: str, tags: Mapping[str, Json]) -> Callable[[], Any]:
        """Whether identity tags written on `remote_id` landed."""

        def look() -> Any:
            obj = self.backend.retrieve(kind, remote_id)
            if obj is None:
                return None
            held = obj.tags if obj.tags is not None else obj.data.get("metadata") or {}
            wanted = {k: tags[k] for k in identity.RESERVED_METADATA_KEYS if k in tags}
            return obj if all(held.get(k) == v for k, v in wanted.items()) else None

        return look

    def gone(self, kind: str, remote_id: str) -> Callable[[], Any]:
        """Whether `remote_id` is gone (a delete that landed)."""

        def look() -> bool | None:
            if kind == FILE_KIND:
                listed = self.backend.list_newest(FILE_KIND, self.page_retry())
                return None if any(f.id == remote_id for f in listed) else True
            return True if self.backend.retrieve(kind, remote_id) is None else None

        return look

    def store_files(
        self, store_id: str, check: Callable[[dict[str, Mapping[str, Json]]], bool]
    ) -> Callable[[], Any]:
        """Whether a change of a store's files landed: `check` of its files, by id."""

        def look() -> bool | None:
            files = self.backend.vector_store_files(store_id, self.page_retry())
            return True if check({str(f["id"]): f for f in files}) else None

        return look

    def newest(self, kind: str, match: Callable[[Any], bool]) -> Any:
        """The newest object of `kind` that `match`es, listing newest first and stopping
        there: recovering one failed create must not re-read the whole remote."""
        pages = self.backend.list_newest(kind, page_retry(self.options.retry))
        return next((obj for obj in pages if match(obj)), None)

    def find(self, kind: str, key: str, exclude: str | None = None) -> Any:
        """The object a failed create of (kind, key) may have made after all: tagged, and
        carrying this run's proof (a look-alike is never taken for it)."""
        return self.newest(
            kind,
            lambda obj: (
                obj.owner.of(self.plan.project, key)
                and obj.id != exclude
                and authorship.proven(obj, self.nonce)
            ),
        )

    def record(self, action: Action, verb: str, remote_id: str) -> None:
        """One thing done (a replace is recorded twice: created, then deleted)."""
        self.results.append(
            {
                "action": action.verb,
                "done": verb,
                "kind": action.kind,
                "key": action.key,
                "remote_id": remote_id,
            }
        )

    def refresh(self, action: Create | Update | Replace) -> None:
        """Refresh-only: rewrite the hash stamp to the live form; no field is sent."""
        remote_id = _remote_id(action)
        kind = kinds.get(action.kind)
        metadata = kind.written_metadata(self, action.key, action.after, remote_id)
        self.call(
            partial(self.backend.set_metadata, action.kind, remote_id, metadata),
            landed=self.tagged(action.kind, remote_id, metadata),
        )
        self.proved.add(remote_id)
        self.record(action, "refreshed", remote_id)
        self.progress(f"  ~ {action.kind} {action.key}: hash stamp refreshed on {remote_id}")

    # ---- what a kind's write may use (kinds.base.Writer) ----------------------------

    def page_retry(self) -> PageRetry:
        return page_retry(self.options.retry)

    def metadata(
        self, kind: str, key: str, after: Mapping[str, Json], remote_id: str | None = None
    ) -> dict[str, Json]:
        """The user's metadata and the identity tags, with the proof of authorship for the
        object `remote_id` (None: one about to be created, the provisional proof)."""
        proof = authorship.proof(self.nonce, kind, key, remote_id or "")
        stamp = identity.stamp(self.plan.project, key, after, proof)
        return {**kinds.get(kind).metadata_of(after), **stamp}

    def proof(self, kind: str, key: str) -> str:
        return authorship.proof(self.nonce, kind, key)

    def prove(self, kind: str, key: str, made: Any) -> None:
        """Write the final proof (which names its id) on an object just created."""
        tags = dict(made.tags if made.tags is not None else made.data.get("metadata") or {})
        final = authorship.proof(self.nonce, kind, key, made.id)
        if identity.proof_of(tags) != final:
            tags[identity.HASH_KEY] = identity.with_proof(str(tags.get(identity.HASH_KEY)), final)
            self.call(
                partial(self.backend.set_metadata, kind, made.id, tags),
                landed=self.tagged(kind, made.id, tags),
            )
        self.proved.add(made.id)

    def resolve(self, name: str) -> str:
        if name.startswith("id:"):
            return name[3:]
        return self.ids[name]

    def learn(self, name: str, remote_id: str) -> None:
        self.ids[name] = remote_id

    def attached(self, store_id: str) -> dict[str, str]:
        store = self.stores.get(store_id)
        files = store.files if store is not None else ()
        return {self.names.get(f["id"], f"id:{f['id']}"): f["id"] for f in files}

    def file_name(self, file_id: str) -> str:
        names = {v: k for k, v in self.ids.items()}
        return str(names.get(file_id, file_id)).split("#")[0]

    def fail(self, message: str) -> None:
        self.failures.append(message)

    # ---- per action --------------------------------------------------------------

    def write(self, action: Create | Update | Replace) -> None:
        kind = kinds.get(action.kind)
        remote_id = kind.write(self, action)
        if isinstance(action, Update):
            self.proved.add(remote_id)  # its payload carried the final proof
        name = kind.ref_name(action.key)
        if name is not None:
            self.ids[name] = remote_id  # what later phases point at (an adopted object too)
        updated = isinstance(action, Update)
        self.record(action, "updated" if updated else kind.made, remote_id)
        said = "updated" if updated else kind.made_line
        self.progress(f"  {action.symbol} {action.kind} {action.key}: {said} {remote_id}")

    def delete(self, action: Action, kind: str, key: str, remote_id: str) -> None:
        self.call(
            partial(self.backend.delete, kind, remote_id),
            gone_ok=True,
            landed=self.gone(kind, remote_id),
        )
        self.record(action, "deleted", remote_id)
        self.progress(f"    - {kind} {key}: deleted {remote_id}")

    # ---- phases ------------------------------------------------------------------

    def run_phase(self, jobs: list[tuple[Action, Callable[[], None]]]) -> None:
        def run(job: tuple[Action, Callable[[], None]]) -> None:
            action, fn = job
            if self.stopped is not None:
                return
            step = f"[{next(self.started)}/{self.total}]"
            self.status(f"{step} {action.verb} {action.kind} {action.key}")
            try:
                fn()
                self.done += 1
            except Stop as exc:
                self.stopped = self.stopped or exc
            except AsstDeployError as exc:
                self.failures.append(f"{action.verb} {action.kind} {action.key}: {exc}")

        with ThreadPoolExecutor(max_workers=max(1, self.options.parallelism)) as pool:
            list(pool.map(run, jobs))

    def run(self) -> None:
        try:
            if self.marker is None and self.plan.mode is not Mode.DESTROY:
                self.make_marker()
        except Stop as exc:
            self.stopped = exc
            return
        self.run_actions()
        if not (self.failures or self.stopped):
            self.seal()

    # ---- the proof of authorship (authorship.py) -----------------------------------

    def _listed_marker(self) -> authorship.Marker | None:
        """The project's marker as the target lists it now (None: it has none)."""
        listed = self.backend.list_newest(authorship.MARKER_KIND, self.page_retry())
        return authorship.markers(listed).get(self.project)

    def make_marker(self) -> None:
        """The project's deployment marker, made before the first write (unless one was
        made since the plan read the state)."""
        marker = self._listed_marker()
        if marker is None:
            payload = authorship.marker_payload(self.project, self.nonce)

            def adopt() -> Any:  # a create that committed, answering an error
                found = self._listed_marker()
                return found if found is not None and found.nonce == self.nonce else None

            made = self.call(lambda: self.backend.create(authorship.MARKER_KIND, payload), adopt)
            marker = made if isinstance(made, authorship.Marker) else authorship.parse_marker(made)
        if marker is None:
            raise AssertionError("the deployment marker just made does not read back")
        self.marker, self.nonce = marker, marker.nonce
        self.status(f"    deployment marker {marker.id}: proofs of authorship start here")

    def seal(self) -> None:
        """Once every action is done: write the final proof on each of the project's
        objects that lacks it (made before the marker, or by a create whose last step
        failed), then seal the marker: from then on a tagged object without a proof is a
        look-alike. Not for a plan limited to some keys: it writes nothing else. Destroy
        keeps the marker: without it, tags alone would be trusted again."""
        if self.plan.only or self.marker is None:
            return
        deleted = {a.remote_id for a in self.plan.actions if isinstance(a, Delete | Replace)}
        todo = [
            obj
            for obj in authorship.unproven(self.remote, self.project, self.nonce)
            if obj.id not in self.proved and obj.id not in deleted
        ]
        for obj in todo:
            _, key, _ = obj.owner
            try:
                self.prove(obj.kind, str(key), obj)
            except Stop as exc:
                self.stopped = exc
                return
            except AsstDeployError as exc:
                self.failures.append(f"writing the proof of authorship on {obj.kind} {key}: {exc}")
        if todo:
            self.status(f"    proof of authorship written on {len(todo)} object(s)")
        if self.failures or self.marker.sealed:
            return
        sealed = authorship.marker_metadata(self.project, self.nonce, sealed=True)

        def landed() -> bool | None:
            found = self._listed_marker()
            return True if found is not None and found.sealed else None

        try:
            self.call(
                partial(self.backend.set_metadata, authorship.MARKER_KIND, self.marker.id, sealed),
                landed=landed,
            )
        except Stop as exc:
            self.stopped = exc
        except AsstDeployError as exc:
            self.failures.append(f"sealing the deployment marker {self.marker.id}: {exc}")

    def run_actions(self) -> None:
        order = list(kinds.KINDS)  # dependency order: a kind after those it points at
        for kind in order:
            jobs: list[tuple[Action, Callable[[], None]]] = [
                (a, partial(self.refresh if isinstance(a, Update) and a.refresh else self.write, a))
                for a in self.plan.actions
                if a.kind == kind and isinstance(a, Create | Update | Replace)
            ]
            self.run_phase(jobs)
            if self.failures or self.stopped:
                return  # later phases depend on this one: stop, nothing is half-linked
        for kind in reversed(order):
            jobs = [
                (a, partial(self.delete, a, a.kind, a.key, _remote_id(a)))
                for a in self.plan.actions
                if a.kind == kind and isinstance(a, Delete | Replace) and a.remote_id
            ]
            self.run_phase(jobs)
            if self.stopped:
                return


def step_count(plan: Plan) -> int:
    """Steps a run of `plan` takes (each tells `progress` once when done, when it works):
    a replace runs twice, its create with the creates, its delete with the deletes."""
    return sum(isinstance(a, Create | Update | Replace) for a in plan.actions) + sum(
        isinstance(a, Delete | Replace) and a.remote_id is not None for a in plan.actions
    )


def _remote_id(action: Action) -> str:
    if action.remote_id is None:
        raise AssertionError(f"{action.verb} {action.kind} {action.key} has no remote id")
    return action.remote_id


def apply_plan(
    plan: Plan,
    root: Path,
    backend: Backend,
    remote: RemoteState,
    *,
    options: Options | None = None,
    progress: Progress = lambda line: None,
    status: Progress = lambda line: None,
    results: list[dict[str, Json]] | None = None,
) -> int:
    """Carry out `plan` against `backend`; returns the number of actions done.
    `remote` is the state the plan was made from (for ids of unchanged objects).
    `progress` is told of each action done; `status` of work under way (an action
    starting, an upload, an ingestion wait), for a terminal or a verbose log. `results`,
    when given, gets what was done (also when the run fails): one dict per step with
    action, done, kind, key and remote_id."""
    run = _Run(plan, root, backend, remote, options or Options(), progress, status)
    try:
        run.run()
    finally:
        if results is not None:
            results.extend(run.results)
    if run.stopped is not None:
        raise run.stopped.stopped_after(run.done)
    if run.failures:
        raise ApplyError(run.failures, run.done)
    return run.done
