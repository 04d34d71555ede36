"""Budgets: the most one run of a conversation may spend, and a run's budget
(`asst-deploy test --budget-usd`): what the conversations of one run have spent, shared
by the processes of a parallel run through a small locked file."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:  # POSIX; elsewhere a parallel run's workers each keep their own count
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class Ledger:
    """`limit` USD for the whole run; `path` (a file all workers share) or in memory."""

    def __init__(self, limit: float, path: Path | None = None) -> None:
        self.limit = limit
        self.path = path
        self._spent = 0.0

    @contextmanager
    def _locked(self) -> Iterator[int | None]:
        if self.path is None:
            yield None
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    @staticmethod
    def _read(fd: int) -> float:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 4096)
        try:
            return float(json.loads(raw)["spent"]) if raw else 0.0
        except (ValueError, KeyError, TypeError):
            return 0.0

    def spent(self) -> float:
        with self._locked() as fd:
            return self._spent if fd is None else self._read(fd)

    def left(self) -> float:
        return max(self.limit - self.spent(), 0.0)

    def add(self, amount: float) -> None:
        with self._locked() as fd:
            if fd is None:
                self._spent += amount
                return
            spent = self._read(fd) + amount
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"spent": spent}).encode())


@dataclass(frozen=True)
class Budget:
    """The most one run of a conversation may spend, and where that comes from."""

    limit: float  # USD
    why: str  # e.g. "its budget of $0.50 (`budget:` in weather.conv.yaml)"

    @property
    def cents(self) -> int:
        """The limit as an Agents session's spend_control.limit: whole cents, at least one."""
        return max(1, int(self.limit * 100))
