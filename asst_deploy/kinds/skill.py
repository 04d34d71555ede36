"""Skills (the Skills API, /v1/skills): a folder with SKILL.md, uploaded as versions of one skill.

A `kind: skill` document names a folder of the project. What is uploaded: every regular
file under it (hidden files and folders, and __pycache__, left out), as one zip whose
entries sit in one top-level folder, SKILL.md first among equals. The canonical form is
the folder's path, SKILL.md's `name` and `description` (what the service shows of a
skill) and `content`, a hash of every uploaded file's path and bytes: a changed file is a
new version (the update: upload it, then make it the default version), never a new skill.

Identity: a skill has no metadata, and its `name` is SKILL.md's own, which the model reads
and the Agent Skills format restricts to lower-case words. So the tags ride at the end of
the description the uploaded SKILL.md declares (the service shows a skill with its default
version's name and description):

    <the folder's description> (asst-deploy {project}~{key}~{stamp}[~proof] {content} {path})

the identity part as a template's name has it (identity.template_name), then the content
hash and the folder (URL-quoted), from which the live skill's canonical form is read back
without downloading it. The cost: the description the model reads ends with that tag (its
room is SKILL.md's limit less the tag's length: validate checks it). A default version
made outside asst-deploy from a SKILL.md without the tag makes the skill nobody's (a plan
creates the project's anew); one of an older tagged version shows as the content it had.
Writing new tags (the final proof of authorship after a create, a refresh) uploads the
default version again with its SKILL.md retagged: a skill cannot be renamed in place.

Export downloads the default version (the Skills API's content) into the folder the tag
names (`skills/<key>` for a skill of no project), its SKILL.md without the tag. The tag's
upload re-wrote SKILL.md's front matter as YAML, so a folder whose front matter was written
otherwise comes back different: export says so (the next apply uploads a new version).
Import reads the content the same way: its hash, and the folder of the project's spec of
that key (else `skills/<key>`), become the tag.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import yaml

from asst_deploy import identity
from asst_deploy.errors import AsstDeployError
from asst_deploy.kinds.base import Desired, Kind, Writer, with_protect
from asst_deploy.state import RemoteObject
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.desired import Project
    from asst_deploy.kinds.ports import Exporting

NAME = "skill"
MANIFEST = "SKILL.md"
# CreateSkillBody and CreateSkillVersionBody (skills-openapi.yml): files "maxItems: 500"
FILES_MAX = 500
# SKILL.md's front matter, as the service reads it (the Agent Skills format; the sandbox's
# sandbox/skills.py checks the same)
NAME_MAX = 64
DESCRIPTION_MAX = 1024
# how other objects' canonical forms name a skill of the project (an environment's skills)
REF_PREFIX = "skill:"
# the tags' parts beyond identity.py's three, in the mapping tags() answers
CONTENT_KEY = "asst_deploy.content"
PATH_KEY = "asst_deploy.path"
_TAG = re.compile(
    r"\s*\(asst-deploy (?P<core>\S+) (?P<content>[0-9a-f]{16}) (?P<path>[^\s()]+)\)\s*\Z"
)
_SKIPPED = "__pycache__"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed date: the same files give the same bytes
_SAFE_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SkillFolderError(ValueError):
    """What keeps a folder from being uploaded as a skill (the message says what)."""


# ---- the folder ------------------------------------------------------------------------


def folder_files(folder: Path) -> list[tuple[str, Path]]:
    """(path in the skill, file) of every file uploaded from `folder`, sorted: regular
    files, hidden ones (a name starting with '.') and __pycache__ left out."""
    found: list[tuple[str, Path]] = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != _SKIPPED)
        for name in files:
            path = Path(top) / name
            if name.startswith(".") or not path.is_file():
                continue
            found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


def content_hash(files: list[tuple[str, Path]]) -> str:
    """16 hex of sha256 over each file's path and bytes (the canonical form's `content`)."""
    return _hash([(rel, identity.file_sha(path)) for rel, path in files])


def bytes_hash(files: list[tuple[str, bytes]]) -> str:
    """content_hash of files given by their bytes (sorted by path, as folder_files sorts)."""
    return _hash([(rel, hashlib.sha256(data).hexdigest()[:16]) for rel, data in sorted(files)])


def _hash(shas: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for rel, sha in shas:
        digest.update(rel.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(sha.encode() + b"\n")
    return digest.hexdigest()[:16]


def _split(text: str) -> tuple[list[str], list[str]]:
    """SKILL.md's front matter lines and the lines after it."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise SkillFolderError(f"{MANIFEST} must start with YAML front matter between '---' lines")
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            return lines[1:end], lines[end + 1 :]
    raise SkillFolderError(f"{MANIFEST}'s front matter has no closing '---' line")


