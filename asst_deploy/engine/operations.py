"""The engine's front door, which the CLI (and the GitHub Action through it) calls: load a
project, plan (fresh, saved, destroy, refresh-only), and apply or destroy through a
connected, locked `Deployment`. The CLI parses options and prints; the workflow is here."""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import json
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from asst_deploy import generations, identity, kinds, secretref
from asst_deploy.backend import Backend, PageRetry
from asst_deploy.desired import OPENAI_BASE_URL, Project, Target
from asst_deploy.engine import lease, planfile
from asst_deploy.engine.apply import Options, RetryPolicy, apply_plan, read_state
from asst_deploy.engine.compare import (
    compare,
    from_remote,
    outside_references,
    resources_unknown,
)
from asst_deploy.engine.targets import connect
from asst_deploy.errors import AsstDeployError, OptionConflict, SpecError
from asst_deploy.plan import Action, Create, Delete, Keep, Plan, Update
from asst_deploy.spec import secretfiles, sharing, shutdowns
from asst_deploy.spec.loader import (
    PROJECT_FILE,
    environment_targets,
    find_root,
    load_project,
    named_target,
)
from asst_deploy.state import RemoteState
from asst_deploy.types import Json, Mode, TargetType

PLAN_FILE_KIND = "asst-deploy-plan"
Note = Callable[[str], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Planning:
    """What to plan: the planning options of `plan` and `apply`, checked together."""

    mode: Mode = Mode.NORMAL
    prune: bool = False
    only: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        destroy: bool = False,
        refresh_only: bool = False,
        prune: bool = False,
        only: Collection[str] = (),
        replace: Collection[str] = (),
    ) -> Planning:
        """The options as given on a command line: --destroy and --refresh-only take no
        others (an `OptionConflict` names them)."""
        given = {
            "--destroy": destroy,
            "--refresh-only": refresh_only,
            "--prune": prune,
            "--resource": only,
            "--replace": replace,
        }
        for name in ("--destroy", "--refresh-only"):
            if not given[name]:
                continue
            others = [n for n, value in given.items() if value and n != name]
            if others:
                raise OptionConflict(f"{name} cannot be combined with {', '.join(others)}")
            return cls(mode=Mode.DESTROY if destroy else Mode.REFRESH_ONLY)
        return cls(prune=prune, only=tuple(only), replace=tuple(replace))

    def options(self) -> list[str]:
        """The command-line options this planning was given."""
        given = {
            "--prune": self.prune,
            "--resource": self.only,
            "--replace": self.replace,
            "--refresh-only": self.mode is Mode.REFRESH_ONLY,
        }
        return [name for name, value in given.items() if value]


def local_shas(project: Project) -> dict[str, str]:
    """Content hash of every file the project references (the only file reads after loading)."""
    return {f.path: identity.file_sha(f.abs_path) for f in project.files}


def read_remote(
    backend: Backend,
    retry: RetryPolicy | None = None,
    *,
    models: bool = False,
    wrap: Callable[[PageRetry], PageRetry] | None = None,
) -> RemoteState:
    """Everything on the target, listed page by page (transient errors retried); with
    `models`, the shutdown dates its model list reports too, read at the same time."""
    return read_state(backend, retry or RetryPolicy(), models=models, wrap=wrap)


def check_models(project: Project, remote: RemoteState) -> None:
    """The shutdown dates the target's model list reported (`remote.shutdowns`) beyond the
    built-in table, for the models the project uses: warned of within WARN_DAYS, refused
    (a SpecError at the spec's model) from the date on, before any resource is written."""
    if not remote.shutdowns:
        return
    warned, refused = shutdowns.check_reported(
        project, remote.shutdowns, shutdowns.today(), f"target '{project.target.name}'"
    )
    if refused:
        raise SpecError(refused)
    shutdowns.warn(warned)


def make_plan(
    project: Project,
    backend: Backend,
    *,
    prune: bool = False,
    only: Collection[str] = (),
    retry: RetryPolicy | None = None,
    replace: Collection[str] = (),
    mode: Mode = Mode.NORMAL,
    remote: RemoteState | None = None,
    models: bool = False,
) -> tuple[Plan, RemoteState]:
    """A plan of `mode`: toward the specs, deleting everything the project manages (see
    destroy_plan) or accepting drift (see refresh_plan). `remote`: the state, when it was
    read already (by the lock: Deployment). With `models`, a plan toward the specs reads
    the target's model list too, and refuses a model it reports shut down (check_models)."""
    check_planning(project, only, replace)
    if remote is None:
        remote = read_remote(backend, retry, models=models and mode is Mode.NORMAL)
    return planned(project, remote, mode=mode, prune=prune, only=only, replace=replace), remote


