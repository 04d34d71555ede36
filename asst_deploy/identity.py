"""How managed objects carry their identity remotely, without a local state file.

Assistants and vector stores: three reserved metadata keys name the project (the
ownership scope), the spec key, and a hash of the canonical form last applied; a live
object whose canonical hash differs from that stamp was edited outside asst-deploy.

Files have no metadata, so their identity is in the uploaded filename:
``{project}~{sha256 of content, 16 hex}~{path relative to the project, /-escaped}``.
The content hash means an unchanged file is never uploaded again and changed content
at the same path is noticed even at equal size. The cost: the filename the API shows (and
citations quote) is this tagged name, not the bare file name.

Tags say which project and key an object is, but anyone can write them (a clone keeps its
metadata, a file can be uploaded under any name): each object the project writes also
carries a proof of authorship (see authorship.py), after its stamp (``<hash>~<proof>``,
and so at the end of a template's name) or its content sha (``{project}~{sha}.{proof}~``).
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
# The proof of authorship (authorship.py) rides in it too, last: "<hash>[+protect]~<proof>".
PROOF_SEPARATOR = "~"
# The engine's own objects carry this key: the lease's claims (see lease.py: a vector
# store with PROJECT_KEY and LEASE_KEY "1", no SPEC_KEY) and the deployment marker that
# holds a project's proof nonce (authorship.py: LEASE_KEY MARKER_VALUE, no PROJECT_KEY, so
# the lock never reads it as a claim). Backends list them apart from every resource.
LEASE_KEY = "asst_deploy.engine.lease"
MARKER_VALUE = "deployment"
# An agent deployed from an assistant spec that runs code names its environment template
# here (templates have no metadata), so applications and conversation tests find it.
TEMPLATE_KEY = "asst_deploy.environment_template"
# An agent whose mcp tools use vault credentials names their vaults here (comma-separated
# ids): an agent holds no vaults, a session does (SessionCreateParams.vault_ids), so the
# conversation driver and applications attach these to the sessions they start.
VAULTS_KEY = "asst_deploy.vaults"

_FILENAME = re.compile(
    r"^(?P<project>[a-z0-9][a-z0-9_.-]{0,63})~(?P<sha>[0-9a-f]{16})"
    r"(?:\.(?P<proof>[0-9a-f]{16}))?~(?P<path>.+)$"
)
_PROOF = re.compile(r"^[0-9a-f]{16}$")


def stamp(project: str, key: str, canonical: Any, proof: str | None = None) -> dict[str, str]:
    """The identity metadata for an object of `project` with spec `key` (a canonical form
    with "protect": true marks it protected on the remote side), with `proof` of authorship."""
    protect = isinstance(canonical, dict) and canonical.get("protect") is True
    value = canonical_hash(canonical) + (PROTECT_SUFFIX if protect else "")
    return {PROJECT_KEY: project, SPEC_KEY: key, HASH_KEY: with_proof(value, proof)}


def with_proof(stamped: str, proof: str | None) -> str:
    """A stamp value (hash, protect) carrying `proof` instead of the one it carried."""
    bare = stamped.partition(PROOF_SEPARATOR)[0]
    return bare + (PROOF_SEPARATOR + proof if proof else "")


def proof_of(tags: Mapping[str, Any] | None) -> str | None:
    """The proof of authorship an object's tags carry (None: none, or not one in form)."""
    stamped = (tags or {}).get(HASH_KEY)
    if not isinstance(stamped, str):
        return None
    proof = stamped.partition(PROOF_SEPARATOR)[2]
    return proof if _PROOF.match(proof) else None


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
    if isinstance(value, str):  # most values: answered at once
        return value
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
        stamped = stamped.partition(PROOF_SEPARATOR)[0].removesuffix(PROTECT_SUFFIX)
    return Ownership(metadata.get(PROJECT_KEY), metadata.get(SPEC_KEY), stamped)


def protected(metadata: dict[str, Any] | None) -> bool:
    """Whether the object was last applied with `protect: true`."""
    stamped = (metadata or {}).get(HASH_KEY)
    return isinstance(stamped, str) and stamped.partition(PROOF_SEPARATOR)[0].endswith(
        PROTECT_SUFFIX
    )


def is_lease(metadata: Mapping[str, Any] | None) -> bool:
    """Whether an object is one of the engine's own (a lease claim, a deployment marker)."""
    return bool((metadata or {}).get(LEASE_KEY))


def user_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    reserved = (*RESERVED_METADATA_KEYS, LEASE_KEY, TEMPLATE_KEY, VAULTS_KEY)
    return {k: v for k, v in (metadata or {}).items() if k not in reserved}


def file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def file_name(project: str, sha: str, path: str, proof: str | None = None) -> str:
    tagged = f"{sha}.{proof}" if proof else sha
    return f"{project}~{tagged}~{quote(path, safe='')}"


@dataclass(frozen=True)
class FileIdentity:
    project: str
    sha: str
    path: str
    proof: str | None = None  # of authorship (authorship.py); None in a name made before it


def parse_file_name(filename: str) -> FileIdentity | None:
    """The identity encoded in an uploaded filename, or None for a file we did not upload."""
    match = _FILENAME.match(filename or "")
    if not match:
        return None
    return FileIdentity(match["project"], match["sha"], unquote(match["path"]), match["proof"])


# Environment templates have no metadata: their tags ride in the name, as a file's do.
_TEMPLATE_NAME = re.compile(
    r"^(?P<project>[a-z0-9][a-z0-9_.-]{0,63})~(?P<key>[a-z0-9_.-]{1,64})~"
    r"(?P<stamp>[0-9a-f]{16}(?:\+protect)?(?:~[0-9a-f]{16})?)$"
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
