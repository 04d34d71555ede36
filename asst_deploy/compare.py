"""Compare desired and remote state (pure, deterministic) into a plan of typed actions."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from asst_deploy import canonical, identity
from asst_deploy.plan import Action, Create, Delete, FieldChange, Keep, Plan, Replace, Update
from asst_deploy.remote.state import RemoteFile, RemoteObject, RemoteState
from asst_deploy.spec.model import Project
from asst_deploy.types import Json

# Fields the API cannot change in place: changing them means delete and re-create.
REPLACE_FIELDS = {"vector_store": ("chunking_strategy",)}


@dataclass(frozen=True)
class Desired:
    """One managed object as the specs want it, in canonical form."""

    kind: str
    key: str
    canonical: Json
    protect: bool = False
    adopt: str | None = None


def desired_objects(project: Project, shas: Mapping[str, str]) -> list[Desired]:
    """Everything the project wants, in creation order (files, vector stores, assistants)."""
    result = [
        Desired("file", f.path, {"path": f.path, "sha": shas[f.path], "bytes": f.size})
        for f in project.files
    ]
    result += [
        Desired(
            "vector_store",
            s.key,
            canonical.with_protect(canonical.vector_store_from_spec(s, shas), s.protect),
            s.protect,
            s.adopt,
        )
        for s in project.vector_stores
    ]
    result += [
        Desired(
            "assistant",
            a.key,
            canonical.with_protect(canonical.assistant_from_spec(a, shas), a.protect),
            a.protect,
            a.adopt,
        )
        for a in project.assistants
    ]
    return result


def field_changes(before: Mapping[str, Json], after: Mapping[str, Json]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    )


class _Comparer:
    def __init__(
        self, project: Project, remote: RemoteState, prune: bool, replace: Collection[str] = ()
    ) -> None:
        self.project = project.name
        self.replace = set(replace)
        self.remote = remote
        self.prune = prune
        self.names = remote.names(project.name)
        self.actions: list[Action] = []
        self.kept: list[Keep] = []
        self.refused: list[str] = []
        self.referenced = self._referenced_ids()
        self.outside = self._outside_references()

    def _referenced_ids(self) -> set[str]:
        """Remote ids any assistant or vector store points at."""
        ids: set[str] = set()
        for obj in (*self.remote.assistants, *self.remote.vector_stores):
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
        for obj in (*self.remote.assistants, *self.remote.vector_stores):
            proj, key, _ = obj.owner
            if proj == self.project and key and ((obj.kind, key) in desired or self.prune):
                continue
            ids.update(_references(obj))
        return ids

    def remote_canonical(self, obj: RemoteObject) -> Json:
        return canonical.from_remote(obj, self.names)

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
        if isinstance(obj, RemoteFile):
            sha = obj.identity.sha if obj.identity else None
            before: Json = {"path": key, "sha": sha}
            fingerprint, ours = sha, True
        else:
            before = self.remote_canonical(obj)
            fingerprint = identity.canonical_hash(before)
            stamps = {fingerprint, identity.canonical_hash(wanted)}
            ours = obj.owner[2] in stamps and not obj.protected
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

    def files(self, wanted: Iterable[Desired], held: set[str]) -> None:
        """`held`: ids an older version of a file must be kept for (see held_ids)."""
        by_path: dict[str, list[RemoteFile]] = {}
        for f in self.remote.files:
            ident = f.identity
            if ident and ident.project == self.project:
                by_path.setdefault(ident.path, []).append(f)
        for d in wanted:
            copies = by_path.pop(d.key, [])
            current = [f for f in copies if f.identity and f.identity.sha == d.canonical["sha"]]
            stale = [f for f in copies if f not in current]
            free = [f for f in stale if f.id not in held]
            if not current and free:
                old = free[0]
                before = {
                    "path": d.key,
                    "sha": old.identity.sha if old.identity else None,
                    "bytes": old.bytes,
                }
                self.actions.append(
                    Replace(
                        "file",
                        d.key,
                        old.id,
                        old.identity.sha if old.identity else None,
                        before=before,
                        after=d.canonical,
                        changes=field_changes(before, d.canonical),
                        reason="content changed",
                    )
                )
                stale.remove(old)
            elif not current:
                self.actions.append(Create("file", d.key, after=d.canonical))
            else:
                self._keep_first(current)
            # Duplicates of the current version: the specs' objects may point at any of
            # them (they are one logical file), so only an unused one goes. Older versions:
            # once nothing that stays points at them. Both only with --prune: the tagged
            # name may have been uploaded by someone else (the version replaced above is
            # the one a plain apply deletes).
            extra = [f for f in current[1:] if f.id not in self.referenced]
            for f in [*extra, *(f for f in stale if f.id not in held)]:
                self.duplicate("file", d.key, f)
        for path, copies in sorted(by_path.items()):
            for f in copies:
                sha = f.identity.sha if f.identity else None
                self.gone("file", path, f.id, {"path": path, "bytes": f.bytes}, sha)

    def _keep_first(self, copies: list[RemoteFile]) -> RemoteFile:
        """Of several copies, keep one that something references, else the oldest."""
        copies.sort(key=lambda f: f.id not in self.referenced)
        return copies[0]

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

    def _repoint(
        self, obj: RemoteObject, after: Json, changes: tuple[FieldChange, ...]
    ) -> tuple[FieldChange, ...]:
        """An assistant that uses a vector store this plan deletes (replaced, or a duplicate)
        must be pointed at the one that stays, though its logical form (stores by key) does
        not change: the change shows the old store by id."""
        going = {
            a.remote_id
            for a in self.actions
            if isinstance(a, Replace | Delete) and a.kind == "vector_store"
        }
        resources = obj.data.get("tool_resources") or {}
        ids = (resources.get("file_search") or {}).get("vector_store_ids") or []
        if any(c.field == "vector_stores" for c in changes) or not going & set(ids):
            return changes
        old = sorted(f"id:{i}" if i in going else self.names.get(i, f"id:{i}") for i in ids)
        change = FieldChange("vector_stores", old, after["vector_stores"])
        return tuple(sorted((*changes, change), key=lambda c: c.field))

    def compare_one(self, kind: str, d: Desired, obj: RemoteObject) -> None:
        before = self.remote_canonical(obj)
        fingerprint = identity.canonical_hash(before)
        drift = fingerprint != obj.owner[2]
        changes = field_changes(before, d.canonical)
        if kind == "assistant":
            changes = self._repoint(obj, d.canonical, changes)
        forced = d.key in self.replace
        if not changes and not forced:
            return
        replace_fields = [c.field for c in changes if c.field in REPLACE_FIELDS.get(kind, ())]
        if forced or (replace_fields and before.get("files")):
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
    for obj in (*remote.assistants, *remote.vector_stores):
        proj, key, _ = obj.owner
        if proj == project and key:
            continue
        for ref in sorted(_references(obj)):
            users.setdefault(ref, f"{obj.kind.replace('_', ' ')} {obj.id}")
    return users


def _references(obj: RemoteObject) -> set[str]:
    """The file and vector store ids an assistant or vector store points at."""
    if obj.kind == "vector_store":
        return {f["id"] for f in obj.files}
    resources = obj.data.get("tool_resources") or {}
    return {
        *((resources.get("code_interpreter") or {}).get("file_ids") or []),
        *((resources.get("file_search") or {}).get("vector_store_ids") or []),
    }


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
    `replace` names assistants and vector stores to delete and re-create even if unchanged."""
    comparer = _Comparer(project, remote, prune, replace)
    wanted = desired_objects(project, shas)
    unmanaged = {o.id for o in (*remote.assistants, *remote.vector_stores) if o.owner[0] is None}
    # an object being adopted is known by its key already, so references to it compare equal
    comparer.names.update({d.adopt: d.key for d in wanted if d.adopt in unmanaged})
    comparer.files([d for d in wanted if d.kind == "file"], comparer.held_ids(wanted, only))
    comparer.objects(
        "vector_store", [d for d in wanted if d.kind == "vector_store"], remote.vector_stores
    )
    comparer.objects("assistant", [d for d in wanted if d.kind == "assistant"], remote.assistants)
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
    )