def check_planning(project: Project, only: Collection[str], replace: Collection[str]) -> None:
    """The keys --resource and --replace name are the project's (an AsstDeployError says
    which are not, and what they may be)."""
    objects = {a.key for a in project.assistants} | {s.key for s in project.vector_stores}
    # and what every other kind the target holds declares (a vault credential: "crm/crm-mcp")
    objects |= {k for kind in generations.kinds_of(project.target.api) for k in kind.keys(project)}
    unknown = set(only) - objects - {f.path for f in project.files}
    if unknown:
        raise AsstDeployError(resources_unknown(project, unknown))
    files = set(replace) & {f.path for f in project.files}
    if files:
        raise AsstDeployError(
            f"--replace takes an assistant or vector store key, not a file ({', '.join(sorted(files))}): "
            "a file is uploaded again whenever its content changes"
        )
    strangers = sorted(set(replace) - objects)
    if strangers:
        named = []
        for key in strangers:
            close = difflib.get_close_matches(key, sorted(objects), n=1)
            named.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise AsstDeployError(
            f"--replace names no assistant or vector store of the project: {', '.join(named)}; "
            f"the keys it takes: {', '.join(sorted(objects)) or 'none (the project has none)'}"
        )


def planned(
    project: Project,
    remote: RemoteState,
    *,
    mode: Mode = Mode.NORMAL,
    prune: bool = False,
    only: Collection[str] = (),
    replace: Collection[str] = (),
) -> Plan:
    """The plan of `mode` for `remote` (see plan_from), once a plan toward the specs is
    shown to deploy no model the target reports shut down (check_models)."""
    if mode is Mode.NORMAL:
        check_models(project, remote)
    return plan_from(project, remote, mode=mode, prune=prune, only=only, replace=replace)


def require_secrets(project: Project, mode: Mode = Mode.NORMAL, *, read: bool = False) -> None:
    """Before any call (`read`: before any call but the reads already under way): every
    secret the specs give as `{from_env: NAME}` has its variable set, when the plan of
    `mode` reads them (destroy and refresh-only do not)."""
    if mode is not Mode.NORMAL:
        return
    missing = secretref.unset(project.records)
    if not missing:
        return
    lines = [
        f"the environment variable {ref.env} is not set: "
        f"{ref.scope}{f' ({ref.location})' if ref.location else ''} takes its secret from it"
        for ref in missing
    ]
    raise secretref.MissingSecret(
        "\n  ".join(lines) + "\nSet it (its value never appears in a plan or any output), or "
        "change the spec's from_env, and run again; "
        + ("the target was only read, nothing was changed" if read else "nothing was called")
    )


def fresh_plan(
    project: Project, planning: Planning, *, retry: RetryPolicy, trace: Note | None = None
) -> Plan:
    """The plan of `planning` against the project's target now (no lock: it changes
    nothing)."""
    require_secrets(project, planning.mode)
    with connect(project.target, trace=trace) as backend:
        plan, _ = make_plan(
            project,
            backend,
            prune=planning.prune,
            only=planning.only,
            replace=planning.replace,
            mode=planning.mode,
            retry=target_retries(retry, project.target),
            models=True,
        )
    return plan


def plan_project(
    path: str | Path,
    env: str | None,
    target: str | None,
    planning: Planning,
    *,
    retry: RetryPolicy,
    trace: Note | None = None,
) -> tuple[Project, Plan]:
    """The project at `path` (see load) and its plan of `planning` (see fresh_plan). The
    read of a remote target starts as soon as the project file names it, and goes on
    while the specs load, which take about as long: the plan waits for the longer of the
    two instead of both. What fails is reported as without the head start: a problem of
    the specs or the options first (the read is stopped: nothing is written, no thread is
    left), then one of the connection."""
    ahead = ReadAhead.start(path, env, target, planning.mode, retry, trace)
    if ahead is None:
        project = load(path, env, target)
        return project, fresh_plan(project, planning, retry=retry, trace=trace)
    try:
        project = load(path, env, target)
        require_secrets(project, planning.mode, read=True)
        if project.target != ahead.target:  # the specs chose otherwise: start afresh
            ahead.stop()
            return project, fresh_plan(project, planning, retry=retry, trace=trace)
        check_planning(project, planning.only, planning.replace)
        plan = planned(
            project,
            ahead.result(),
            mode=planning.mode,
            prune=planning.prune,
            only=planning.only,
            replace=planning.replace,
        )
        return project, plan
    finally:
        ahead.stop()


