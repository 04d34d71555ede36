"""The sandbox's state: JSON objects in SQLite (a file or memory), kept in creation order."""

from __future__ import annotations

import builtins
import json
import re
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asst_deploy.errors import AsstDeployError

_ALPHABET = string.ascii_letters + string.digits

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    parent TEXT NOT NULL DEFAULT '',
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, parent, id)
);
CREATE INDEX IF NOT EXISTS objects_order ON objects (kind, parent, seq);
CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class StoreError(AsstDeployError):
    """The state file cannot be used (not a SQLite database, or damaged); says what to do."""


# A lone surrogate in a stored row (json.dumps writes it as an escape) cannot be answered
# in UTF-8: such rows are repaired when read, so that one bad row does not make every
# list of its collection fail.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _none(constant: str) -> None:
    return None  # NaN / Infinity from an older sandbox: JSON has no such number


def _repaired(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_repaired(k): _repaired(v) for k, v in value.items()}
    if isinstance(value, builtins.list):
        return [_repaired(v) for v in value]
    return value


def _decode(text: str) -> Any:
    value = json.loads(text, parse_constant=_none)
    return _repaired(value) if _SURROGATE_ESCAPE.search(text) else value


def _encode(obj: Any) -> str:
    return json.dumps(obj, allow_nan=False)  # never store what cannot be answered


def new_id(prefix: str) -> str:
    """An id shaped like the real service's: prefix, underscore, 24 alphanumerics."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def now() -> int:
    return int(time.time())


class Store:
    """Objects by (kind, parent, id); `parent` scopes children (a thread's messages, a
    vector store's files). Listing returns creation order, oldest first.

    One connection guarded by a lock: the server is a single process and every operation
    is short, so this is simpler and as fast as a pool. A file path makes the state
    survive restarts (the `sandbox` target keeps it under the project).

    Durability is a test server's: WAL with synchronous=NORMAL, so a commit writes the
    log but does not fsync it (only checkpoints do). A crash of the process loses
    nothing; a power cut may lose the last commits, never the database's consistency.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path or ":memory:"
        self._lock = threading.RLock()
        self._depth = 0  # nesting of transaction(): only the outermost commits
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute("SELECT count(*) FROM objects").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the sandbox state file {self.path} cannot be read ({exc}); it is not a "
                "sandbox database or it is damaged. Move it away (or delete it) to start "
                "from an empty sandbox, and run again"
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes so they commit together (or not at all). Nested blocks
        join the outer one, so a request that writes several objects commits once."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _next_seq(self) -> int:
        row = self._db.execute(
            "INSERT INTO counters (name, value) VALUES ('seq', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value"
        ).fetchone()
        return int(row[0])

    def insert(self, kind: str, obj: dict[str, Any], *, parent: str = "") -> dict[str, Any]:
        # the sequence number and the row in one commit, not two
        with self.transaction():
            self._db.execute(
                "INSERT INTO objects (kind, id, parent, seq, data) VALUES (?, ?, ?, ?, ?)",
                (kind, obj["id"], parent, self._next_seq(), _encode(obj)),
            )
        return obj

    def put(self, kind: str, obj: dict[str, Any], *, parent: str = "") -> dict[str, Any]:
        """Replace an existing object, keeping its place in the order."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE objects SET data = ? WHERE kind = ? AND parent = ? AND id = ?",
                (_encode(obj), kind, parent, obj["id"]),
            )
            if cursor.rowcount == 0:
                raise KeyError(f"{kind} {obj['id']} does not exist")
        return obj

    def get(self, kind: str, id: str, *, parent: str = "") -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM objects WHERE kind = ? AND parent = ? AND id = ?",
                (kind, parent, id),
            ).fetchone()
        return _decode(row[0]) if row else None

    def delete(self, kind: str, id: str, *, parent: str = "") -> bool:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM objects WHERE kind = ? AND parent = ? AND id = ?", (kind, parent, id)
            )
        return cursor.rowcount > 0

    def delete_children(self, parent: str) -> None:
        """Drop everything scoped under `parent` (a deleted thread's messages and runs)."""
        with self._lock:
            self._db.execute("DELETE FROM objects WHERE parent = ?", (parent,))

    def list(self, kind: str, *, parent: str = "") -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM objects WHERE kind = ? AND parent = ? ORDER BY seq",
                (kind, parent),
            ).fetchall()
        return [_decode(r[0]) for r in rows]

    def window(
        self,
        kind: str,
        *,
        parent: str = "",
        limit: int,
        order: str = "desc",
        after: str | None = None,
        before: str | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> tuple[builtins.list[dict[str, Any]], bool]:
        """One page of `list(kind, parent)` in `order` ("asc" is creation order), as
        `pagination.page` cuts it, read from SQL: at most `limit` objects strictly after
        the object `after` and before `before`, and whether more follow. `where` keeps
        only the objects it accepts; a cursor it rejects, or an unknown one, gives an
        empty page. Only the page's rows are decoded, plus the skipped ones under `where`.
        """
        sql = "SELECT data FROM objects WHERE kind = ? AND parent = ?"
        args: builtins.list[Any] = [kind, parent]
        # after/before are positions in `order`; in seq terms they flip for desc
        later, earlier = (">", "<") if order == "asc" else ("<", ">")
        with self._lock:
            for cursor_id, op in ((after, later), (before, earlier)):
                if cursor_id:
                    seq = self._cursor_seq(kind, parent, cursor_id, where)
                    if seq is None:
                        return [], False
                    sql += f" AND seq {op} ?"
                    args.append(seq)
            # before alone takes the page just in front of the cursor: scan back from it
            backwards = bool(before) and not after
            ascending = (order == "asc") != backwards
            sql += " ORDER BY seq " + ("ASC" if ascending else "DESC")
            if where is None:
                sql += " LIMIT ?"
                args.append(limit + 1)
            found: builtins.list[dict[str, Any]] = []
            for (data,) in self._db.execute(sql, args):
                obj = _decode(data)
                if where is None or where(obj):
                    found.append(obj)
                    if len(found) > limit:
                        break
        has_more = len(found) > limit
        found = found[:limit]
        if backwards:
            found.reverse()
        return found, has_more

    def _cursor_seq(
        self,
        kind: str,
        parent: str,
        id: str,
        where: Callable[[dict[str, Any]], bool] | None,
    ) -> int | None:
        row = self._db.execute(
            "SELECT seq, data FROM objects WHERE kind = ? AND parent = ? AND id = ?",
            (kind, parent, id),
        ).fetchone()
        if row is None or (where is not None and not where(_decode(row[1]))):
            return None
        return int(row[0])

    def parents_of(self, kind: str, id: str) -> builtins.list[str]:
        """Every parent under which an object of `kind` with `id` exists."""
        with self._lock:
            rows = self._db.execute(
                "SELECT parent FROM objects WHERE kind = ? AND id = ? ORDER BY seq", (kind, id)
            ).fetchall()
        return [r[0] for r in rows]

    def put_blob(self, id: str, content: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO blobs (id, content) VALUES (?, ?)", (id, content)
            )

    def get_blob(self, id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT content FROM blobs WHERE id = ?", (id,)).fetchone()
        return bytes(row[0]) if row else None

    def delete_blob(self, id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM blobs WHERE id = ?", (id,))
