"""Vector stores: held by every API generation, their files attached by logical name."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from asst_deploy import identity
from asst_deploy.errors import AsstDeployError
from asst_deploy.kinds.base import Desired, Kind, Writer, Writing, blank, file_ref, with_protect
from asst_deploy.plan import FieldChange, Update
from asst_deploy.state import RemoteObject
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.desired import Project, VectorStoreSpec
    from asst_deploy.kinds.ports import Exporting

# Chunking "auto" is what the API reports back as static 800/400.
AUTO_CHUNKING = {
    "type": "static",
    "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
}
STATUS_EVERY = 2.0  # seconds between "still ingesting" lines


def chunking(value: Json) -> Json:
    if value is None or (isinstance(value, Mapping) and value.get("type") == "auto"):
        return AUTO_CHUNKING
    return {"type": "static", "static": dict(value["static"])}


def form(
    *,
    name: Json,
    files: Iterable[tuple[str, Mapping[str, Json]]],
    chunking_strategy: Json,
    expires_after: Json,
    metadata: Mapping[str, Json] | None,
) -> dict[str, Json]:
    entries: list[dict[str, Json]] = [
        # numbers by value: attributes come back from the SDK as floats (2 -> 2.0)
        {"file": f, "attributes": identity.by_value(dict(a))}
        for f, a in sorted(files, key=lambda pair: pair[0])
    ]
    return {
        "name": blank(name),
        "files": entries,
        # chunking is only observable (and only matters) through attached files
        "chunking_strategy": chunking(chunking_strategy) if entries else None,
        "expires_after": dict(expires_after) if expires_after else None,
        "metadata": identity.user_metadata(dict(metadata or {})),
    }


def from_spec(spec: VectorStoreSpec, shas: Mapping[str, str]) -> dict[str, Json]:
    return form(
        name=spec.name,
        files=[(file_ref(e.file.path, shas[e.file.path]), e.attributes) for e in spec.files],
        chunking_strategy=spec.chunking_strategy,
        expires_after=spec.expires_after,
        metadata=spec.metadata,
    )


def from_remote(
    data: Mapping[str, Json], files: Iterable[Mapping[str, Json]], names: Mapping[str, str]
) -> dict[str, Json]:
    """`files` are the store's vector_store.file objects; failed ones do not count as attached."""
    attached = [f for f in files if f.get("status") != "failed"]
    strategy = attached[0].get("chunking_strategy") if attached else None
    return form(
        name=data.get("name"),
        files=[(names.get(f["id"], f"id:{f['id']}"), f.get("attributes") or {}) for f in attached],
        chunking_strategy=strategy,
        expires_after=data.get("expires_after"),
        metadata=data.get("metadata"),
    )