class _Stopped(Exception):
    """A read ahead stopped before its next page: its result is never asked for."""


class ReadAhead:
    """The remote state of a target, read in a daemon thread while the caller loads the
    specs. The connection is made first, in the caller's thread: it is work for the
    processor (the SDK's import), which the loading could not overlap, and its requests
    then leave at once. `stop()` ends the read at its next page or retry (the page under
    way is waited for), joins the thread and closes the connection."""

    def __init__(self, target: Target, retry: RetryPolicy, trace: Note | None, models: bool):
        self.target = target
        self._stopped = threading.Event()
        self._state: RemoteState | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._connection = ExitStack()
        try:
            backend = self._connection.enter_context(connect(target, trace=trace))
        except Exception as exc:  # its API key unset...: told once the specs are found sound
            self._error = exc
            return
        # a retry's back-off ends early when the read is stopped
        policy = dataclasses.replace(target_retries(retry, target), sleep=self._sleep)
        self._thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._read, backend, policy, models),
            name="asst-deploy-read-ahead",
            daemon=True,
        )
        self._thread.start()

    @classmethod
    def start(
        cls,
        path: str | Path,
        env: str | None,
        target: str | None,
        mode: Mode,
        retry: RetryPolicy,
        trace: Note | None,
    ) -> ReadAhead | None:
        """A read of the target the project file at `path` names, under way; None when it
        names none without a problem, or the built-in sandbox (in this process: its read
        waits for nothing the loading could overlap), or when the specs may give a secret
        whose variable is not set (told before any call, as without the head start)."""
        named = named_target(path, env, target)
        if named is None or named.type != TargetType.OPENAI:
            return None
        if mode is Mode.NORMAL and secretfiles.may_lack(find_root(path)):
            return None  # a secret's variable unset is told before any call (require_secrets)
        return cls(named, retry, trace, models=mode is Mode.NORMAL)

    def _sleep(self, seconds: float) -> None:
        self._stopped.wait(seconds)

    def _pages(self, pages: PageRetry) -> PageRetry:
        def run(fetch: Callable[[], T]) -> T:
            if self._stopped.is_set():
                raise _Stopped
            result: T = pages(fetch)
            return result

        return run

    def _read(self, backend: Backend, policy: RetryPolicy, models: bool) -> None:
        try:
            self._state = read_remote(backend, policy, models=models, wrap=self._pages)
        except BaseException as exc:  # raised again where the result is taken
            self._error = exc

    def result(self) -> RemoteState:
        """The state read (waiting for it), or the connection's or read's error."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._state is not None
        return self._state

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        self._connection.close()


def plan_from(
    project: Project,
    remote: RemoteState,
    *,
    mode: Mode = Mode.NORMAL,
    prune: bool = False,
    only: Collection[str] = (),
    replace: Collection[str] = (),
) -> Plan:
    """The plan of `mode` for `remote`, with its context recorded."""
    if mode is Mode.DESTROY:
        plan = destroy_plan(project, remote)
    elif mode is Mode.REFRESH_ONLY:
        plan = refresh_plan(project, remote)
    else:
        plan = compare(
            project, remote, local_shas(project), prune=prune, only=only, replace=replace
        )
    plan = dataclasses.replace(plan, mode=mode, replace=tuple(sorted(replace)))
    return with_context(plan, project, remote, prune, only)


def load(path: str | Path, env: str | None = None, target: str | None = None) -> Project:
    """One environment of a project, for a command that changes its deployment (plan,
    apply, destroy, import): refused before any call when another environment deploys to
    the same place, where `--prune` would delete that environment's objects as this one's."""
    project = load_project(path, env, target)
    targets = {**environment_targets(project.root), **({env: project.target} if env else {})}
    problems = sharing.own_deployment(env, targets, project.root / PROJECT_FILE)
    if problems:
        raise SpecError(problems)
    return project


def endpoint(target: Target) -> str:
    """Where a target points: its base_url, or the built-in sandbox and its db file."""
    if target.type == TargetType.SANDBOX:
        return f"sandbox:{target.db.resolve() if target.db else 'memory'}"
    return str(target.base_url or OPENAI_BASE_URL)


def with_context(
    plan: Plan, project: Project, remote: RemoteState, prune: bool, only: Collection[str]
) -> Plan:
    """`plan` with what it was made against recorded, for `apply PLANFILE` to check."""
    return dataclasses.replace(
        plan,
        endpoint=endpoint(project.target),
        api=project.target.api,
        lease_generation=lease.generation(remote.leases, project.name),
        prune=prune,
        only=tuple(sorted(only)),
    )


# ---- saved plans ---------------------------------------------------------------------


def save_plan(plan: Plan, project: Project, path: Path) -> None:
    data = {"kind": PLAN_FILE_KIND, "root": str(project.root.resolve()), **plan.to_json()}
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False)
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (validation rejects it): escape it
        text = json.dumps(data, indent=2)
    path.write_text(text + "\n", encoding="utf-8")


def is_plan_file(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return PLAN_FILE_KIND.encode() in head


def read_plan(path: Path) -> tuple[Plan, Path]:
    """A saved plan and the project directory it was made for."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AsstDeployError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(data, dict) or data.get("kind") != PLAN_FILE_KIND:
        raise AsstDeployError(f"{path}: not an asst-deploy plan file")
    if not isinstance(data.get("root"), str):
        raise AsstDeployError(f"{path}: damaged plan file (root: expected the project directory)")
    try:
        return planfile.from_json(
            {k: v for k, v in data.items() if k not in ("kind", "root")}
        ), Path(data["root"])
    except AsstDeployError as exc:
        raise AsstDeployError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:  # what plan_problems did not foresee
        raise AsstDeployError(f"{path}: damaged plan file ({exc!r})") from None


