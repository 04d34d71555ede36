"""Compare desired and remote state (pure, deterministic) into a plan of typed actions."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from asst_deploy import authorship, generations, identity, kinds
from asst_deploy.desired import Project
from asst_deploy.kinds import Desired
from asst_deploy.plan import (
    Action,
    Create,
    Delete,
    FieldChange,
    Keep,
    Lookalike,
    Plan,
    Replace,
    Update,
)
from asst_deploy.state import RemoteFile, RemoteObject, RemoteState
from asst_deploy.types import Json

__all__ = ["Comparer", "Desired", "compare", "desired_objects", "field_changes"]


def desired_objects(project: Project, shas: Mapping[str, str]) -> list[Desired]:
    """Everything the project wants on its target, in creation order."""
    return [
        d for kind in generations.kinds_of(project.target.api) for d in kind.desired(project, shas)
    ]


def field_changes(before: Mapping[str, Json], after: Mapping[str, Json]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    )


class Comparer:
    def __init__(
        self, project: Project, remote: RemoteState, prune: bool, replace: Collection[str] = ()
    ) -> None:
        self.project = project.name
        self.replace = set(replace)
        self.remote = remote
        self.prune = prune
        self.names = kinds.names(remote, project.name)
        self.actions: list[Action] = []
        self.kept: list[Keep] = []
        self.refused: list[str] = []
        self.referenced = self._referenced_ids()
        self.outside = self._outside_references()

    def _referenced_ids(self) -> set[str]:
        """Remote ids any live object points at."""
        ids: set[str] = set()
        for obj in self.remote.all_objects():
            ids.update(_references(obj))
        return ids

    def _outside_references(self) -> dict[str, str]:
        """Remote id -> the first object outside this project that points at it: what
        those objects use is never deleted by this project (prune, duplicates, destroy)."""
        return outside_references(self.remote, self.project)

    def held_ids(self, wanted: Iterable[Desired], only: Collection[str]) -> set[str]:
        """Remote ids used by objects this plan will not re-point: objects of others, and
        managed ones the specs no longer name (unless pruned). Managed objects the specs name
        are made to point at the current file versions, so what they point at now does not
        keep an older version alive. With `only`, the rest of the plan is left out: all count."""
        if only:
            return self.referenced
        desired = {(d.kind, d.key) for d in wanted}
        ids: set[str] = set()
        for obj in self.remote.all_objects():
            proj, key, _ = obj.owner
            if proj == self.project and key and ((obj.kind, key) in desired or self.prune):
                continue
            ids.update(_references(obj))
        return ids

    def going(self) -> set[str]:
        """Remote ids this plan so far deletes (replaced, pruned or duplicates)."""
        return {
            a.remote_id for a in self.actions if isinstance(a, Replace | Delete) and a.remote_id
        }

    def remote_canonical(self, obj: RemoteObject) -> Json:
        return from_remote(obj, self.names)

    field_changes = staticmethod(field_changes)

    def gone(
        self,
        kind: str,
        key: str,
        remote_id: str,
        before: Json,
        fingerprint: str | None,
        protected: bool = False,
    ) -> None:
        """A managed object the specs no longer name: deleted only with --prune, never while
        its remote protect flag is set or while objects outside the project use it."""
        user = self.outside.get(remote_id)
        if not self.prune:
            self.kept.append(Keep(kind, key, remote_id))
        elif protected:
            self.refused.append(
                f"{kind} '{key}' ({remote_id}) was applied with protect: true; --prune refuses "
                "to delete it until an apply with protect: false lifts the protection"
            )
        elif user:
            self.kept.append(Keep(kind, key, remote_id, f"still used by {user}"))
        else:
            self.actions.append(Delete(kind, key, remote_id, fingerprint, before=before))

    def duplicate(
        self, kind: str, key: str, obj: RemoteFile | RemoteObject, wanted: Json = None
    ) -> None:
        """One copy too many of a managed object (left by an interrupted apply, or a clone
        of it): a shown delete with --prune, and only for a copy whose stamp says this
        project applied it: the stamp is the hash of what it is now, or of the specs' form
        (a create interrupted before its files were attached). Otherwise it is kept and
        reported. Files carry no stamp: theirs is the tagged name, so --prune decides."""
        fingerprint, before, ours = kinds.get(kind).duplicate_stamp(obj, self.names, wanted)
        user = self.outside.get(obj.id)
        if self.prune and ours and not user:
            self.actions.append(Delete(kind, key, obj.id, fingerprint, before=before))
            return
        why = (
            f"still used by {user}"
            if user
            else "a duplicate" + ("" if ours else " not stamped as applied by this project")
        )
        self.kept.append(
            Keep(kind, key, obj.id, why + ("" if self.prune else "; --prune deletes it"))
        )

    def objects(self, kind: str, wanted: Iterable[Desired], remote: Iterable[RemoteObject]) -> None:
        by_key: dict[str, list[RemoteObject]] = {}
        for obj in remote:
            proj, key, _ = obj.owner
            if proj == self.project and key:
                by_key.setdefault(key, []).append(obj)
        remote = list(remote)
        for d in wanted:
            copies = by_key.pop(d.key, [])
            if not copies and d.adopt:
                self.adopt(kind, d, remote)
                continue
            if not copies:
                self.actions.append(Create(kind, d.key, after=d.canonical))
                continue
            # keep the copy already as wanted (after an interrupted replace, the new one),
            # else the oldest: a clone is newer than what it copies (the sort is stable and
            # lists come oldest first, so equal created_at keeps the order of creation)
            if len(copies) > 1:
                copies.sort(key=lambda o: (self.remote_canonical(o) != d.canonical, o.created_at))
            obj, duplicates = copies[0], copies[1:]
            for dup in duplicates:
                self.duplicate(kind, d.key, dup, d.canonical)
            self.compare_one(kind, d, obj)
        for key, copies in sorted(by_key.items()):
            for obj in copies:
                before = self.remote_canonical(obj)
                self.gone(kind, key, obj.id, before, identity.canonical_hash(before), obj.protected)

    def adopt(self, kind: str, d: Desired, remote: list[RemoteObject]) -> None:
        """Take over an existing object named by `adopt:`: only if nobody manages it."""
        obj = next((o for o in remote if o.id == d.adopt), None)
        if obj is None:
            self.refused.append(f"{kind} '{d.key}': adopt: {d.adopt} does not exist on the target")
            return
        owner, key, _ = obj.owner
        if owner is not None:
            whose = "this project" if owner == self.project else f"project '{owner}'"
            self.refused.append(
                f"{kind} '{d.key}': {d.adopt} is already managed by {whose} (key '{key}')"
            )
            return
        before = self.remote_canonical(obj)
        self.actions.append(
            Update(
                kind,
                d.key,
                obj.id,
                identity.canonical_hash(before),
                before=before,
                after=d.canonical,
                changes=field_changes(before, d.canonical),
                adopt=True,
            )
        )

    def compare_one(self, kind: str, d: Desired, obj: RemoteObject) -> None:
        before = self.remote_canonical(obj)
        fingerprint = identity.canonical_hash(before)
        drift = fingerprint != obj.owner.stamp
        changes = kinds.get(kind).repoint(
            obj, d.canonical, field_changes(before, d.canonical), self.going, self.names
        )
        forced = d.key in self.replace
        if not changes and not forced:
            return
        replace_fields = kinds.get(kind).replace_fields(changes, before)
        if forced or replace_fields:
            why = "--replace" if forced else f"to change {', '.join(replace_fields)}"
            if d.protect:
                self.refused.append(
                    f"{kind} '{d.key}': replacing it ({why}) is refused: it is protected"
                )
                return
            self.actions.append(
                Replace(
                    kind,
                    d.key,
                    obj.id,
                    fingerprint,
                    before=before,
                    after=d.canonical,
                    changes=changes,
                    reason="asked for with --replace"
                    if forced
                    else f"{', '.join(replace_fields)} cannot be changed in place",
                    drift=drift,
                )
            )
            return
        self.actions.append(
            Update(
                kind,
                d.key,
                obj.id,
                fingerprint,
                before=before,
                after=d.canonical,
                changes=changes,
                drift=drift,
            )
        )


def outside_references(remote: RemoteState, project: str) -> dict[str, str]:
    """Remote id -> the first object not managed by `project` that points at it."""
    users: dict[str, str] = {}
    for obj in remote.all_objects():
        proj, key, _ = obj.owner
        if proj == project and key:
            continue
        for ref in sorted(_references(obj)):
            users.setdefault(ref, f"{kinds.get(obj.kind).label} {obj.id}")
    return users


def _references(obj: RemoteObject) -> set[str]:
    return kinds.get(obj.kind).references(obj)


def from_remote(obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
    """The canonical form of a live object, with its remote protect flag."""
    return kinds.with_protect(kinds.get(obj.kind).canonical(obj, names), obj.protected)


def resources_unknown(project: Project, unknown: Collection[str]) -> str:
    """Why `--resource` names keys the plan of `project` cannot limit itself to: the
    environment excludes them, or no spec or file has them."""
    why = {
        key: project.exclusion("assistant", key) or project.exclusion("vector_store", key)
        for key in sorted(unknown)
    }
    lines = [
        f"--resource {key}: {reason}; plan it with another --env, or take it out of that `exclude:`"
        for key, reason in why.items()
        if reason
    ]
    absent = [key for key, reason in why.items() if not reason]
    if absent:
        lines.append(f"--resource names no resource of the project: {', '.join(absent)}")
    return "\n".join(lines)


def compare(
    project: Project,
    remote: RemoteState,
    shas: Mapping[str, str],
    *,
    prune: bool = False,
    only: Collection[str] = (),
    replace: Collection[str] = (),
) -> Plan:
    """The actions that make `remote` match `project`. `shas` maps each referenced local
    file's path to its content hash; `only` limits the plan to those keys or paths;
    `replace` names objects to delete and re-create even if unchanged. Objects tagged as
    the project's without its proof of authorship are nobody's (authorship.vet): no action
    touches them, and the plan lists them."""
    remote = authorship.vet(remote)
    comparer = Comparer(project, remote, prune, replace)
    wanted = desired_objects(project, shas)
    unmanaged = {o.id for o in remote.all_objects() if o.owner.project is None}
    # an object being adopted is known by its logical name already, so references to it
    # compare equal
    for d in wanted:
        name = kinds.get(d.kind).ref_name(d.key)
        if d.adopt in unmanaged and name is not None:
            comparer.names[d.adopt] = name
    held = comparer.held_ids(wanted, only)
    for kind in generations.kinds_of(project.target.api):
        kind.compare(comparer, [d for d in wanted if d.kind == kind.name], held)
    actions = comparer.actions
    if only:
        actions = [a for a in actions if a.key in only]
    return Plan(
        project=project.name,
        environment=project.environment,
        target=project.target.name,
        actions=tuple(actions),
        kept=tuple(comparer.kept),
        refused=tuple(comparer.refused),
        files={f.path: shas[f.path] for f in project.files},
        lookalikes=tuple(
            Lookalike(authorship.kind_of(o), str(o.owner.key), o.id)
            for o in authorship.lookalikes_of(remote, project.name)
            if not only or o.owner.key in only
        ),
    )
