"""Uploaded files: identity in the tagged filename, content by hash, replaced on change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from asst_deploy import identity
from asst_deploy.errors import AsstDeployError
from asst_deploy.kinds.base import Desired, Kind, Writer, Writing, file_ref

__all__ = ["KIND", "FileKind", "file_ref"]
from asst_deploy.plan import Create, Replace
from asst_deploy.state import RemoteFile
from asst_deploy.types import Json

if TYPE_CHECKING:
    from pathlib import Path

    from asst_deploy.desired import Project
    from asst_deploy.kinds.ports import Comparing


class FileKind(Kind):
    name = "file"
    made = "uploaded"
    made_line = "uploaded as"
    importable = False

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        return [
            Desired(self.name, f.path, {"path": f.path, "sha": shas[f.path], "bytes": f.size})
            for f in project.files
        ]

    def canonical(self, obj: Any, names: Mapping[str, str]) -> dict[str, Json]:
        path = obj.identity.path if obj.identity else obj.filename
        return {"path": path, "bytes": obj.bytes}

    def fingerprint(self, obj: Any, names: Mapping[str, str]) -> tuple[str | None, Json]:
        return (obj.identity.sha if obj.identity else None), self.canonical(obj, names)

    def summary(self, after: Mapping[str, Json]) -> str:
        return f"upload, {after.get('bytes', '?')} bytes"

    def compare(self, comparer: Comparing, wanted: list[Desired], held: set[str]) -> None:
        """`held`: ids an older version of a file must be kept for (see compare.Comparer.held_ids)."""
        by_path: dict[str, list[RemoteFile]] = {}
        for f in comparer.remote.files:
            ident = f.identity
            if ident and ident.project == comparer.project:
                by_path.setdefault(ident.path, []).append(f)
        for d in wanted:
            copies = by_path.pop(d.key, [])
            current = [f for f in copies if f.identity and f.identity.sha == d.canonical["sha"]]
            stale = [f for f in copies if f not in current]
            free = [f for f in stale if f.id not in held]
            if not current and free:
                old = free[0]
                before = {"path": d.key, "sha": _sha(old), "bytes": old.bytes}
                comparer.actions.append(
                    Replace(
                        self.name,
                        d.key,
                        old.id,
                        _sha(old),
                        before=before,
                        after=d.canonical,
                        changes=comparer.field_changes(before, d.canonical),
                        reason="content changed",
                    )
                )
                stale.remove(old)
            elif not current:
                comparer.actions.append(Create(self.name, d.key, after=d.canonical))
            # Duplicates of the current version: the specs' objects may point at any of
            # them (they are one logical file), so only an unused one goes. Older versions:
            # once nothing that stays points at them. Both only with --prune: the tagged
            # name may have been uploaded by someone else (the version replaced above is
            # the one a plain apply deletes).
            current.sort(key=lambda f: f.id not in comparer.referenced)
            extra = [f for f in current[1:] if f.id not in comparer.referenced]
            for f in [*extra, *(f for f in stale if f.id not in held)]:
                comparer.duplicate(self.name, d.key, f)
        for path, copies in sorted(by_path.items()):
            for f in copies:
                comparer.gone(self.name, path, f.id, self.canonical(f, {}), _sha(f))

    def duplicate_stamp(
        self, obj: Any, names: Mapping[str, str], wanted: Json
    ) -> tuple[str | None, Json, bool]:
        """Files carry no stamp: theirs is the tagged name, so --prune decides."""
        return _sha(obj), {"path": obj.identity.path, "sha": _sha(obj)}, True

    def write(self, run: Writer, action: Writing) -> str:
        after = action.after
        path: Path = run.root / after["path"]
        if identity.file_sha(path) != after["sha"]:
            raise AsstDeployError(
                f"{after['path']} changed since the plan was made; make a new plan"
            )
        proof = run.proof(self.name, after["path"])
        name = identity.file_name(run.project, after["sha"], after["path"], proof)
        run.status(f"    uploading {after['path']} ({_size(path)})")

        def adopt() -> Any:
            return run.newest(self.name, lambda f: f.filename == name)

        remote = run.call(lambda: run.backend.upload_file(path, name), adopt)
        run.learn(file_ref(after["path"], after["sha"]), remote.id)
        return str(remote.id)


def _sha(f: RemoteFile) -> str | None:
    return f.identity.sha if f.identity else None


def _size(path: Path) -> str:
    size = path.stat().st_size
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


KIND = FileKind()