def mismatches(plan: Plan, project: Project) -> list[str]:
    """Why a saved plan was made for another project, environment or endpoint."""
    reasons: list[str] = []
    now = {
        "project": project.name,
        "environment": project.environment,
        "target": project.target.name,
        "endpoint": endpoint(project.target),
        "api": project.target.api,
    }
    for name, value in now.items():
        planned = getattr(plan, name)
        if planned != value:
            reasons.append(f"the plan was made for {name} {planned!r}, the project has {value!r}")
    return reasons


def saved_plan_problems(plan: Plan, project: Project, remote: RemoteState) -> list[str]:
    """Everything that keeps a saved plan from being applied to `remote` now: stale
    objects or files, an object it changes that this project does not manage (now), an
    action a fresh plan would not make."""
    reasons = stale_reasons(plan, remote, local_shas(project))
    if reasons:
        return reasons
    reasons += _unmanaged(plan, remote)
    fresh = plan_from(
        project, remote, mode=plan.mode, prune=plan.prune, only=plan.only, replace=plan.replace
    )
    for action in plan.actions:
        if action not in fresh.actions:
            reasons.append(
                f"{action.verb} {action.kind} {action.key} ({action.remote_id or 'new'}) is not "
                "what a fresh plan would do"
            )
    return reasons


def _unmanaged(plan: Plan, remote: RemoteState) -> list[str]:
    ours: dict[str, tuple[str, str]] = {}
    for kind in kinds.KINDS:
        for obj in remote.of(kind):
            owner, key, _ = obj.owner
            if owner == plan.project and key:
                ours[obj.id] = (kind, key)
    return [
        f"{a.kind} {a.key}: {a.remote_id} is not managed by project {plan.project}"
        for a in plan.actions
        if a.remote_id is not None
        and ours.get(a.remote_id) != (a.kind, a.key)
        and not (isinstance(a, Update) and a.adopt)
    ]


def _current_fingerprint(action: Action, remote: RemoteState, names: dict[str, str]) -> str | None:
    obj = next((o for o in remote.of(action.kind) if o.id == action.remote_id), None)
    if obj is None:
        return None
    return kinds.get(action.kind).fingerprint(obj, names)[0]


