"""A project's cache of what its spec files parse to and pass, by content, in .asst-deploy/."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asst_deploy

FOLDER = ".asst-deploy"
FILE = "spec-cache"
_MAGIC = b"asst-deploy spec cache\n"
_FORMAT = 1  # of the file and of its entries
_DIGEST = 16
# the modules whose code decides what a file parses to: in a checkout they change while the
# version string stays, so their size and time are part of what made an entry
_PARSERS = ("yamlpos.py", "jsonpos.py", "reader.py", "speccache.py")


def stamp() -> tuple[Any, ...]:
    """What the entries of a cache file were made by; a file of any other is never read
    (marshal's format is the interpreter's own, hence its version)."""
    here = Path(__file__).parent
    code: list[Any] = []
    for name in _PARSERS:
        try:
            found = os.stat(here / name)
        except OSError:
            code.append(None)
        else:
            code.append((found.st_size, found.st_mtime_ns))
    return (_FORMAT, asst_deploy.__version__, sys.version, tuple(code))


def key(*parts: bytes | str) -> bytes:
    """The digest an entry is known by: its kind and everything its value depends on (the
    last part is the one that varies: a file's content)."""
    *head, last = parts
    tail = _encoded(last)
    message = _head(tuple(head)) + len(tail).to_bytes(8, "little") + tail
    return hashlib.blake2b(message, digest_size=_DIGEST).digest()


@functools.lru_cache(maxsize=256)
def _head(parts: tuple[bytes | str, ...]) -> bytes:
    # each part with its length: ("ab", "c") is not ("a", "bc")
    return b"".join(len(raw).to_bytes(8, "little") + raw for raw in map(_encoded, parts))


def _encoded(part: bytes | str) -> bytes:
    return part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part


class Cache:
    """The entries of one project's cache file: read on first use, written back (whole, by
    an atomic rename) when the session ends and something was added."""

    def __init__(self, root: Path) -> None:
        self.path = root / FOLDER / FILE
        self.stamp = stamp()
        self.stored: dict[bytes, bytes] | None = None
        self.used: dict[bytes, bytes] = {}  # entries read or added this session
        self.added = False

    def _read(self) -> dict[bytes, bytes]:
        """The file's entries; none when it is missing, unreadable, damaged or another's."""
        try:
            raw = self.path.read_bytes()
        except OSError:
            return {}
        head = len(_MAGIC) + _DIGEST
        body = raw[head:]
        seal = _checksum(body)
        if raw[: len(_MAGIC)] != _MAGIC or not seal or raw[len(_MAGIC) : head] != seal:
            return {}
        try:
            made_by, entries = marshal.loads(body)
        except (EOFError, ValueError, TypeError):
            return {}
        if made_by != self.stamp or not isinstance(entries, dict):
            return {}
        return entries

    def get(self, name: bytes) -> Any:
        """The value stored under `name`, or None (absent, or unreadable: then it is
        rewritten by the next put)."""
        if self.stored is None:
            self.stored = self._read()
        blob = self.used.get(name) or self.stored.get(name)
        if not isinstance(blob, bytes):
            return None
        try:
            value = marshal.loads(blob)
        except (EOFError, ValueError, TypeError):
            return None
        self.used[name] = blob
        return value

    def put(self, name: bytes, value: Any) -> None:
        """Store `value` (plain data: what marshal writes) under `name`."""
        try:
            self.used[name] = marshal.dumps(value)
        except ValueError:  # not plain data: left uncached
            return
        self.added = True

    def save(self) -> None:
        """Write the entries of this session, and those of others (other commands, other
        include patterns) while they are no more than these: edited files' old entries
        fall out. Silently nothing when the folder cannot be written."""
        if not self.added:
            return
        entries = dict(self.used)
        others = {k: v for k, v in (self.stored or {}).items() if k not in entries}
        if len(others) <= len(entries):
            entries.update(others)
        body = marshal.dumps((self.stamp, entries))
        seal = _checksum(body)
        if not seal:
            return
        folder = self.path.parent
        try:
            folder.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f"{FILE}.", suffix=".tmp", dir=folder)
        except OSError:
            return
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(_MAGIC + seal + body)
            # readers see the old file or the new one, never part of one
            os.replace(temporary, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _checksum(body: bytes) -> bytes:
    """The file's seal: keyed with this user's machine key, so a cache file made elsewhere
    (one committed to the repository by a pull request, say) is never trusted: it could
    call an invalid spec valid. Without a key, nothing passes: no cache."""
    secret = machine_key()
    if secret is None:
        return b""
    return hashlib.blake2b(body, digest_size=_DIGEST, key=secret).digest()


KEY_FILE = "spec-cache.key"


@functools.cache
def machine_key() -> bytes | None:
    """A random key of this user on this machine, kept outside every project (in
    $XDG_CACHE_HOME/asst-deploy/, or ~/.cache/asst-deploy/), made on first use; None when
    it cannot be read or made."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(home) / "asst-deploy" / KEY_FILE
    try:
        found = path.read_bytes()
    except OSError:
        found = b""
    if len(found) == 32:
        return found
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f"{KEY_FILE}.", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(os.urandom(32))
        try:  # the first of racing processes wins; every one then reads the same key
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
        found = path.read_bytes()
    except OSError:
        return None
    return found if len(found) == 32 else None


# The cache of the session open in this thread or task, if any (see session()).
_active: contextvars.ContextVar[Cache | None] = contextvars.ContextVar(
    "asst_deploy_spec_cache", default=None
)


def active() -> Cache | None:
    return _active.get()


@contextlib.contextmanager
def session(root: Path) -> Iterator[None]:
    """Within this block, files parse and pass their checks from the cache of the project
    at `root` where their content was seen before (nested: the outer block's cache)."""
    if _active.get() is not None:
        yield
        return
    cache = Cache(root)
    token = _active.set(cache)
    try:
        yield
    finally:
        _active.reset(token)
        cache.save()


def get(name: bytes) -> Any:
    """The value under `name` in the open session's cache (None: none, or no session)."""
    cache = _active.get()
    return None if cache is None else cache.get(name)


def put(name: bytes, value: Any) -> None:
    cache = _active.get()
    if cache is not None:
        cache.put(name, value)