def front_matter(text: str) -> dict[str, Any]:
    try:
        meta = yaml.safe_load("".join(_split(text)[0]))
    except yaml.YAMLError as exc:
        raise SkillFolderError(f"the front matter of {MANIFEST} is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise SkillFolderError(f"the front matter of {MANIFEST} is not a mapping")
    return meta


def manifest(text: str) -> tuple[str, str]:
    """(name, description) SKILL.md's front matter declares, stripped, checked as the
    service checks them."""
    meta = front_matter(text)
    found = []
    for field, limit in (("name", NAME_MAX), ("description", DESCRIPTION_MAX)):
        value = meta.get(field)
        if not isinstance(value, str) or not value.strip():
            raise SkillFolderError(f"the front matter of {MANIFEST} needs a non-empty '{field}'")
        if len(value.strip()) > limit:
            raise SkillFolderError(
                f"the '{field}' of {MANIFEST} has {len(value.strip())} characters; the "
                f"service takes at most {limit}"
            )
        found.append(value.strip())
    return found[0], found[1]


def retagged_manifest(text: str, tag: str) -> str:
    """SKILL.md with `tag` at the end of its description (any tag it had replaced); the
    rest of the file as it was."""
    own, _ = parse_tag(str(front_matter(text).get("description") or ""))
    return _described(text, f"{own} {tag}")


def untagged_manifest(text: str) -> str:
    """SKILL.md without the tag at the end of its description (as it is when it has none)."""
    own, tags = parse_tag(str(front_matter(text).get("description") or ""))
    return text if tags is None else _described(text, own)


def _described(text: str, description: str) -> str:
    meta = front_matter(text)
    meta["description"] = description
    dumped = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1 << 30)
    return "---\n" + dumped + "---\n" + "".join(_split(text)[1])


def _top(name: str, folder: Path) -> str:
    """The zip's top-level folder: the skill's name where it makes one path component."""
    return name if _SAFE_COMPONENT.match(name) else (folder.name or "skill")


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries:
            archive.writestr(zipfile.ZipInfo(path, date_time=_ZIP_DATE), data)
    return out.getvalue()


def bundle(folder: Path, tag: str) -> tuple[str, bytes]:
    """(a file name, the zip) of what `folder` uploads, its SKILL.md carrying `tag`."""
    files = folder_files(folder)
    text = (folder / MANIFEST).read_text(encoding="utf-8-sig")
    top = _top(manifest(text)[0], folder)
    entries = [
        (
            f"{top}/{rel}",
            retagged_manifest(text, tag).encode() if rel == MANIFEST else path.read_bytes(),
        )
        for rel, path in files
    ]
    return f"{top}.zip", _zip(entries)


def retag(archive: bytes, tag: str) -> bytes:
    """A skill's zip (as a content download answers it) with `tag` in its SKILL.md."""
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        entries = [(i.filename, source.read(i)) for i in source.infolist() if not i.is_dir()]
    names = [n for n, _ in entries]
    tops = {n.split("/", 1)[0] for n in names}
    wanted = MANIFEST if MANIFEST in names else f"{next(iter(tops))}/{MANIFEST}"
    return _zip(
        [
            (n, retagged_manifest(data.decode("utf-8-sig"), tag).encode() if n == wanted else data)
            for n, data in entries
        ]
    )