class VectorStoreKind(Kind):
    name = "vector_store"
    replace_on = ("chunking_strategy",)
    exports = True
    spec_kind = "vector_store"

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        return [
            Desired(
                self.name, s.key, with_protect(from_spec(s, shas), s.protect), s.protect, s.adopt
            )
            for s in project.vector_stores
        ]

    def keys(self, project: Project) -> dict[str, bool]:
        return {s.key: s.protect for s in project.vector_stores}

    def canonical(self, obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
        return from_remote(obj.data, obj.files, names)

    def references(self, obj: Any) -> set[str]:
        return {f["id"] for f in obj.files}

    def ref_name(self, key: str) -> str:
        return key  # assistants name their stores by bare key in their canonical forms

    def holds(self, obj: Any, after: Mapping[str, Json], names: Mapping[str, str]) -> bool:
        """An update sends the store's own fields; its files change apart."""
        live = with_protect(self.canonical(obj, names), obj.protected)
        fields = ("name", "expires_after", "metadata", "protect")
        same = all(live.get(f) == after.get(f) for f in fields)
        return same and obj.owner.stamp == identity.canonical_hash(after)

    def replace_fields(
        self, changes: Iterable[FieldChange], before: Mapping[str, Json]
    ) -> list[str]:
        # chunking applies to files as they are attached: an empty store takes the new one
        return super().replace_fields(changes, before) if before.get("files") else []

    def export(self, ex: Exporting, obj: RemoteObject) -> None:
        key = ex.result.keys[obj.id]
        doc = ex.header(self.spec_kind, key, obj)
        form = from_remote(obj.data, obj.files, {})
        if form["name"]:
            doc["name"] = form["name"]
        files: list[Json] = []
        for entry in obj.files:
            if entry.get("status") == "failed":
                continue
            path = ex.local_file(entry["id"], f"knowledge/{key}")
            attributes = entry.get("attributes") or {}
            files.append({"path": path, "attributes": attributes} if attributes else path)
        if files:
            doc["files"] = files
        if form["chunking_strategy"] not in (None, AUTO_CHUNKING):
            doc["chunking_strategy"] = form["chunking_strategy"]
        if form["expires_after"]:
            doc["expires_after"] = form["expires_after"]
        if form["metadata"]:
            doc["metadata"] = form["metadata"]
        ex.spec("vector_stores", key, doc)

    def write(self, run: Writer, action: Writing) -> str:
        after = action.after
        remote_id = str(action.remote_id) if isinstance(action, Update) else None
        payload: dict[str, Json] = {
            "name": after["name"],
            "metadata": run.metadata(self.name, action.key, after, remote_id),
        }
        if after["expires_after"] or isinstance(action, Update):
            payload["expires_after"] = after["expires_after"]
        backend = run.backend
        if isinstance(action, Update):
            store_id = str(action.remote_id)
            run.call(
                partial(backend.update, self.name, store_id, payload),
                landed=run.updated(self.name, store_id, after),
            )
            before = {f["file"]: f["attributes"] for f in action.before["files"]}
            attached = run.attached(store_id)
        else:
            created = run.call(
                lambda: backend.create(self.name, payload),
                lambda: run.find(self.name, action.key, action.remote_id),
            )
            run.prove(self.name, action.key, created)  # before its files: it is ours first
            store_id, before, attached = created.id, {}, {}
        wanted = {f["file"]: f["attributes"] for f in after["files"]}
        attach = [(run.resolve(n), wanted[n]) for n in sorted(wanted) if n not in before]
        for name in sorted(set(before) - set(wanted)):
            # by the id attached now: that file version may be one this plan deletes
            file_id = attached.get(name) or run.resolve(name)
            run.call(
                partial(backend.detach_file, store_id, file_id),
                gone_ok=True,
                landed=run.store_files(store_id, partial(_lacks, file_id)),
            )
        for name in sorted(set(before) & set(wanted)):
            if before[name] != wanted[name]:
                file_id = attached.get(name) or run.resolve(name)
                run.call(
                    partial(backend.update_file_attributes, store_id, file_id, wanted[name]),
                    landed=run.store_files(
                        store_id, partial(_has_attributes, file_id, wanted[name])
                    ),
                )
        if attach:  # attaching is idempotent: a retry re-attaches what the first one did
            chunks = after["chunking_strategy"]
            ids = {file_id for file_id, _ in attach}
            run.call(
                partial(backend.attach_files, store_id, attach, chunks),
                landed=run.store_files(store_id, lambda files: ids <= set(files)),
            )
            _wait_for_ingestion(run, action.key, store_id)
        return store_id


def _lacks(file_id: str, files: Mapping[str, Mapping[str, Json]]) -> bool:
    return file_id not in files


def _has_attributes(
    file_id: str, attributes: Mapping[str, Json], files: Mapping[str, Mapping[str, Json]]
) -> bool:
    found = files.get(file_id)
    held = identity.by_value(dict((found or {}).get("attributes") or {}))
    return found is not None and held == identity.by_value(dict(attributes))


def _wait_for_ingestion(run: Writer, key: str, store_id: str) -> None:
    options = run.options
    started = time.monotonic()
    deadline = started + options.ingestion_timeout
    told = -STATUS_EVERY
    while True:
        files = run.backend.vector_store_files(store_id, run.page_retry())
        pending = [f for f in files if f.get("status") == "in_progress"]
        if not pending:
            break
        waited = time.monotonic() - started
        if waited - told >= STATUS_EVERY:
            told = waited
            run.status(
                f"    vector_store {key}: {len(pending)} of {len(files)} file(s) "
                f"still ingesting ({waited:.0f} s)"
            )
        if time.monotonic() > deadline:
            raise AsstDeployError(
                f"vector store {key}: {len(pending)} file(s) still ingesting after "
                f"{options.ingestion_timeout:.0f} s; apply again later to continue"
            )
        options.sleep(options.poll_interval)
    for f in files:
        if f.get("status") == "failed":
            error = (f.get("last_error") or {}).get("message", "unknown error")
            name = run.file_name(f["id"])
            run.fail(f"vector store {key}: file {name} failed to ingest: {error}")


KIND = VectorStoreKind()
