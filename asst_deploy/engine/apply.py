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
from typing import Any, TypeVar

from asst_deploy import identity, kinds
from asst_deploy.backend import Backend, PageRetry, RemoteError
from asst_deploy.errors import AsstDeployError
from asst_deploy.plan import Action, Create, Delete, Plan, Replace, Update
from asst_deploy.state import RemoteState
from asst_deploy.types import Json

T = TypeVar("T")
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
) -> T:
    """Run `fn`, retrying what the API calls retryable. Before a create is sent again,
    `adopt` looks for the object the failed attempt may have made after all. Without
    `connection_errors`, an endpoint no connection can be made to fails at once (a
    connection that broke mid-answer is retried). With `gone_ok` (deletes, detaches),
    404 means done: an earlier attempt committed although it answered an error."""
    for attempt in range(policy.attempts):
        try:
            return fn()
        except RemoteError as exc:
            if gone_ok and exc.status == 404:
                return None  # type: ignore[return-value]
            unreachable = exc.unreachable and not connection_errors
            if not exc.retryable or unreachable or attempt == policy.attempts - 1:
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


def read_state(backend: Backend, policy: RetryPolicy) -> RemoteState:
    """The whole remote state, each list page retried on its own."""
    return backend.read_state(page_retry(policy))


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
        self.plan = plan
        self.project = plan.project
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
    ) -> T:
        return retrying(self.options.retry, fn, adopt, gone_ok=gone_ok)

    def newest(self, kind: str, match: Callable[[Any], bool]) -> Any:
        """The newest object of `kind` that `match`es, listing newest first and stopping
        there: recovering one failed create must not re-read the whole remote."""
        pages = self.backend.list_newest(kind, page_retry(self.options.retry))
        return next((obj for obj in pages if match(obj)), None)

    def find(self, kind: str, key: str, exclude: str | None = None) -> Any:
        """The object a failed create of (kind, key) may have made after all."""
        return self.newest(
            kind, lambda obj: obj.owner.of(self.plan.project, key) and obj.id != exclude
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
        metadata = self.metadata(action.key, action.after)
        self.call(partial(self.backend.set_metadata, action.kind, remote_id, metadata))
        self.record(action, "refreshed", remote_id)
        self.progress(f"  ~ {action.kind} {action.key}: hash stamp refreshed on {remote_id}")

    # ---- what a kind's write may use (kinds.base.Writer) ----------------------------

    def page_retry(self) -> PageRetry:
        return page_retry(self.options.retry)

    def metadata(self, key: str, after: Mapping[str, Json]) -> dict[str, Json]:
        return {**(after.get("metadata") or {}), **identity.stamp(self.plan.project, key, after)}

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
        name = kind.ref_name(action.key)
        if name is not None:
            self.ids[name] = remote_id  # what later phases point at (an adopted object too)
        updated = isinstance(action, Update)
        self.record(action, "updated" if updated else kind.made, remote_id)
        said = "updated" if updated else kind.made_line
        self.progress(f"  {action.symbol} {action.kind} {action.key}: {said} {remote_id}")

    def delete(self, action: Action, kind: str, key: str, remote_id: str) -> None:
        self.call(partial(self.backend.delete, kind, remote_id), gone_ok=True)
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