def _safe(path: str) -> bool:
    """Whether `path` names a place inside a folder (relative, no '..', no hidden part)."""
    parts = PurePosixPath(path).parts
    return (
        bool(parts)
        and not PurePosixPath(path).is_absolute()
        and all(p not in ("..", ".") and not p.startswith(".") for p in parts)
    )


def unpacked(archive: bytes) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(path in the skill and bytes of each file a downloaded zip holds, SKILL.md without
    its tag; the entries left out: hidden, __pycache__, or outside the folder). The zip's
    one top-level folder, when it has one, is not part of the paths."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as source:
            entries = [(i.filename, source.read(i)) for i in source.infolist() if not i.is_dir()]
    except zipfile.BadZipFile as exc:
        raise SkillFolderError(f"the skill's content is not a zip archive: {exc}") from None
    tops = {name.split("/", 1)[0] for name, _ in entries}
    nested = len(tops) == 1 and all("/" in name for name, _ in entries)
    files: list[tuple[str, bytes]] = []
    left: list[str] = []
    for name, data in entries:
        rel = name.split("/", 1)[1] if nested else name
        if not _safe(rel) or _SKIPPED in PurePosixPath(rel).parts:
            left.append(name)
            continue
        if rel == MANIFEST:
            data = untagged_manifest(data.decode("utf-8-sig")).encode()
        files.append((rel, data))
    return sorted(files), left


# ---- the tags --------------------------------------------------------------------------


def tag_text(tags: Mapping[str, Json]) -> str:
    """The tag a skill's description ends with (see the module's doc)."""
    core = identity.template_name(tags)
    path = quote(str(tags[PATH_KEY]), safe="/")
    return f"(asst-deploy {core} {tags[CONTENT_KEY]} {path})"


def tag_room(project: str, key: str, path: str) -> int:
    """The most characters the tag (and the blank before it) takes, proof and protect
    included."""
    stamp = "0" * 16 + identity.PROTECT_SUFFIX + identity.PROOF_SEPARATOR + "0" * 16
    tags = {
        identity.PROJECT_KEY: project,
        identity.SPEC_KEY: key,
        identity.HASH_KEY: stamp,
        CONTENT_KEY: "0" * 16,
        PATH_KEY: path,
    }
    return 1 + len(tag_text(tags))


def parse_tag(description: str) -> tuple[str, dict[str, str] | None]:
    """(the description without its tag, the tags) of a description; no tag: None."""
    match = _TAG.search(description)
    tags = identity.parse_template_name(match["core"]) if match else None
    if match is None or tags is None:
        return description.strip(), None
    tags[CONTENT_KEY] = match["content"]
    tags[PATH_KEY] = unquote(match["path"])
    return description[: match.start()].strip(), tags


# ---- the kind --------------------------------------------------------------------------


def form(path: Json, name: Json, description: Json, content: Json) -> dict[str, Json]:
    return {"path": path, "name": name, "description": description, "content": content}


