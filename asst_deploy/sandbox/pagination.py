"""Cursor pagination as the real list endpoints do it: limit, order, after, before."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.store import Store


class PageQuery(NamedTuple):
    limit: int
    order: str
    after: str | None
    before: str | None


def page(
    items: list[dict[str, Any]],
    query: Mapping[str, str],
    *,
    max_limit: int = 100,
    default_limit: int = 20,
) -> dict[str, Any]:
    """One list page over `items` (creation order, oldest first).

    `order` defaults to desc (newest first) like the real service; `after`/`before` are
    object ids in that order. An empty page carries first_id = last_id = None.
    `store_page` cuts the same page, reading only it from the store.
    """
    limit, order, after, before = parse(query, max_limit=max_limit, default_limit=default_limit)
    ordered = items if order == "asc" else list(reversed(items))
    ids = [item["id"] for item in ordered]
    start, end = 0, len(ordered)
    if after:
        start = ids.index(after) + 1 if after in ids else len(ids)
    if before:
        end = ids.index(before) if before in ids else 0
    window = ordered[start:end]
    data = window[-limit:] if before and not after else window[:limit]
    return result(data, len(window) > limit)


def store_page(
    store: Store,
    kind: str,
    query: Mapping[str, str],
    *,
    parent: str = "",
    where: Callable[[dict[str, Any]], bool] | None = None,
    max_limit: int = 100,
    default_limit: int = 20,
) -> dict[str, Any]:
    """`page([o for o in store.list(kind, parent=parent) if where(o)], query)`, paged in
    SQL: a full listing costs O(N) rows read, not O(N^2)."""
    limit, order, after, before = parse(query, max_limit=max_limit, default_limit=default_limit)
    data, has_more = store.window(
        kind, parent=parent, limit=limit, order=order, after=after, before=before, where=where
    )
    return result(data, has_more)


def result(data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def parse(query: Mapping[str, str], *, max_limit: int, default_limit: int) -> PageQuery:
    """limit, order, after and before of a list request, checked like the real service."""
    raw_limit = query.get("limit")
    if raw_limit is None:
        limit = default_limit
    else:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise APIError(
                400,
                f"Invalid 'limit': expected an integer, but got '{raw_limit}' instead.",
                param="limit",
                code="invalid_type",
            ) from None
        if not 1 <= limit <= max_limit:
            raise APIError(
                400,
                f"Invalid 'limit': integer below minimum value. Expected a value >= 1, but got {limit} instead."
                if limit < 1
                else f"Invalid 'limit': integer above maximum value. Expected a value <= {max_limit}, but got {limit} instead.",
                param="limit",
                code="integer_below_min_value" if limit < 1 else "integer_above_max_value",
            )
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise APIError(
            400,
            f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.",
            param="order",
            code="invalid_value",
        )
    return PageQuery(limit, order, query.get("after"), query.get("before"))
