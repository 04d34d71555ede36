"""The built-in sandbox target on a full disk (issue 26): one line that says so, exit 1,
no server traceback; the disk is made full by sqlite's page limit, not by filling it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from asst_deploy.sandbox.store import Store

from .test_cli import proj, run

__all__ = ["proj"]  # the fixture, re-exported so pytest finds it here


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sandbox db opened from now on may not grow by more than one page."""
    opened = Store.__init__

    def limited(self: Store, path: str | None = None) -> None:
        opened(self, path)
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count = {pages + 1}")

    monkeypatch.setattr(Store, "__init__", limited)


@pytest.mark.usefixtures("full_disk")
def test_a_full_sandbox_db_is_one_line_and_exit_1(proj: Path) -> None:
    started = time.monotonic()
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 1, result.err
    db = proj / ".state/sandbox.db"
    errors = [line for line in result.err.splitlines() if not line.startswith("  + ")]
    assert errors == [
        f"Error: the sandbox db {db} is full: free space on its disk (or point the target's "
        "db elsewhere), then run again"
    ]  # the files made before it was full are listed as done; nothing else is said
    assert time.monotonic() - started < 10  # a full disk is not retried


def test_reads_of_a_full_sandbox_db_still_work(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    opened = Store.__init__

    def limited(self: Store, path: str | None = None) -> None:
        opened(self, path)
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(Store, "__init__", limited)
    result = run("plan", str(proj), "--detailed-exitcode")
    assert result.code == 0, result.err