class SkillKind(Kind):
    name = NAME
    exports = True
    spec_kind = NAME

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        return [
            Desired(
                self.name,
                s.key,
                with_protect(form(s.path, s.name, s.description, s.content), s.protect),
                s.protect,
                s.adopt,
            )
            for s in project.skills
        ]

    def keys(self, project: Project) -> dict[str, bool]:
        return {s.key: s.protect for s in project.skills}

    def canonical(self, obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
        description, tags = parse_tag(str(obj.data.get("description") or ""))
        return form(
            tags[PATH_KEY] if tags else None,
            obj.data.get("name"),
            description,
            tags[CONTENT_KEY] if tags else None,
        )

    def tags(self, data: Mapping[str, Json]) -> Mapping[str, Json] | None:
        return parse_tag(str(data.get("description") or ""))[1]

    def tag_payload(self, tags: Mapping[str, Json]) -> dict[str, Json]:
        """New tags are a new default version: the default one's files, retagged (the
        backend's skill resource downloads and uploads them)."""
        return {"tag": tag_text(tags)}

    def metadata_of(self, after: Mapping[str, Json]) -> dict[str, Json]:
        return {CONTENT_KEY: after.get("content"), PATH_KEY: after.get("path")}

    def ref_name(self, key: str) -> str:
        return REF_PREFIX + key

    # ---- export and import -------------------------------------------------------------

    def export(self, ex: Exporting, obj: RemoteObject) -> None:
        """A skill spec, and its folder as the default version holds it."""
        key = ex.result.keys[obj.id]
        doc = ex.header(self.name, key, obj)
        _, tags = parse_tag(str(obj.data.get("description") or ""))
        path = tags[PATH_KEY] if tags and _safe(tags[PATH_KEY]) else f"skills/{key}"
        doc["path"] = path
        archive = ex.content(self.name, obj.id)
        files: list[tuple[str, bytes]] | None = None
        left: list[str] = []
        try:
            if archive is not None:
                files, left = unpacked(archive)
        except (SkillFolderError, UnicodeDecodeError):
            files = None
        if files is None:
            ex.result.warnings.append(
                f"skill '{key}': its files cannot be read from the target; put its folder "
                f"({MANIFEST} at its root) at {path}"
            )
        else:
            for rel, data in files:
                ex.result.files[f"{path}/{rel}"] = data
            if tags and bytes_hash(files) != tags[CONTENT_KEY]:
                ex.result.warnings.append(
                    f"skill '{key}': {path}/{MANIFEST} is written as the upload of its "
                    "identity tag re-wrote its front matter, not as it was: the next apply "
                    "uploads the folder as a new version"
                )
        if left:
            ex.result.warnings.append(
                f"skill '{key}': left out of {path}: {', '.join(left)} (hidden, __pycache__, "
                "or outside the folder: an upload of the folder leaves them out too)"
            )
        ex.spec("skills", key, doc)

    def import_tags(
        self,
        obj: RemoteObject,
        key: str,
        project: Project,
        names: Mapping[str, str],
        content: Callable[[], bytes],
    ) -> tuple[dict[str, Json], dict[str, Json]]:
        """The default version's content hash, and the folder of the project's spec of
        this key (else the one export writes)."""
        own, _ = parse_tag(str(obj.data.get("description") or ""))
        spec = next((s for s in project.skills if s.key == key), None)
        path = spec.path if spec is not None else f"skills/{key}"
        try:
            files, _ = unpacked(content())
        except (SkillFolderError, UnicodeDecodeError) as exc:
            raise AsstDeployError(f"skill {obj.id}: its content cannot be read: {exc}") from None
        digest = bytes_hash(files)
        tags: dict[str, Json] = {CONTENT_KEY: digest, PATH_KEY: path}
        return tags, form(path, obj.data.get("name"), own, digest)

    def payload(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        """The folder as one zip (base64: a payload is JSON), SKILL.md carrying the tags."""
        folder = run.root / str(after["path"])
        try:
            files = folder_files(folder)
            changed = content_hash(files) != after["content"]
        except OSError:
            changed = True
        if changed:
            raise AsstDeployError(
                f"skill {key}: the folder {after['path']} changed since the plan was made; "
                "make a new plan"
            )
        tag = tag_text(run.metadata(self.name, key, after, remote_id))
        run.status(f"    uploading skill {key} from {after['path']} ({len(files)} file(s))")
        filename, archive = bundle(folder, tag)
        return {"filename": filename, "bundle": base64.b64encode(archive).decode("ascii")}


KIND = SkillKind()
