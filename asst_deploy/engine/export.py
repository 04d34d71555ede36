"""Write spec files from remote objects, so an existing setup can be brought under management."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from asst_deploy import identity, kinds
from asst_deploy.desired import Target
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations import DEFAULT_API
from asst_deploy.state import FILE_KIND, RemoteObject, RemoteState
from asst_deploy.types import Json, Ownership

Download = Callable[[str], bytes | None]  # file id -> content, None when not downloadable
# (kind, remote id) -> what the object holds beyond its JSON (a skill's zip), or None
Content = Callable[[str, str], bytes | None]

_INLINE_INSTRUCTIONS_MAX = 200


@dataclass
class Export:
    """Files to write (path relative to the output directory -> content) and warnings."""

    files: dict[str, str | bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # remote id -> spec key
    missing: list[str] = field(default_factory=list)  # asked-for ids the target does not have
    skipped: dict[str, str] = field(default_factory=dict)  # remote id -> the project managing it
    never: dict[str, str] = field(default_factory=dict)  # remote id -> why it is not exported
    variables: list[str] = field(default_factory=list)  # the secrets' variables the specs read


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._")
    return slug[:64] or "object"


def _dump(doc: Mapping[str, Json]) -> str:
    return yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=100)


class Exporter:
    def __init__(
        self,
        state: RemoteState,
        project: str,
        download: Download,
        target: str | None = None,
        content: Content | None = None,
    ) -> None:
        self.state = state
        self.project = project
        self.download = download
        self.fetch = content
        self.target = target
        self.result = Export()
        self.remote_files = {f.id: f for f in state.files}
        self.names: dict[str, str] = {}  # remote id -> logical name, of what is exported
        self.roots: dict[str, str] = {}  # remote id -> the id of the object whose spec holds it
        self.seen: set[str] = set()
        self.spec_kinds: dict[str, str] = {}  # remote id -> the kind of spec it exports as

    def key_for(self, obj: RemoteObject) -> str:
        owner, key, _ = obj.owner
        if owner == self.project and key:
            candidate = kinds.get(obj.kind).spec_key(key)
        else:
            candidate = _slug(str(obj.data.get("name") or obj.id))
        # keys are unique per spec kind (an assistant and a vector store may share one)
        spec_kind = kinds.get(obj.kind).spec_kind
        taken = {k for i, k in self.result.keys.items() if self.spec_kinds[i] == spec_kind}
        self.spec_kinds[obj.id] = spec_kind
        unique, n = candidate, 2
        while unique in taken:
            unique, n = f"{candidate[:60]}-{n}", n + 1
        self.result.keys[obj.id] = unique
        return unique

    def local_file(self, file_id: str, folder: str, at: str | None = None) -> str:
        """Download a file into the export; its project-relative path."""
        remote = self.remote_files.get(file_id)
        ident = remote.identity if remote else None
        if at is not None:
            path = at
        elif ident:
            path = ident.path
        else:
            name = PurePosixPath(remote.filename if remote else file_id).name or file_id
            path = f"{folder}/{name}"
        if path in self.result.files or path in self.seen:
            return path
        self.seen.add(path)
        content = self.download(file_id)
        if content is None:
            # still referenced, so validate stops until the file is supplied: dropping it
            # would make the next apply detach it
            self.result.warnings.append(
                f"file {file_id} cannot be downloaded from the target (the API does not "
                f"serve files of purpose 'assistants'); put its content at {path}"
            )
        else:
            self.result.files[path] = content
        return path

    def header(self, kind: str, key: str, obj: RemoteObject) -> dict[str, Json]:
        doc: dict[str, Json] = {"kind": kind, "key": key}
        if obj.owner.project != self.project:
            # on the target it was read from alone: on any other (a target of another API
            # generation, say) the spec deploys as a new object, as Terraform's import
            # blocks bind an id to the configuration it was imported into
            doc["adopt"] = {self.target: obj.id} if self.target else obj.id
        if obj.protected:
            doc["protect"] = True
        return doc

    def instructions(self, key: str, instructions: str | None) -> Json:
        """Long or multi-line instructions go to prompts/KEY.md, the rest inline."""
        if instructions and ("\n" in instructions or len(instructions) > _INLINE_INSTRUCTIONS_MAX):
            self.result.files[f"prompts/{key}.md"] = instructions
            return {"file": f"prompts/{key}.md"}
        return instructions

    def function(self, function: Mapping[str, Json]) -> dict[str, Json]:
        """A function tool as a spec names it: its JSON schema in functions/NAME.json."""
        path = f"functions/{function['name']}.json"
        self.result.files[path] = json.dumps(function, indent=2, ensure_ascii=False) + "\n"
        return {"type": "function", "file": path}

    def spec(self, folder: str, key: str, doc: Mapping[str, Json]) -> None:
        self.result.files[f"{folder}/{key}.yaml"] = _dump(doc)

    def store_key(self, store_id: str, assistant_key: str) -> str:
        """The key of a vector store an assistant searches (warned of when not exported)."""
        if store_id in self.result.keys:
            return self.result.keys[store_id]
        store = next((s for s in self.state.of("vector_store") if s.id == store_id), None)
        owner, key, _ = store.owner if store else Ownership()
        # still named, so validate stops until its spec is there: dropping it would detach it
        self.result.warnings.append(
            f"assistant '{assistant_key}' searches vector store {store_id}, which "
            + (f"project '{owner}' manages as '{key}'" if owner else "the target does not have")
            + "; add its spec, or remove the reference"
        )
        return str(key or _slug(store_id))

    def key_of(self, name: Json, prefix: str, user: str) -> str | None:
        if isinstance(name, str) and name.startswith(prefix):
            return name.removeprefix(prefix)
        self.result.warnings.append(
            f"{user} names {str(name).removeprefix('id:')}, which this export does not write "
            "(another project manages it, or the target does not have it); add its spec"
        )
        return None

    def parts(self, obj: RemoteObject, key: str) -> list[dict[str, Json]]:
        held = [
            o
            for o in self.state.all_objects()
            if self.roots.get(o.id) == obj.id and o.id != obj.id and o.id in self.names
        ]
        held.sort(key=lambda o: self.names[o.id])
        return [kinds.get(o.kind).export_part(self, o, key) for o in held]

    def content(self, kind: str, remote_id: str) -> bytes | None:
        return self.fetch(kind, remote_id) if self.fetch is not None else None

    def secret(self, variable: str) -> dict[str, Json]:
        if variable not in self.result.variables:
            self.result.variables.append(variable)
        return {"from_env": variable}


def export(
    state: RemoteState,
    project: str,
    download: Download,
    ids: Collection[str] | None = None,
    target: str | None = None,
    content: Content | None = None,
) -> Export:
    """Spec files for the objects `ids` (None: every object a spec deploys), plus what the
    chosen ones point at (an agent's vector stores, environment and vault credentials, an
    automation's agent), as project `project`. With `target` (the name the exported
    project file gives the source's target) an unmanaged object's `adopt:` names it: the
    id is adopted there, and nowhere else. An object another spec holds (a credential is
    part of its vault's, a derived template of its agent's) exports as that spec.

    Objects another project manages are skipped (listed in `skipped`): their specs live in
    that project, and adopting them would be refused anyway. Objects no project may manage
    (an automation an agent made) are never exported (listed in `never`)."""

    exporter = Exporter(state, project, download, target, content)
    result = exporter.result
    order = list(kinds.KINDS)
    objects = {o.id: o for k in order for o in state.of(k) if k != FILE_KIND}
    for obj in objects.values():
        root = kinds.get(obj.kind).exported_as(obj, state)
        if root is not None and root in objects:
            exporter.roots[obj.id] = root
        elif root is None and kinds.get(obj.kind).unmanageable(obj) is not None:
            result.never[obj.id] = str(kinds.get(obj.kind).unmanageable(obj))

    def exported(obj: RemoteObject) -> bool:
        owner = obj.owner.project
        if owner is not None and owner != project:
            result.skipped[obj.id] = owner
            return False
        return True

    asked = list(objects) if ids is None else [i for i in ids if i in objects]
    chosen: dict[str, RemoteObject] = {}
    todo = [i for i in asked if i in exporter.roots]
    # what the chosen ones point at, and what that points at in turn
    while todo:
        root = objects[exporter.roots[todo.pop()]]
        if root.id in chosen or not exported(root):
            continue
        chosen[root.id] = root
        held = [o for o in objects.values() if exporter.roots.get(o.id) == root.id]
        refs = {r for o in held for r in kinds.get(o.kind).references(o)}
        todo += sorted(r for r in refs if r in exporter.roots)
    roots = sorted(chosen.values(), key=lambda o: order.index(o.kind))
    for obj in roots:
        exporter.key_for(obj)
    for obj in objects.values():
        root_id = exporter.roots.get(obj.id)
        if root_id in result.keys:
            own = root_id == obj.id
            name = kinds.get(obj.kind).export_name(obj, result.keys[str(root_id)], own)
            if name is not None:
                exporter.names[obj.id] = name
    for obj in roots:
        kinds.get(obj.kind).export(exporter, obj)
    if ids is not None:
        for i in sorted(set(ids) & set(result.never)):
            result.warnings.append(f"{objects[i].kind} {i} is not exported: {result.never[i]}")
    result.missing = sorted(set(ids or ()) - set(objects))
    return result


def target_entry(target: Target, out: Path) -> dict[str, Json]:
    """The source's target as the export's project file names it: the same endpoint, and
    the same sandbox state (its db relative to `out`), so the exported specs plan against
    what they describe."""
    db = os.path.relpath(target.db.resolve(), out.resolve()) if target.db else None
    spec = {
        "name": target.name,
        "type": str(target.type),
        "api": None if target.api == DEFAULT_API else target.api,
        "base_url": target.base_url,
        "api_key_env": target.api_key_env,
        "db": db,
        # validate refuses a db outside the project unless the file says so
        "db_outside_project": bool(db and (db.startswith("..") or os.path.isabs(db))),
    }
    return {k: v for k, v in spec.items() if v}


def write(result: Export, out: Path, project: str, target: Target, *, force: bool) -> None:
    """Write an export into `out` (with a project file unless `out` has one): nothing is
    written when an id was not found, or when a file exists already and not `force`."""
    from asst_deploy.spec.loader import PROJECT_FILE

    if result.missing:
        raise AsstDeployError(
            f"not found on target '{target.name}': {', '.join(result.missing)}; "
            "nothing was written (check the ids with the API, or use --all)"
        )
    if not (out / PROJECT_FILE).exists():
        result.files[PROJECT_FILE] = project_file(project, target_entry(target, out))
    clashes = [p for p in result.files if (out / p).exists() and p != PROJECT_FILE]
    if clashes and not force:
        raise AsstDeployError(
            f"export would overwrite {len(clashes)} file(s) in {out} (first: {clashes[0]}); "
            "pass --force or choose another --out; nothing was written"
        )
    for rel, content in sorted(result.files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def target_name(target: Target) -> str:
    """The name the exported project file gives the source's target (project_file)."""
    from asst_deploy.spec.loader import BUILTIN_TARGET

    return target.name if _declared(target_entry(target, Path("."))) else BUILTIN_TARGET


def _declared(target: Mapping[str, Json] | None) -> bool:
    """Whether the project file declares the target (else it is the built-in sandbox)."""
    return bool(target and (target.get("type") != "sandbox" or target.get("db")))


def project_file(project: str, target: Mapping[str, Json] | None) -> str:
    doc: dict[str, Json] = {"project": project}
    if target and _declared(target):
        name = target.get("name", "default")
        doc["targets"] = {name: {k: v for k, v in target.items() if k != "name"}}
        doc["default_target"] = name
    return _dump(doc)


def tag_metadata(
    obj: RemoteObject,
    project: str,
    key: str,
    extra: Mapping[str, Json],
    form: Mapping[str, Json],
    proof: str | None = None,
) -> dict[str, Json]:
    """The metadata that adopts `obj` (import): `extra` (the user's metadata, and what its
    kind keeps beside it) plus the ownership stamp, the hash taken from `form`, the
    canonical form it has once tagged, so that the next plan shows spec differences, not
    drift, and the `proof` of authorship (authorship.py)."""
    before = kinds.with_protect(dict(form), obj.protected)
    return {**extra, **identity.stamp(project, key, before, proof)}
