"""`kind: skill`: a folder of the project holding SKILL.md, uploaded as a skill (Agents API).

    kind: skill
    key: report-writer
    path: skills/report-writer          # SKILL.md at its root, with name and description

What is uploaded, and how the skill is known again, is kinds/skill.py's. Validate reads
the folder: it must lie in the project, hold SKILL.md with front matter the service takes
(a name of at most 64 characters, a description that leaves room for the identity tag in
the service's 1024) and at most 500 files (CreateSkillBody's `maxItems`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from asst_deploy.desired import SkillSpec
from asst_deploy.kinds import skill
from asst_deploy.spec.documents.base import Context, DocumentKind
from asst_deploy.yamlpos import resolve

if TYPE_CHECKING:
    from asst_deploy.spec.build import Builder
    from asst_deploy.yamlpos import Document

FIELDS: dict[str, Any] = {
    "path": {
        "type": "string",
        "minLength": 1,
        "description": "A folder holding SKILL.md, relative to the project directory.",
    },
    "protect": {"type": "boolean", "description": "Refuse to delete this skill."},
    "adopt": {"$ref": "#/$defs/adopt"},
}
_OWN_FOLDER = ".asst-deploy"


def _folder(builder: Builder, doc: Document, given: str) -> tuple[Path, str] | None:
    """The folder (resolved) and its path relative to the project, or None (an error)."""
    where = ("path",)
    full = resolve(builder.root / given)
    try:
        rel = full.relative_to(builder.root_resolved).as_posix()
    except ValueError:
        builder.error(doc, where, f"'{given}' is outside the project directory", "move it in")
        return None
    if rel.split("/", 1)[0] == _OWN_FOLDER:
        builder.error(doc, where, f"'{given}' is in {_OWN_FOLDER}/, asst-deploy's own state")
        return None
    if not full.is_dir():
        what = "not a folder" if full.exists() else "not found"
        builder.error(
            doc,
            where,
            f"skill folder {what}: '{given}'",
            "name a folder holding SKILL.md, relative to the project directory",
        )
        return None
    return full, rel


def build(builder: Builder, doc: Document, context: Context) -> SkillSpec | None:
    data = doc.data
    key = str(data["key"])
    if not isinstance(data.get("path"), str):
        if "path" not in data:
            builder.error(doc, ("key",), f"skill '{key}' has no path", "add path: <folder>")
        return None
    found = _folder(builder, doc, data["path"])
    if found is None:
        return None
    folder, rel = found
    where = ("path",)
    manifest = folder / skill.MANIFEST
    if not manifest.is_file():
        builder.error(
            doc,
            where,
            f"'{data['path']}' holds no {skill.MANIFEST}",
            f"a skill folder has {skill.MANIFEST} at its root (front matter: name, description)",
        )
        return None
    try:
        files = skill.folder_files(folder)
        name, description = skill.manifest(manifest.read_text(encoding="utf-8-sig"))
        content = skill.content_hash(files)
    except UnicodeDecodeError:
        builder.error(doc, where, f"{skill.MANIFEST} is not UTF-8 text", "save it as UTF-8")
        return None
    except skill.SkillFolderError as exc:
        builder.error(doc, where, f"{rel}/{skill.MANIFEST}: {exc}", "fix its front matter")
        return None
    except OSError as exc:
        builder.error(doc, where, f"the skill folder '{rel}' cannot be read: {exc.strerror}")
        return None
    if len(files) > skill.FILES_MAX:
        builder.error(
            doc,
            where,
            f"the skill folder '{rel}' holds {len(files)} files; a skill upload takes at most "
            f"{skill.FILES_MAX}",
            "move what the skill does not need out of the folder",
        )
        return None
    room = skill.DESCRIPTION_MAX - skill.tag_room(context.variables.get("project", ""), key, rel)
    if len(description) > room:
        builder.error(
            doc,
            where,
            f"the description in {rel}/{skill.MANIFEST} has {len(description)} characters; "
            f"this one may have {room}: asst-deploy ends it with the skill's identity tag "
            f"within the service's {skill.DESCRIPTION_MAX}",
            "shorten the description",
        )
        return None
    spec = SkillSpec(
        key=key,
        location=doc.where(("key",)),
        path=rel,
        abs_path=folder,
        name=name,
        description=description,
        content=content,
        protect=bool(data.get("protect", False)),
        adopt=data.get("adopt") if isinstance(data.get("adopt"), str) else None,
    )
    return builder.with_adopt(doc, spec, context.target, context.targets)


DOCUMENT = DocumentKind(
    name="skill", section="skills", fields=FIELDS, build=build, content_marker=skill.MANIFEST
)
