"""The SQLite store: list pages cut in SQL like `pagination.page`, one commit per write."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

import openai
import pytest

from asst_deploy.sandbox import store as store_module
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.pagination import page, store_page
from asst_deploy.sandbox.store import Store


def _filled(count: int) -> Store:
    store = Store()
    for i in range(count):
        store.insert("thing", {"id": f"t{i}", "even": i % 2 == 0})
    store.insert("thing", {"id": "elsewhere"}, parent="p")  # another scope, never listed
    return store


def test_store_pages_equal_the_list_pages_for_every_query() -> None:
    store = _filled(7)
    everything = store.list("thing")
    ids = ["", "t0", "t1", "t3", "t6", "nope", "elsewhere"]
    filters: list[Any] = [None, lambda o: o["even"]]
    for limit, order, after, before, where in itertools.product(
        ["1", "2", "3", "20"], ["asc", "desc"], ids, ids, filters
    ):
        query = {"limit": limit, "order": order, "after": after, "before": before}
        items = [o for o in everything if where is None or where(o)]
        expected = page(items, query)
        assert store_page(store, "thing", query, where=where) == expected, query


def test_store_pages_check_the_query_like_list_pages() -> None:
    store = _filled(2)
    for query in ({"limit": "0"}, {"limit": "x"}, {"limit": "101"}, {"order": "up"}):
        with pytest.raises(APIError) as from_list:
            page(store.list("thing"), query)
        with pytest.raises(APIError) as from_store:
            store_page(store, "thing", query)
        assert from_store.value.body() == from_list.value.body()


class _CountingJson:
    """Stands in for the store module's `json`, counting the rows it decodes."""

    def __init__(self) -> None:
        self.decoded = 0
        self.dumps = json.dumps

    def loads(self, text: str, **options: Any) -> Any:
        self.decoded += 1
        return json.loads(text, **options)


def test_a_list_request_decodes_only_its_page(
    client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(30):
        client.beta.assistants.create(model="gpt-4o", name=f"paged {i}")
    first = client.beta.assistants.list(limit=2)
    counting = _CountingJson()
    monkeypatch.setattr(store_module, "json", counting)
    second = client.beta.assistants.list(limit=2, after=first.data[-1].id)
    assert len(second.data) == 2 and second.has_more
    # the page, the row telling whether more follow, and the cursor's own row
    assert counting.decoded <= 4


def _statements(store: Store) -> list[str]:
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    return seen


def test_an_insert_commits_once() -> None:
    store = Store()
    seen = _statements(store)
    store.insert("thing", {"id": "a"})
    assert seen[0] == "BEGIN IMMEDIATE" and seen[-1] == "COMMIT"
    assert sum(s in ("BEGIN IMMEDIATE", "COMMIT") for s in seen) == 2


def test_writes_in_a_transaction_commit_together_and_roll_back_together() -> None:
    store = Store()
    seen = _statements(store)
    with store.transaction():
        store.insert("thing", {"id": "a"})
        store.insert("thing", {"id": "b"})
    assert seen.count("COMMIT") == 1
    with pytest.raises(RuntimeError), store.transaction():
        store.insert("thing", {"id": "c"})
        raise RuntimeError("abandoned")
    assert [o["id"] for o in store.list("thing")] == ["a", "b"]
    store.insert("thing", {"id": "d"})  # the store is usable again after a rollback
    assert [o["id"] for o in store.list("thing")] == ["a", "b", "d"]


def test_a_file_store_uses_wal_without_an_fsync_per_commit(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "state.db"))
    try:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        store.close()
    reopened = sqlite3.connect(tmp_path / "state.db")
    assert reopened.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened.close()
