"""How managed objects carry their identity remotely, without a local state file.

Assistants and vector stores: three reserved metadata keys name the project (the
ownership scope), the spec key, and a hash of the canonical form last applied; a live
object whose canonical hash differs from that stamp was edited outside asst-deploy.

Files have no metadata, so their identity is in the uploaded filename:
``{project}~{sha256 of content, 16 hex}~{path relative to the project, /-escaped}``.
The content hash means an unchanged file is never uploaded again and changed content
at the same path is noticed even at equal size; the project prefix means a file the
project did not upload is never deleted. The cost: the filename the API shows (and
citations quote) is this tagged name, not the bare file name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from asst_deploy.types import Ownership

# They count against the API's 16 metadata pairs, so user metadata may hold at most 13.
PROJECT_KEY = "asst_deploy.project"
SPEC_KEY = "asst_deploy.key"
HASH_KEY = "asst_deploy.hash"
RESERVED_METADATA_KEYS = (PROJECT_KEY, SPEC_KEY, HASH_KEY)
# `protect: true` rides in the hash value ("<hash>+protect"), not in a key of its own, so
# users keep their 13 pairs; prune and destroy read it from the remote object itself.
PROTECT_SUFFIX = "+protect"
# The lease marker (see lease.py) is a vector store with PROJECT_KEY and this key, no
# SPEC_KEY: it is never a managed resource of the project.
LEASE_KEY = "asst_deploy.engine.lease"
# An agent deployed from an assistant spec that runs code names its environment template
# here (templates have no metadata), so applications and conversation tests find it.
TEMPLATE_KEY = "asst_deploy.environment_template"

_FILENAME = re.compile(
    r"^(?P<project>[a-z0-9][a-z0-9_.-]{0,63})~(?P<sha>[0-9a-f]{16})~(?P<path>.+)$"
)


def stamp(project: str, key: str, canonical: Any) -> dict[str, str]:
    """The identity metadata for an object of `project` with spec `key` (a canonical form
    with "protect": true marks it protected on the remote side)."""
    protect = isinstance(canonical, dict) and canonical.get("protect") is True
    value = canonical_hash(canonical) + (PROTECT_SUFFIX if protect else "")
    return {PROJECT_KEY: project, SPEC_KEY: key, HASH_KEY: value}


def canonical_hash(canonical: Any) -> str:
    """A short, stable hash of a canonical form (JSON with sorted keys). Numbers are hashed
    by value: the spec's 2 comes back from the SDK as 2.0 (attributes are typed float), and
    equal forms must hash equal, or every such object would look edited by hand."""
    text = json.dumps(
        by_value(canonical), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    # a lone surrogate (which validation rejects) must not crash the engine if it gets here
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def by_value(value: Any) -> Any:
    """`value` with integral floats as ints (2.0 -> 2), at any depth."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: by_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [by_value(v) for v in value]
    return value


def owner(metadata: dict[str, Any] | None) -> Ownership:
    """Who manages an object, read from its metadata (all None when no project does)."""
    metadata = metadata or {}
    stamped = metadata.get(HASH_KEY)
    if isinstance(stamped, str):
        stamped = stamped.removesuffix(PROTECT_SUFFIX)
    return Ownership(metadata.get(PROJECT_KEY), metadata.get(SPEC_KEY), stamped)


def protected(metadata: dict[str, Any] | None) -> bool:
    """Whether the object was last applied with `protect: true`."""
    stamped = (metadata or {}).get(HASH_KEY)
    return isinstance(stamped, str) and stamped.endswith(PROTECT_SUFFIX)


def is_lease(metadata: Mapping[str, Any] | None) -> bool:
    return bool((metadata or {}).get(LEASE_KEY))


def user_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    reserved = (*RESERVED_METADATA_KEYS, LEASE_KEY, TEMPLATE_KEY)
    return {k: v for k, v in (metadata or {}).items() if k not in reserved}


def file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def file_name(project: str, sha: str, path: str) -> str:
    return f"{project}~{sha}~{quote(path, safe='')}"


@dataclass(frozen=True)
class FileIdentity:
    project: str
    sha: str
    path: str


def parse_file_name(filename: str) -> FileIdentity | None:
    """The identity encoded in an uploaded filename, or None for a file we did not upload."""
    match = _FILENAME.match(filename or "")
    if not match:
        return None
    return FileIdentity(match["project"], match["sha"], unquote(match["path"]))


# Environment templates have no metadata: their tags ride in the name, as a file's do.
_TEMPLATE_NAME = re.compile(
    r"^(?P<project>[a-z0-9][a-z0-9_.-]{0,63})~(?P<key>[a-z0-9_.-]{1,64})~"
    r"(?P<stamp>[0-9a-f]{16}(?:\+protect)?)$"
)


def template_name(tags: dict[str, Any] | Any) -> str:
    """The name that carries an environment template's identity tags."""
    return f"{tags[PROJECT_KEY]}~{tags[SPEC_KEY]}~{tags[HASH_KEY]}"


def parse_template_name(name: str) -> dict[str, str] | None:
    """The identity tags a template's name carries, or None for one we did not make."""
    match = _TEMPLATE_NAME.match(name)
    if not match:
        return None
    return {PROJECT_KEY: match["project"], SPEC_KEY: match["key"], HASH_KEY: match["stamp"]}