def stale_reasons(plan: Plan, remote: RemoteState, shas: dict[str, str]) -> list[str]:
    """Why a saved plan no longer fits the remote state or the local files (empty: fresh)."""
    reasons: list[str] = []
    names = kinds.names(remote, plan.project)
    # files are not in it: a file's create is of its content, which no one else can make
    managed = {
        (o.kind, o.owner.key) for o in remote.all_objects() if o.owner.project == plan.project
    }
    for action in plan.actions:
        if isinstance(action, Create):
            if (action.kind, action.key) in managed:
                reasons.append(
                    f"{action.kind} {action.key} was created by someone else since the plan was made"
                )
            continue
        current = _current_fingerprint(action, remote, names)
        if current != action.fingerprint:
            what = "was deleted" if current is None else "changed"
            reasons.append(
                f"{action.kind} {action.key} ({action.remote_id}) {what} since the plan was made"
            )
    for path, sha in plan.files.items():
        if path not in shas:
            reasons.append(f"local file {path} is gone (or no longer used) since the plan was made")
        elif shas[path] != sha:
            reasons.append(f"local file {path} changed since the plan was made")
    return reasons


# ---- destroy -------------------------------------------------------------------------


def destroy_plan(project: Project, remote: RemoteState) -> Plan:
    """Delete every object `project` manages on the target, in reverse dependency order.
    Protected resources (in the specs, or stamped protected on the remote object) refuse
    it; what objects outside the project still use (a file in another team's vector
    store, a store another assistant searches) is kept and reported."""
    held = generations.kinds_of(project.target.api)
    protected = {(k.name, key) for k in held for key, on in k.keys(project).items() if on}
    names = kinds.names(remote, project.name)
    users = outside_references(remote, project.name)
    actions: list[Action] = []
    kept: list[Keep] = []
    refused: list[str] = []
    for kind in reversed(held):
        # by key: the remote's list order puts objects made in the same second at random
        for obj in sorted(remote.of(kind.name), key=lambda o: (o.owner.key or "", o.id)):
            owner, key, _ = obj.owner
            if owner != project.name or key is None:
                continue
            if (kind.name, key) in protected:
                refused.append(
                    f"{kind.name} '{key}' is protected; set protect: false to destroy it"
                )
                continue
            if obj.protected:  # its spec may be gone: the remote flag still holds
                refused.append(
                    f"{kind.name} '{key}' ({obj.id}) was applied with protect: true; apply it with "
                    "protect: false to destroy it"
                )
                continue
            if obj.id in users:
                kept.append(Keep(kind.name, key, obj.id, f"still used by {users[obj.id]}"))
                continue
            fingerprint, before = kind.fingerprint(obj, names)
            actions.append(Delete(kind.name, key, obj.id, fingerprint, before=before))
    return Plan(
        project=project.name,
        environment=project.environment,
        target=project.target.name,
        actions=tuple(actions),
        kept=tuple(kept),
        refused=tuple(refused),
        mode=Mode.DESTROY,
    )


# ---- refresh-only --------------------------------------------------------------------


def refresh_plan(project: Project, remote: RemoteState) -> Plan:
    """Accept drift (Terraform's -refresh-only): every managed object edited outside
    asst-deploy gets its hash stamp rewritten to the hash of what it is now, its fields
    untouched; the next plan then shows the way back to the specs as a plain update."""
    names = kinds.names(remote, project.name)
    actions: list[Action] = []
    for obj in remote.all_objects():
        owner, key, stamped = obj.owner
        if owner != project.name or key is None:
            continue
        live = from_remote(obj, names)
        fingerprint = identity.canonical_hash(live)
        if fingerprint != stamped:
            actions.append(
                Update(
                    obj.kind,
                    key,
                    obj.id,
                    fingerprint,
                    before=live,
                    after=live,
                    drift=True,
                    refresh=True,
                )
            )
    return Plan(
        project=project.name,
        environment=project.environment,
        target=project.target.name,
        actions=tuple(actions),
        mode=Mode.REFRESH_ONLY,
    )


# ---- apply and destroy: a connected, locked deployment ----------------------------


@dataclass(frozen=True)
class Prepared:
    """What an apply carries out: a fresh plan of the project, or a saved plan as it is."""

    source: Path  # the project directory, or the saved plan's file
    project: Project
    planning: Planning = Planning()
    saved: Plan | None = None

    @property
    def deploys(self) -> bool:
        """Whether it deploys the specs (their models): not a destroy, not a refresh."""
        return (self.saved.mode if self.saved else self.planning.mode) is Mode.NORMAL


