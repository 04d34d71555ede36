"""Handler building blocks shared by the route modules: lookups, list pages, delete answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from asst_deploy.sandbox.apierrors import not_found
from asst_deploy.sandbox.app import Sandbox, sandbox_of
from asst_deploy.sandbox.pagination import page, store_page
from asst_deploy.sandbox.store import Store
from asst_deploy.sandbox.validation import bad_value
from asst_deploy.sandbox.vectorstores import create_store


def fetch(store: Store, kind: str, id: str, what: str, *, parent: str = "") -> dict[str, Any]:
    """The stored object, or the real 404 ("No <what> found with id '<id>'.")."""
    obj = store.get(kind, id, parent=parent)
    if obj is None:
        raise not_found(what, id)
    return obj


def listing(
    request: Request,
    items: list[dict[str, Any]],
    *,
    max_limit: int = 100,
    default_limit: int = 20,
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> JSONResponse:
    """One list page; `view` shapes only the objects on the page (it may be costly)."""
    result = page(items, request.query_params, max_limit=max_limit, default_limit=default_limit)
    if view is not None:
        result["data"] = [view(item) for item in result["data"]]
    return JSONResponse(result)


def store_listing(
    request: Request,
    kind: str,
    *,
    parent: str = "",
    where: Callable[[dict[str, Any]], bool] | None = None,
    max_limit: int = 100,
    default_limit: int = 20,
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> JSONResponse:
    """`listing(request, store.list(kind, parent=parent))`, filtered by `where` and paged
    in SQL (only the page is read); `view` shapes the objects on the page."""
    store = sandbox_of(request).store
    result = store_page(
        store,
        kind,
        request.query_params,
        parent=parent,
        where=where,
        max_limit=max_limit,
        default_limit=default_limit,
    )
    if view is not None:
        result["data"] = [view(item) for item in result["data"]]
    return JSONResponse(result)


def deleted(id: str, object: str) -> JSONResponse:
    return JSONResponse({"id": id, "object": object, "deleted": True})


def query_choice(request: Request, name: str, allowed: Sequence[str]) -> str | None:
    """An optional enum query parameter (`filter`, ...), checked like a body field."""
    value = request.query_params.get(name)
    if value is not None and value not in allowed:
        raise bad_value(name, value, allowed)
    return value


def path_param(request: Request, name: str) -> str:
    value = request.path_params[name]
    assert isinstance(value, str)
    return value


def file_search_store_ids(sandbox: Sandbox, file_search: dict[str, Any]) -> list[str]:
    """`vector_store_ids` plus a new store for each inline `vector_stores` entry, as the
    real service does for assistants and threads alike."""
    ids = list(file_search.get("vector_store_ids", []))
    for spec in file_search.get("vector_stores", []):
        created = create_store(
            sandbox.store,
            now=sandbox.clock(),
            delay=sandbox.processing_delay,
            file_ids=spec.get("file_ids", []),
            chunking=spec.get("chunking_strategy"),
            metadata=spec.get("metadata"),
        )
        ids.append(created["id"])
    return ids
