"""Skills: bundles (one zip, or a directory's files) with a SKILL.md, in numbered versions.

A bundle holds SKILL.md at its root or inside its single top-level folder; SKILL.md starts
with YAML front matter naming the skill (`name`, `description`). A version keeps its zip
(the uploaded one, or one built from the uploaded files) as a blob under its id; the
skill's name and description are those of its default version.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass
from typing import Any

import yaml

from asst_deploy.sandbox.apierrors import APIError, not_found
from asst_deploy.sandbox.store import Store

SKILL = "skill"
VERSION = "skill.version"  # parent: the skill's id
MAX_FILES = 500  # CreateSkillBody: "maxItems: 500"
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # what a zip may expand to (no zip bombs)
NAME_MAX = 64
DESCRIPTION_MAX = 1024
MANIFEST = "SKILL.md"


@dataclass(frozen=True)
class Bundle:
    name: str
    description: str
    archive: bytes  # the zip a content download answers


def _bad(message: str) -> APIError:
    return APIError(400, f"Invalid 'files': {message}", param="files", code="invalid_value")


def _is_zip(filename: str, content: bytes) -> bool:
    return filename.lower().endswith(".zip") or content.startswith(b"PK\x03\x04")


def _unzip(content: bytes) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_FILES:
            raise _bad(f"the zip holds {len(infos)} files; the maximum is {MAX_FILES}.")
        if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
            raise _bad(f"the zip expands past {MAX_UNPACKED_BYTES} bytes.")
        return [(i.filename, archive.read(i)) for i in infos]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError):
        raise _bad("the file is not a readable zip archive.") from None


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in entries:
            # a fixed date: the same files give the same bytes
            archive.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return out.getvalue()


def _clean(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise _bad(f"'{path}' is no relative path inside the skill.")
    return posixpath.join(*parts)


def _manifest(entries: dict[str, bytes]) -> bytes:
    if MANIFEST in entries:
        return entries[MANIFEST]
    tops = {path.split("/", 1)[0] for path in entries}
    if len(tops) == 1:
        [top] = tops
        found = entries.get(f"{top}/{MANIFEST}")
        if found is not None:
            return found
    raise _bad(f"no {MANIFEST} at the root of the skill (or of its single top-level folder).")


def _front_matter(raw: bytes) -> tuple[str, str]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad(f"{MANIFEST} is not UTF-8 text.") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in (s.strip() for s in lines[1:]):
        raise _bad(f"{MANIFEST} must start with YAML front matter between '---' lines.")
    end = next(i for i, s in enumerate(lines[1:], 1) if s.strip() == "---")
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError:
        raise _bad(f"the front matter of {MANIFEST} is not valid YAML.") from None
    if not isinstance(meta, dict):
        raise _bad(f"the front matter of {MANIFEST} is not a mapping.")
    found = []
    for key, limit in (("name", NAME_MAX), ("description", DESCRIPTION_MAX)):
        value = meta.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _bad(f"the front matter of {MANIFEST} needs a non-empty string '{key}'.")
        if len(value.strip()) > limit:
            raise _bad(f"the '{key}' of {MANIFEST} is longer than {limit} characters.")
        found.append(value.strip())
    return found[0], found[1]


def bundle(uploads: list[tuple[str, bytes]]) -> Bundle:
    """The skill in the uploaded files (400 when they hold none)."""
    if not uploads:
        raise APIError(
            400,
            "Missing required parameter: 'files'.",
            param="files",
            code="missing_required_parameter",
        )
    if len(uploads) > MAX_FILES:
        raise _bad(f"{len(uploads)} files were uploaded; the maximum is {MAX_FILES}.")
    if len(uploads) == 1 and _is_zip(*uploads[0]):
        archive = uploads[0][1]
        entries = _unzip(archive)
    else:
        entries = uploads
        archive = b""
    cleaned: dict[str, bytes] = {}
    for path, content in entries:
        key = _clean(path)
        if key in cleaned:
            raise _bad(f"'{key}' appears twice.")
        cleaned[key] = content
    name, description = _front_matter(_manifest(cleaned))
    return Bundle(name, description, archive or _zip(sorted(cleaned.items())))


def versions(store: Store, skill_id: str) -> list[dict[str, Any]]:
    return store.list(VERSION, parent=skill_id)


def find_version(store: Store, skill_id: str, version: str) -> dict[str, Any] | None:
    return next((v for v in versions(store, skill_id) if v["version"] == version), None)


def resolve(
    store: Store, skill_id: str, version: str | None, param: str
) -> tuple[str, str, str] | None:
    """(name, description, concrete version) of a skill reference of an environment: the
    default version when none is named, the newest for `latest`; None for a skill the
    sandbox does not hold; 404 for a version it lacks."""
    skill = store.get(SKILL, skill_id)
    if skill is None:
        return None
    wanted = {None: skill["default_version"], "latest": skill["latest_version"]}.get(
        version, version
    )
    assert wanted is not None
    found = find_version(store, skill_id, wanted)
    if found is None:
        error = not_found("skill version", wanted)
        error.param = param
        raise error
    return found["name"], found["description"], found["version"]