def prepare_apply(
    source: Path, env: str | None, target: str | None, planning: Planning
) -> Prepared:
    """The project an apply of `source` changes; a saved plan is read and checked to fit
    the project now (its freshness against the remote is checked under the lock)."""
    if not is_plan_file(source):
        project = load(source, env, target)
        require_secrets(project, planning.mode)
        return Prepared(source, project, planning)
    given = [n for n, v in (("--env", env), ("--endpoint", target)) if v] + planning.options()
    if given:
        raise AsstDeployError(
            f"apply {source} takes no planning options ({', '.join(given)}): "
            "a saved plan is applied as it was made; make a new plan with "
            "`asst-deploy plan --out` to change them"
        )
    saved, root = read_plan(source)
    project = load(root, saved.environment, saved.target)
    reasons = mismatches(saved, project)
    if reasons:
        raise AsstDeployError(
            f"the saved plan {source} does not fit this project; nothing was changed:\n"
            + "\n".join(f"  {r}" for r in reasons)
        )
    require_secrets(project, saved.mode)
    return Prepared(source, project, saved=saved)


def target_retries(policy: RetryPolicy, target: Target) -> RetryPolicy:
    """The target's `max_retries` (as the openai SDK counts: retries after the first try)."""
    retries = target.max_retries
    return policy if retries is None else dataclasses.replace(policy, attempts=retries + 1)


@dataclass
class Deployment:
    """A project's target, connected and locked for one apply or destroy."""

    project: Project
    backend: Backend
    held: lease.Lease
    retry: RetryPolicy
    models: bool = False  # the lock's read (or this one's) reads the model list too

    def read(self) -> RemoteState:
        """The remote state: as the lock read it while it was taken (it lists every vector
        store to find the claims), else read now."""
        return self.held.take_state() or read_remote(self.backend, self.retry, models=self.models)

    def plan(self, prepared: Prepared) -> tuple[Plan, RemoteState]:
        """The plan to carry out: made now, or the saved one once it is shown to be fresh
        (no object, file or other apply changed what it was made from)."""
        if prepared.saved is None:
            p = prepared.planning
            return make_plan(
                self.project,
                self.backend,
                prune=p.prune,
                only=p.only,
                replace=p.replace,
                mode=p.mode,
                retry=self.retry,
                remote=self.held.take_state(),
                models=self.models,
            )
        saved = prepared.saved
        remote = self.read()
        if saved.mode is Mode.NORMAL:
            check_models(self.project, remote)
        reasons = saved_plan_problems(saved, self.project, remote)
        if saved.lease_generation != self.held.generation:
            reasons.insert(
                0,
                f"another apply landed since the plan was made (lease generation "
                f"{saved.lease_generation}, now {self.held.generation})",
            )
        if reasons:
            raise AsstDeployError(
                f"the saved plan {prepared.source} is stale; nothing was changed:\n"
                + "\n".join(f"  {r}" for r in reasons)
                + "\nMake a new plan with `asst-deploy plan --out`."
            )
        return saved, remote

    def destroy_plan(self) -> tuple[Plan, RemoteState]:
        """The plan deleting everything the project manages here; refused as a whole when
        a protected object is among them."""
        remote = self.read()
        plan = destroy_plan(self.project, remote)
        if plan.refused:
            raise AsstDeployError(
                "destroy refused; nothing was changed:\n"
                + "\n".join(f"  {r}" for r in plan.refused)
            )
        return plan, remote

    def apply(
        self,
        plan: Plan,
        remote: RemoteState,
        *,
        parallelism: int = Options.parallelism,
        progress: Note = lambda line: None,
        status: Note = lambda line: None,
        results: list[dict[str, Json]] | None = None,
    ) -> None:
        """Carry `plan` out; every write goes through the lock's guard, which stops the
        apply before its next write once the lock is lost."""
        self.held.changed = True  # even a failed apply may have changed something
        apply_plan(
            plan,
            self.project.root,
            self.held.guard(self.backend),
            remote,
            options=Options(parallelism=parallelism, retry=self.retry),
            progress=progress,
            status=status,
            results=results,
        )


@contextmanager
def deployment(
    project: Project,
    *,
    retry: RetryPolicy,
    lock_timeout: float = 0.0,
    note: Note = lambda message: None,
    trace: Note | None = None,
    models: bool = False,
) -> Iterator[Deployment]:
    """The project's target, connected and holding the project's lock, for the block. With
    `models` (an apply, which deploys the specs' models), the lock's read of the state
    reads the target's model list too (see check_models)."""
    retry = target_retries(retry, project.target)
    with (
        connect(project.target, trace=trace) as backend,
        lease.held(
            backend,
            project.name,
            retry=retry,
            timeout=lock_timeout,
            note=note,
            read_state=True,
            models=models,
        ) as held,
    ):
        yield Deployment(project, backend, held, retry, models)
