"""Compare desired and remote state (pure, deterministic) into a plan of typed actions."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from asst_deploy import canonical, identity
from asst_deploy.plan import Action, Create, Delete, FieldChange, Keep, Plan, Replace, Update
from asst_deploy.remote.state import RemoteFile, RemoteObject, RemoteState
from asst_deploy.spec.model import Project

Json = Any

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
            "vector_store", s.key, canonical.vector_store_from_spec(s, shas), s.protect, s.adopt
        )
        for s in project.vector_stores
    ]
    result += [
        Desired("assistant", a.key, canonical.assistant_from_spec(a, shas), a.protect, a.adopt)
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
    def __init__(self, project: Project, remote: RemoteState, prune: bool) -> None:
        self.project = project.name
        self.remote = remote
        self.prune = prune
        self.names = remote.names(project.name)
        self.actions: list[Action] = []
        self.kept: list[Keep] = []
        self.refused: list[str] = []
        self.referenced = self._referenced_ids()

    def _referenced_ids(self) -> set[str]:
        """Remote ids any managed assistant or vector store points at."""
        ids: set[str] = set()
        for a in self.remote.assistants:
            resources = a.data.get("tool_resources") or {}
            ids.update((resources.get("code_interpreter") or {}).get("file_ids") or [])
            ids.update((resources.get("file_search") or {}).get("vector_store_ids") or [])
        for s in self.remote.vector_stores:
            ids.update(f["id"] for f in s.files)
        return ids

    def remote_canonical(self, obj: RemoteObject) -> Json:
        return canonical.from_remote(obj, self.names)

    def gone(
        self, kind: str, key: str, remote_id: str, before: Json, fingerprint: str | None
    ) -> None:
        """A managed object the specs no longer name: deleted only with --prune."""
        if self.prune:
            self.actions.append(Delete(kind, key, remote_id, fingerprint, before=before))
        else:
            self.kept.append(Keep(kind, key, remote_id))

    def files(self, wanted: Iterable[Desired]) -> None:
        by_path: dict[str, list[RemoteFile]] = {}
        for f in self.remote.files:
            ident = f.identity
            if ident and ident.project == self.project:
                by_path.setdefault(ident.path, []).append(f)
        for d in wanted:
            copies = by_path.pop(d.key, [])
            current = [f for f in copies if f.identity and f.identity.sha == d.canonical["sha"]]
            stale = [f for f in copies if f not in current]
            if not current and stale:
                old = self._keep_first(stale)
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
                current = current[:1]
            # older versions and duplicates of this path, once nothing points at them
            for f in [*current[1:], *stale]:
                if f.id not in self.referenced:
                    self.actions.append(
                        Delete(
                            "file",
                            d.key,
                            f.id,
                            None,
                            before={"path": d.key, "sha": f.identity.sha if f.identity else None},
                        )
                    )
        for path, copies in sorted(by_path.items()):
            for f in copies:
                self.gone("file", path, f.id, {"path": path, "bytes": f.bytes}, None)

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
            obj, duplicates = copies[0], copies[1:]
            for dup in duplicates:  # left by an interrupted apply: ours, and one too many
                self.actions.append(
                    Delete(
                        kind,
                        d.key,
                        dup.id,
                        identity.canonical_hash(self.remote_canonical(dup)),
                        before=self.remote_canonical(dup),
                    )
                )
            self.compare_one(kind, d, obj)
        for key, copies in sorted(by_key.items()):
            for obj in copies:
                before = self.remote_canonical(obj)
                self.gone(kind, key, obj.id, before, identity.canonical_hash(before))

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
        drift = fingerprint != obj.owner[2]
        changes = field_changes(before, d.canonical)
        if not changes:
            return
        replace_fields = [c.field for c in changes if c.field in REPLACE_FIELDS.get(kind, ())]
        if replace_fields and before.get("files"):
            if d.protect:
                self.refused.append(
                    f"{kind} '{d.key}': replacing it (to change {', '.join(replace_fields)}) is refused: it is protected"
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
                    reason=f"{', '.join(replace_fields)} cannot be changed in place",
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


def compare(
    project: Project,
    remote: RemoteState,
    shas: Mapping[str, str],
    *,
    prune: bool = False,
    only: Collection[str] = (),
) -> Plan:
    """The actions that make `remote` match `project`. `shas` maps each referenced local
    file's path to its content hash; `only` limits the plan to those keys or paths."""
    comparer = _Comparer(project, remote, prune)
    wanted = desired_objects(project, shas)
    unmanaged = {o.id for o in (*remote.assistants, *remote.vector_stores) if o.owner[0] is None}
    # an object being adopted is known by its key already, so references to it compare equal
    comparer.names.update({d.adopt: d.key for d in wanted if d.adopt in unmanaged})
    comparer.files(d for d in wanted if d.kind == "file")
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
