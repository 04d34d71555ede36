"""Agents API environment templates: where an agent made from an assistant spec runs code.

An assistant spec with code_interpreter deploys, on an agents target, an environment
template of the same key holding its code_interpreter files (by file_id, each at
/mnt/data/<project path>, where the Assistants code interpreter put them too), and the
agent names the template's id in its metadata. Templates have no metadata: their identity
is their name, ``{project}~{key}~{hash}`` (see identity.py), as a file's is its filename.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from asst_deploy import identity
from asst_deploy.kinds.base import Desired, Kind, Writer, file_ref, with_protect
from asst_deploy.state import RemoteObject
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.desired import AssistantSpec, Project

MOUNT = "/mnt/data/"
# how other objects' canonical forms name a template: apart from vector store keys
REF_PREFIX = "environment_template:"


def runs_code(spec: AssistantSpec) -> bool:
    return any(t.get("type") == "code_interpreter" for t in spec.tools)


def form(files: list[tuple[str, str]]) -> dict[str, Json]:
    """`files`: (logical file name, path in the environment)."""
    return {"files": [{"file": f, "path": p} for f, p in sorted(files, key=lambda e: e[1])]}


class EnvironmentTemplateKind(Kind):
    name = "environment_template"

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        return [
            Desired(
                self.name,
                a.key,
                with_protect(
                    form(
                        [
                            (file_ref(f.path, shas[f.path]), MOUNT + f.path)
                            for f in a.code_interpreter_files
                        ]
                    ),
                    a.protect,
                ),
                a.protect,
            )
            for a in project.assistants
            if runs_code(a)
        ]

    def keys(self, project: Project) -> dict[str, bool]:
        return {a.key: a.protect for a in project.assistants if runs_code(a)}

    def canonical(self, obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
        files = [
            (names.get(f.get("file_id"), f"id:{f.get('file_id')}"), str(f.get("path")))
            for f in obj.data.get("files") or []
        ]
        return form(files)

    def tags(self, data: Mapping[str, Json]) -> Mapping[str, Json] | None:
        return identity.parse_template_name(str(data.get("name") or ""))

    def tag_payload(self, tags: Mapping[str, Json]) -> dict[str, Json]:
        return {"name": identity.template_name(tags)}

    def references(self, obj: Any) -> set[str]:
        return {str(f["file_id"]) for f in obj.data.get("files") or [] if f.get("file_id")}

    def ref_name(self, key: str) -> str:
        return REF_PREFIX + key

    def summary(self, after: Mapping[str, Json]) -> str:
        files = len(after.get("files") or [])
        return f"where the agent of this key runs code, with {files} file(s)"

    def payload(self, run: Writer, key: str, after: Mapping[str, Json]) -> dict[str, Json]:
        return {
            **self.tag_payload(run.metadata(key, after)),
            "files": [
                {"type": "file_id", "file_id": run.resolve(f["file"]), "path": f["path"]}
                for f in after["files"]
            ],
        }


KIND = EnvironmentTemplateKind()
