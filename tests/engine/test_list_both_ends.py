"""A list of more than three pages is read from both ends at once (OpenAIBackend._every):
every item once, oldest first, whatever order the service gives objects made in the same
second each way, and about half the round trips when their `created_at` tells the two
reads have met."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from asst_deploy.backend import RemoteError
from asst_deploy.engine.apply import read_state
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.generations.sdk import openai_backend
from asst_deploy.generations.sdk.wire import WireItem, WirePage
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.server import SandboxServer, start_server
from asst_deploy.sandbox.store import Store

from .conftest import NO_SLEEP, sdk_client


class Listing:
    """A list endpoint over fixed items: `asc` and `desc` as given (each a list of
    dicts), paged after an id; every call recorded as (order, after)."""

    def __init__(self, asc: list[dict[str, Any]], desc: list[dict[str, Any]]) -> None:
        self.orders = {"asc": asc, "desc": desc}
        self.calls: list[tuple[str, str | None]] = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()

    def list(self, *, limit: int, order: str, after: str | None = None) -> WirePage:
        with self.lock:
            self.calls.append((order, after))
        if order in self.refuse:
            raise RemoteError("listing", "no such order", status=400)
        items = self.orders[order]
        ids = [i["id"] for i in items]
        start = ids.index(after) + 1 if after else 0
        page = items[start : start + limit]
        return WirePage([WireItem(dict(i)) for i in page], start + limit < len(items))


def every(listing: Listing, page: int = 3) -> list[str]:
    backend = AssistantsBackend(openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x"))
    return [item.id for item in backend._every("listing things", listing.list, page, None)]


def items(stamps: list[int | None]) -> list[dict[str, Any]]:
    return [
        {"id": f"obj_{n:03d}", **({"created_at": s} if s is not None else {})}
        for n, s in enumerate(stamps)
    ]


def reversed_listing(stamps: list[int | None]) -> Listing:
    asc = items(stamps)
    return Listing(asc, list(reversed(asc)))


def test_distinct_seconds_meet_in_the_middle() -> None:
    listing = reversed_listing(list(range(60)))  # 20 pages of 3
    assert every(listing) == [f"obj_{n:03d}" for n in range(60)]
    asc = sum(order == "asc" for order, _ in listing.calls)
    desc = sum(order == "desc" for order, _ in listing.calls)
    assert asc == 12 and desc == 9, listing.calls  # 12 round trips, not 20


def test_ties_ordered_alike_both_ways_miss_nothing() -> None:
    # objects made in the same second come in the same order each way (not reversed), in
    # seconds of 7: pages that share an id would look met while an object lies between
    asc = items([n // 7 for n in range(40)])
    desc = sorted(asc, key=lambda i: (-i["created_at"], i["id"]))
    listing = Listing(asc, desc)
    read = every(listing)
    # each once, oldest first; within a second the order is the service's
    assert sorted(read) == [i["id"] for i in asc]
    second = {i["id"]: i["created_at"] for i in asc}
    assert [second[i] for i in read] == sorted(second[i] for i in read)
    assert sum(order == "asc" for order, _ in listing.calls) < 14  # it still met early


def test_one_second_for_everything_never_meets_and_misses_nothing() -> None:
    listing = reversed_listing([5] * 20)
    assert every(listing) == [f"obj_{n:03d}" for n in range(20)]


@pytest.mark.parametrize(
    "stamps",
    [
        [None if n == 17 else n for n in range(30)],  # an item without created_at
        [n if n != 17 else 3 for n in range(30)],  # one out of order
    ],
    ids=["no created_at", "out of order"],
)
def test_a_list_out_of_created_at_order_is_read_from_its_start_alone(
    stamps: list[int | None],
) -> None:
    listing = reversed_listing(stamps)
    assert every(listing) == [f"obj_{n:03d}" for n in range(30)]
    assert sum(order == "asc" for order, _ in listing.calls) == 10  # to the end


def test_a_failing_newest_first_read_leaves_the_other_to_finish() -> None:
    listing = reversed_listing(list(range(30)))
    listing.refuse.add("desc")
    assert every(listing) == [f"obj_{n:03d}" for n in range(30)]
    assert listing.calls.count(("desc", None)) == 1


def test_a_failing_oldest_first_read_fails_the_list_and_leaves_no_thread() -> None:
    listing = reversed_listing(list(range(30)))
    calls = itertools.count()
    real = listing.list

    def failing(**kwargs: Any) -> WirePage:
        if kwargs["order"] == "asc" and next(calls) == 4:
            raise RemoteError("listing things", "boom", status=400)
        return real(**kwargs)

    listing.list = failing  # type: ignore[method-assign]
    with pytest.raises(RemoteError, match="boom"):
        every(listing)
    assert not [t for t in threading.enumerate() if t.name == "asst-deploy-page"]


def test_short_lists_cost_their_pages_alone() -> None:
    for count in (2, 3, 6, 9):
        listing = reversed_listing(list(range(count)))
        assert every(listing) == [f"obj_{n:03d}" for n in range(count)]
        assert all(order == "asc" for order, _ in listing.calls)
        assert len(listing.calls) == max(1, -(-count // 3))


@pytest.fixture
def ticking() -> Iterator[SandboxServer]:
    """A sandbox whose clock moves a second each time it is read: no two objects made in
    the same second."""
    seconds = itertools.count(1_800_000_000)
    sandbox = Sandbox(store=Store(), clock=lambda: float(next(seconds)))
    with start_server(sandbox) as running:
        yield running


def test_the_sandboxs_lists_read_from_both_ends(
    ticking: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sdk_client(ticking) as client:
        made = [client.beta.assistants.create(model="gpt-4o-mini").id for _ in range(25)]
        monkeypatch.setattr(openai_backend, "_PAGE", 2)
        start = ticking.log.total
        state = read_state(AssistantsBackend(client), NO_SLEEP)
    assert [a.id for a in state.of("assistant")] == made
    listed = [e for e in ticking.log.since(start) if e.path == "/v1/assistants"]
    assert len(listed) < 20 and any("order=desc" in e.query for e in listed), listed
