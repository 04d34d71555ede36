"""The engine's front door: plan, saved plans, staleness checks and destroy, over a backend."""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Collection
from pathlib import Path

from asst_deploy import generations, identity, kinds
from asst_deploy.backend import Backend
from asst_deploy.desired import OPENAI_BASE_URL, Project, Target
from asst_deploy.engine import lease, planfile
from asst_deploy.engine.apply import RetryPolicy, read_state
from asst_deploy.engine.compare import compare, from_remote, outside_references
from asst_deploy.errors import AsstDeployError, SpecError
from asst_deploy.plan import Action, Create, Delete, Keep, Plan, Update
from asst_deploy.spec import sharing
from asst_deploy.spec.loader import PROJECT_FILE, environment_targets, load_project
from asst_deploy.state import RemoteState
from asst_deploy.types import Mode, TargetType

PLAN_FILE_KIND = "asst-deploy-plan"


def local_shas(project: Project) -> dict[str, str]:
    """Content hash of every file the project references (the only file reads after loading)."""
    return {f.path: identity.file_sha(f.abs_path) for f in project.files}


def read_remote(backend: Backend, retry: RetryPolicy | None = None) -> RemoteState:
    """Everything on the target, listed page by page (transient errors retried)."""
    return read_state(backend, retry or RetryPolicy())


def make_plan(
    project: Project,
    backend: Backend,
    *,
    prune: bool = False,
    only: Collection[str] = (),
    retry: RetryPolicy | None = None,
    replace: Collection[str] = (),
    mode: Mode = Mode.NORMAL,
) -> tuple[Plan, RemoteState]:
    """A plan of `mode`: toward the specs, deleting everything the project manages (see
    destroy_plan) or accepting drift (see refresh_plan)."""
    objects = {a.key for a in project.assistants} | {s.key for s in project.vector_stores}
    unknown = set(only) - objects - {f.path for f in project.files}
    if unknown:
        raise AsstDeployError(
            f"--resource names no resource of the project: {', '.join(sorted(unknown))}"
        )
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
    remote = read_remote(backend, retry)
    plan = plan_from(project, remote, mode=mode, prune=prune, only=only, replace=replace)
    return plan, remote


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
        for obj in remote.of(kind.name):
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
