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
from asst_deploy.engine.compare import from_remote
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations import DEFAULT_API
from asst_deploy.state import RemoteObject, RemoteState
from asst_deploy.types import Json, Ownership

Download = Callable[[str], bytes | None]  # file id -> content, None when not downloadable

_INLINE_INSTRUCTIONS_MAX = 200


@dataclass
class Export:
    """Files to write (path relative to the output directory -> content) and warnings."""

    files: dict[str, str | bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # remote id -> spec key
    missing: list[str] = field(default_factory=list)  # asked-for ids the target does not have
    skipped: dict[str, str] = field(default_factory=dict)  # remote id -> the project managing it


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._")
    return slug[:64] or "object"


def _dump(doc: Mapping[str, Json]) -> str:
    return yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=True, width=100)


class Exporter:
    def __init__(
        self, state: RemoteState, project: str, download: Download, target: str | None = None
    ) -> None:
        self.state = state
        self.project = project
        self.download = download
        self.target = target
        self.result = Export()
        self.names = {f.id: f for f in state.files}
        self.seen: set[str] = set()
        self.spec_kinds: dict[str, str] = {}  # remote id -> the kind of spec it exports as

    def key_for(self, obj: RemoteObject) -> str:
        owner, key, _ = obj.owner
        if owner == self.project and key:
            candidate = key
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

    def local_file(self, file_id: str, folder: str) -> str:
        """Download a file into the export; its project-relative path."""
        remote = self.names.get(file_id)
        ident = remote.identity if remote else None
        if ident:
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


def export(
    state: RemoteState,
    project: str,
    download: Download,
    ids: Collection[str] | None = None,
    target: str | None = None,
) -> Export:
    """Spec files for the objects `ids` (None: every assistant and vector store), plus the
    vector stores the chosen assistants use, as project `project`. With `target` (the name
    the exported project file gives the source's target) an unmanaged object's `adopt:`
    names it: the id is adopted there, and nowhere else.

    Objects another project manages are skipped (listed in `skipped`): their specs live in
    that project, and adopting them would be refused anyway."""

    def exported(obj: RemoteObject) -> bool:
        owner = obj.owner.project
        if owner is not None and owner != project:
            exporter.result.skipped[obj.id] = owner
            return False
        return True

    exporter = Exporter(state, project, download, target)
    # what has a spec of its own, in dependency order (a template is part of its agent)
    kinds_ = [k for k in kinds.KINDS.values() if k.exports]
    objects = [o for k in kinds_ for o in state.of(k.name)]
    chosen = [o for o in objects if (ids is None or o.id in ids) and exported(o)]
    used = {ref for o in chosen for ref in kinds.get(o.kind).references(o)}
    picked = {o.id for o in chosen}
    chosen += [o for o in objects if o.id in used and o.id not in picked and exported(o)]
    chosen.sort(key=lambda o: list(kinds.KINDS).index(o.kind))
    for obj in chosen:
        exporter.key_for(obj)
    for obj in chosen:
        kinds.get(obj.kind).export(exporter, obj)
    known = {o.id for o in objects}
    exporter.result.missing = sorted(set(ids or ()) - known)
    return exporter.result


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
    names: Mapping[str, str],
    proof: str | None = None,
) -> dict[str, Json]:
    """The metadata that adopts `obj` (import): the user's plus the ownership stamp, the hash
    taken from its current form so that the next plan shows spec differences, not drift,
    and the `proof` of authorship (authorship.py)."""
    user = identity.user_metadata(dict(obj.data.get("metadata") or {}))
    return {**user, **identity.stamp(project, key, from_remote(obj, names), proof)}
