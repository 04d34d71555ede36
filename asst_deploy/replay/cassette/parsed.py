"""Parsed cassettes kept on disk by the hash of their text and of the code that parses
them, in this user's cache folder ($XDG_CACHE_HOME/asst-deploy/cassettes/): a cassette
replayed by an earlier run is read back with marshal, some 20x faster than parsing its
YAML again. Each file is sealed with this user's machine key (asst_deploy.speccache), so
a file not made here is never read; an edited or re-recorded cassette has another text,
so another file; a newer asst-deploy or Python makes other names, and old files are
pruned once the folder holds more than KEPT."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import asst_deploy
from asst_deploy import speccache

FOLDER = "cassettes"
KEPT = 4000  # files; past it, the older half is removed
_MAGIC = b"asst-deploy parsed cassette\n"
_DIGEST = 16
# the modules whose code decides what a cassette parses to
_PARSERS = (
    "yamlpos.py",
    "conversation/sse.py",
    "replay/cassette/format.py",
    "replay/cassette/parsed.py",
)


@functools.cache
def _stamp() -> bytes:
    """What made the entries: asst-deploy's version and parsers, Python's (marshal's format
    is the interpreter's own)."""
    package = Path(asst_deploy.__file__).parent
    parts: list[Any] = [asst_deploy.__version__, sys.version]
    for name in _PARSERS:
        with contextlib.suppress(OSError):
            found = os.stat(package / name)
            parts.append((name, found.st_size, found.st_mtime_ns))
    return repr(parts).encode()


def _folder() -> Path:
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(home) / "asst-deploy" / FOLDER


def _seal(body: bytes) -> bytes:
    secret = speccache.machine_key()
    return (
        b"" if secret is None else hashlib.blake2b(body, digest_size=_DIGEST, key=secret).digest()
    )


def name_of(text: str) -> str:
    """The file name of the entry for a cassette's text."""
    digest = hashlib.blake2b(_stamp(), digest_size=_DIGEST)
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def load(text: str) -> dict[str, Any] | None:
    """The parse of `text` an earlier run kept, or None (none, unsealed, damaged)."""
    try:
        raw = (_folder() / name_of(text)).read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + _DIGEST
    body = raw[head:]
    seal = _seal(body)
    if not seal or raw[: len(_MAGIC)] != _MAGIC or raw[len(_MAGIC) : head] != seal:
        return None
    try:
        value = marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def store(text: str, parsed: dict[str, Any]) -> None:
    """Keep the parse of `text`; silently nothing when the folder cannot be written."""
    try:
        body = marshal.dumps(parsed)
    except ValueError:  # not plain data
        return
    seal = _seal(body)
    if not seal:
        return
    folder = _folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".entry.", dir=folder)
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(_MAGIC + seal + body)
        os.replace(temporary, folder / name_of(text))  # readers see a whole file or none
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return
    _prune(folder)


@functools.cache  # once per process: a listing of the folder per cassette would cost more
def _prune(folder: Path) -> None:
    with contextlib.suppress(OSError):
        entries = [entry for entry in os.scandir(folder) if entry.is_file()]
        if len(entries) <= KEPT:
            return
        entries.sort(key=lambda entry: entry.stat().st_mtime)
        for entry in entries[: len(entries) // 2]:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
