"""The backend over the official openai SDK: what every API generation shares."""

from __future__ import annotations

import contextvars
import email.utils
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import openai

from asst_deploy import identity, kinds
from asst_deploy.backend import PageRetry, RemoteError
from asst_deploy.fastforward import FastForward
from asst_deploy.generations.sdk import wire
from asst_deploy.generations.sdk.wire import WireItem, WirePage
from asst_deploy.state import FILE_KIND, RemoteFile, RemoteObject, RemoteState
from asst_deploy.types import Json

T = TypeVar("T")
_PAGE = 100  # the API's largest page for assistants and vector stores
_FILES_PAGE = 10_000
# vector stores whose file lists are read at once (each store's list is a chain of its own)
_STORE_FILES_AT_ONCE = 8
BATCH_MAX = 2000  # files in one vector store file batch, as the API allows
# httpx's errors for a connection that was never made (as opposed to one that broke)
_NOT_CONNECTED = ("ConnectError", "ConnectTimeout")


def _retry_after(
    headers: Mapping[str, str] | None, now: Callable[[], float] = time.time
) -> float | None:
    """The wait the server asks for, in seconds, read as the SDK reads it: `retry-after-ms`
    first, then `retry-after` as seconds, then as an HTTP date. None when absent, unreadable
    or not a finite wait of zero or more."""
    headers = headers or {}
    for name, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            delay = float(value) / divisor
        except ValueError:
            continue
        return delay if math.isfinite(delay) and delay >= 0 else None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        moment = email.utils.parsedate_tz(value)
        if moment is None:
            return None
        return max(0.0, email.utils.mktime_tz(moment) - now())
    except (TypeError, ValueError, OverflowError, OSError):
        return None


@contextmanager
def translated(
    doing: str, key_source: str | None = None, endpoint: str | None = None
) -> Iterator[None]:
    """Turn SDK exceptions into RemoteError, saying what was being done. `key_source` names
    where the API key came from (an environment variable), for the hint on a 401."""
    try:
        yield
    except openai.APIStatusError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        message = str(body.get("message") or exc.message)
        if exc.status_code == 401:
            message += (
                f" (check the API key in ${key_source}, the variable the target's api_key_env names)"
                if key_source
                else " (check the API key)"
            )
        raise RemoteError(
            doing,
            message,
            status=exc.status_code,
            request_id=exc.request_id,
            retryable=exc.status_code in (408, 409, 429) or exc.status_code >= 500,
            retry_after=_retry_after(exc.response.headers),
        ) from None
    except (ValueError, UnicodeEncodeError) as exc:  # raised while encoding the request
        raise RemoteError(
            doing,
            f"the request holds a value JSON cannot carry ({exc}): a NaN, an infinity or a "
            "lone surrogate; `asst-deploy validate` names where it is in the specs",
        ) from None
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        where = endpoint or "the endpoint"
        raise RemoteError(
            doing,
            f"cannot reach {where}: {cause}",
            retryable=True,
            unreachable=type(cause).__name__ in _NOT_CONNECTED,
        ) from None


def _data(obj: Any) -> dict[str, Json]:
    """The object as the wire shows it: by_alias, or json_schema's "schema" reads "schema_".
    An item of a light list page (wire.WireItem) is that JSON already, as the dump of its
    open model would give it: `id` first, then every field in the order it came."""
    if isinstance(obj, WireItem):
        json = obj.json
        if next(iter(json), "id") != "id" and "id" in json:
            json = {"id": json["id"], **json}
        return json
    data = obj.model_dump(mode="json", by_alias=True, exclude_unset=False)
    assert isinstance(data, dict)
    return data


def concurrently(calls: Sequence[Callable[[], T]], limit: int | None = None) -> list[T]:
    """The result of each call, in order, the calls run side by side (at most `limit` at a
    time): reads that do not depend on each other wait for the network together instead of
    one after another. The first call runs in this thread; the others in daemon threads,
    which never hold up the process's exit. When calls fail, the first failure in order is
    raised, once all have finished (as a run one after another would have raised it)."""
    if len(calls) <= 1:
        return [call() for call in calls]
    results: list[Any] = [None] * len(calls)
    failures: list[BaseException | None] = [None] * len(calls)
    taken = iter(range(len(calls)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                index = next(taken, None)
            if index is None:
                return
            try:
                results[index] = calls[index]()
            except BaseException as exc:
                failures[index] = exc

    workers = [  # each in a copy of this thread's context variables, as the calls expect
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(work,),
            name="asst-deploy-read",
            daemon=True,
        )
        for _ in range(min(len(calls), limit or len(calls)) - 1)
    ]
    for worker in workers:
        worker.start()
    work()
    for worker in workers:
        worker.join()
    for failure in failures:
        if failure is not None:
            raise failure
    return results


class _Ahead:
    """One call under way in a daemon thread (in a copy of this thread's context
    variables), for `result()` to wait for: its value, or its exception raised again."""

    def __init__(self, call: Callable[..., Any], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run, call, args), name="asst-deploy-page", daemon=True
        )
        self._thread.start()

    def _run(self, call: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            self._value = call(*args)
        except BaseException as exc:
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def join(self) -> None:
        """Wait for the call to end, whatever it raised (the caller raises its own)."""
        self._thread.join()


def _created(item: Any) -> float | None:
    """An item's `created_at` (a list page's JSON, or an SDK model), None when it has none."""
    json = getattr(item, "json", None)
    value = json.get("created_at") if isinstance(json, dict) else getattr(item, "created_at", None)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _last_created(previous: float | None, page: Sequence[Any], sign: int) -> float | None:
    """The `created_at` of a page's last item, when the page goes on from `previous` in
    `created_at` order (ascending: sign 1, descending: -1); None when it does not, or an
    item has none."""
    steps = [previous] if previous is not None else []
    for item in page:
        stamp = _created(item)
        if stamp is None or (steps and sign * (stamp - steps[-1]) < 0):
            return None
        steps.append(stamp)
    return steps[-1] if steps else previous


@dataclass(frozen=True)
class Collection:
    """One API collection of a kind: its SDK resource (list, create, update, delete and
    retrieve with the generated resources' signatures) and how to read it."""

    kind: str
    resource: Any
    page: int | None = None  # None: the API's largest page (read at call time)
    # what a listed object carries besides its own JSON (a vector store's file list)
    with_files: bool = False

    @property
    def label(self) -> str:
        return kinds.get(self.kind).label


class OpenAIBackend:
    """Files and vector stores, which every API generation has, through `openai.OpenAI`;
    one subclass per generation adds its collections (assistants_backend.py,
    agents_backend.py). Alone it serves a Responses target, which deploys nothing else.

    The client is made with max_retries=0: the engine retries itself, because a create
    that failed on the wire may still have happened, and must be looked for (adopted)
    before it is sent again.
    """

    def __init__(self, client: openai.OpenAI, key_source: str | None = None) -> None:
        self.client = client
        self.base_url = str(client.base_url)
        self.key_source = key_source
        # the time of the in-process sandbox this client alone talks to (set by connect):
        # a conversation driver waits through it, skipping the wait
        self.time: FastForward | None = None
        self.collections: dict[str, Collection] = {
            c.kind: c for c in self.extra_collections(client)
        }
        self.collections["vector_store"] = Collection(
            "vector_store", wire.vector_stores(client), with_files=True
        )

    def extra_collections(self, client: openai.OpenAI) -> list[Collection]:
        """The collections of this adapter's API generation beyond files and vector stores."""
        return []

    def translated(self, doing: str) -> AbstractContextManager[None]:
        return translated(doing, self.key_source, self.base_url)

    def _pages(
        self,
        doing: str,
        fetch: Callable[..., Any],
        page: int,
        retry: PageRetry | None,
        order: str = "asc",
        *,
        ahead: bool = False,
        **params: Any,
    ) -> Iterator[Any]:
        """Every item, a page at a time; each page's fetch retried on its own. `ahead`, for
        a caller that reads every page: the next page is asked for as soon as this one names
        where it ends, so that it is on its way while this one's items are used."""

        def get(after: str | None) -> Any:
            return self._page(doing, fetch, page, retry, order, after, params)

        result = get(None)
        while True:
            more = bool(result.has_more and result.data)
            following = _Ahead(get, result.data[-1].id) if more and ahead else None
            yield from result.data
            if not more:
                return
            result = following.result() if following is not None else get(result.data[-1].id)

    def _page(
        self,
        doing: str,
        fetch: Callable[..., Any],
        page: int,
        retry: PageRetry | None,
        order: str,
        after: str | None,
        params: Mapping[str, Any],
    ) -> Any:
        """One page of `order` after the item `after` (None: the first), retried on its own."""
        kwargs = dict(params, limit=page, order=order)
        if after:
            kwargs["after"] = after

        def one() -> Any:
            with self.translated(doing):
                return fetch(**kwargs)

        return retry(one) if retry is not None else one()

    def _list(
        self,
        doing: str,
        fetch: Callable[..., Any],
        page: int,
        retry: PageRetry | None = None,
        **params: Any,
    ) -> list[Any]:
        return list(self._pages(doing, fetch, page, retry, ahead=True, **params))

    def _every(
        self,
        doing: str,
        fetch: Callable[..., Any],
        page: int,
        retry: PageRetry | None,
        **params: Any,
    ) -> list[Any]:
        """Every item of a list, oldest first. Once three pages have shown there are
        more, the rest is read from both ends at once: a page from the oldest end and one
        from the newest (in another thread) at a time, until the two reads meet in the
        middle. A list of n pages then takes about n/2 + 2 round trips instead of n, for a
        page or three more (a shorter list would take as long: the two reads must overlap
        to meet); how many depends only on the list, not on which answer came first.

        They have met once the newest-first read's last item is older than the
        oldest-first read's last one: every item older than the latter the oldest-first
        read holds, every item newer than the former the other does, so one of the two
        holds each. Only `created_at` is compared: the service orders its lists by it,
        but objects made in the same second may come in another order each way, so pages
        that merely share an id prove nothing. The newest-first read only ever saves time:
        a page of it out of `created_at` order (or an item without one), or its failure,
        ends it, and the oldest-first read goes on to the end alone."""

        def get(order: str, after: str | None) -> Any:
            return self._page(doing, fetch, page, retry, order, after, params)

        items: list[Any] = []
        result = get("asc", None)
        for pages in range(1, 4):
            items.extend(result.data)
            if not (result.has_more and result.data):
                return items
            if pages < 3:
                result = get("asc", result.data[-1].id)
        rising = _last_created(None, items, 1)
        both = rising is not None
        newer: list[Any] = []
        falling: float | None = None
        while True:
            newest = _Ahead(get, "desc", newer[-1].id if newer else None) if both else None
            try:
                result = get("asc", items[-1].id)
            except BaseException:
                if newest is not None:
                    newest.join()
                raise
            items.extend(result.data)
            if newest is not None:
                try:
                    falling_page = newest.result()
                except RemoteError:
                    both = False
                else:
                    newer.extend(falling_page.data)
                    if not (falling_page.has_more and falling_page.data):
                        break  # it reached the oldest end: it holds every item
                    falling = _last_created(falling, falling_page.data, -1)
                    both = falling is not None
            if not (result.has_more and result.data):
                break
            rising = _last_created(rising, result.data, 1)
            both = both and rising is not None
            if both and falling is not None and rising is not None and falling < rising:
                break
        seen = {item.id for item in items}
        return items + [item for item in reversed(newer) if item.id not in seen]

    def _object(
        self, collection: Collection, data: dict[str, Json], retry: PageRetry | None
    ) -> RemoteObject:
        obj_id = str(data["id"])
        files = tuple(self.vector_store_files(obj_id, retry)) if collection.with_files else ()
        return RemoteObject(
            collection.kind, obj_id, data, files, kinds.get(collection.kind).tags(data)
        )

    def _collection(self, kind: str) -> Collection:
        found = self.collections.get(kind)
        if found is None:
            raise RemoteError(
                f"reaching {kind}s", f"a target of this API generation has no {kind}s"
            )
        return found

    def _read_collection(
        self, collection: Collection, retry: PageRetry | None
    ) -> tuple[tuple[RemoteObject, ...], list[RemoteObject]]:
        """One collection, from both ends (see _every), as (its objects, its lease
        markers); a vector store's file lists are read side by side once the stores are
        known."""
        kind = collection.kind
        listed = self._every(
            f"listing {collection.label}s",
            collection.resource.list,
            collection.page or _PAGE,
            retry,
        )
        found: list[dict[str, Json]] = []
        leases: list[RemoteObject] = []
        for item in listed:
            data = _data(item)
            tags = kinds.get(kind).tags(data)
            if identity.is_lease(tags):  # no files to list, and no resource of any plan
                leases.append(RemoteObject(kind, str(data["id"]), data, (), tags))
            else:
                found.append(data)
        if not collection.with_files:
            return tuple(self._object(collection, data, retry) for data in found), leases
        objects = concurrently(
            [partial(self._object, collection, data, retry) for data in found],
            _STORE_FILES_AT_ONCE,
        )
        return tuple(objects), leases

    def read_state(self, retry: PageRetry | None = None, *, models: bool = False) -> RemoteState:
        # only the collections this API has; users first (as the listing always went). The
        # collections, the files (and the models) do not depend on each other: they are
        # read side by side, so the read takes about as long as its longest chain of pages.
        collections = [
            c for c in (self.collections.get(kind) for kind in reversed(kinds.KINDS)) if c
        ]
        reads: list[Callable[[], Any]] = [
            partial(self._read_collection, collection, retry) for collection in collections
        ]
        reads.append(partial(self._read_files, retry))
        if models:  # last: a failure of the lists is the one reported
            reads.append(partial(self.reported_shutdowns, retry))
        read = concurrently(reads)
        shutdowns: dict[str, str] = read.pop() if models else {}
        files = read.pop()
        objects: dict[str, tuple[RemoteObject, ...]] = {}
        leases: list[RemoteObject] = []
        for collection, (found, markers) in zip(collections, read, strict=True):
            objects[collection.kind] = found
            leases.extend(markers)
        return RemoteState(objects=objects, files=files, leases=tuple(leases), shutdowns=shutdowns)

    def reported_shutdowns(self, retry: PageRetry | None = None) -> dict[str, str]:
        """Model -> shutdown date, as the target's GET /models reports them (the SDK's
        Model carries `shutdown_date`); empty when the endpoint lists no models, or its
        list keeps failing: the built-in table then stands alone, as it always did."""

        options: Any = {"security": {"bearer_auth": True}}  # as the generated resources'

        def one() -> WirePage:
            with self.translated("listing the models"):
                response = self.client.get("/models", cast_to=httpx2.Response, options=options)
                return WirePage.read(response, "/models")

        try:
            page = retry(one) if retry is not None else one()
        except RemoteError:
            return {}
        return {
            str(item.id): str(date)
            for item in page.data
            if item.id and (date := item.json.get("shutdown_date"))
        }

    def _read_files(self, retry: PageRetry | None) -> tuple[RemoteFile, ...]:
        files = self._every(
            "listing files", self.client.files.list, _FILES_PAGE, retry, purpose="assistants"
        )
        return tuple(RemoteFile(f.id, f.filename, f.bytes, f.purpose, f.created_at) for f in files)

    def list_newest(
        self, kind: str, retry: PageRetry | None = None
    ) -> Iterator[RemoteObject | RemoteFile]:
        if kind == FILE_KIND:
            for f in self._pages(
                "listing files",
                self.client.files.list,
                _FILES_PAGE,
                retry,
                "desc",
                purpose="assistants",
            ):
                yield RemoteFile(f.id, f.filename, f.bytes, f.purpose, f.created_at)
            return
        collection = self._collection(kind)
        for obj in self._pages(
            f"listing {collection.label}s",
            collection.resource.list,
            collection.page or _PAGE,
            retry,
            "desc",
        ):
            data = _data(obj)
            yield RemoteObject(kind, str(data["id"]), data, (), kinds.get(kind).tags(data))

    def create(self, kind: str, payload: Mapping[str, Json]) -> RemoteObject:
        collection = self._collection(kind)
        with self.translated(f"creating a {collection.label}"):
            data = _data(collection.resource.create(**payload))
        return RemoteObject(kind, str(data["id"]), data, (), kinds.get(kind).tags(data))

    def update(self, kind: str, remote_id: str, payload: Mapping[str, Json]) -> RemoteObject:
        collection = self._collection(kind)
        with self.translated(f"updating {collection.label} {remote_id}"):
            data = _data(collection.resource.update(remote_id, **payload))
        return RemoteObject(kind, str(data["id"]), data, (), kinds.get(kind).tags(data))

    def delete(self, kind: str, remote_id: str) -> None:
        if kind == FILE_KIND:
            with self.translated(f"deleting file {remote_id}"):
                self.client.files.delete(remote_id)
            return
        collection = self._collection(kind)
        with self.translated(f"deleting {collection.label} {remote_id}"):
            collection.resource.delete(remote_id)

    def act(self, kind: str, remote_id: str, action: str) -> RemoteObject:
        collection = self._collection(kind)
        with self.translated(f"calling {action} on {collection.label} {remote_id}"):
            data = _data(collection.resource.act(remote_id, action))
        return RemoteObject(kind, str(data["id"]), data, (), kinds.get(kind).tags(data))

    def retrieve(self, kind: str, remote_id: str) -> RemoteObject | None:
        collection = self._collection(kind)
        try:
            with self.translated(f"reading {collection.label} {remote_id}"):
                data = _data(collection.resource.retrieve(remote_id))
            return self._object(collection, data, None)
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise

    def set_metadata(self, kind: str, remote_id: str, metadata: Mapping[str, Json]) -> None:
        """Write identity tags (and the user's metadata) where the kind keeps them."""
        collection = self._collection(kind)
        with self.translated(f"tagging {collection.label} {remote_id}"):
            collection.resource.update(remote_id, **kinds.get(kind).tag_payload(metadata))

    def vector_store_files(
        self, store_id: str, retry: PageRetry | None = None
    ) -> list[Mapping[str, Json]]:
        fetch = wire.vector_store_files(self.client, store_id).list
        items = self._list(f"listing files of vector store {store_id}", fetch, _PAGE, retry)
        return [_data(f) for f in items]

    def upload_file(self, path: Path, filename: str) -> RemoteFile:
        with self.translated(f"uploading {path}"), path.open("rb") as handle:
            f = self.client.files.create(file=(filename, handle), purpose="assistants")
        return RemoteFile(f.id, f.filename, f.bytes, f.purpose, f.created_at)

    def attach_files(
        self, store_id: str, files: Sequence[tuple[str, Mapping[str, Json]]], chunking: Json
    ) -> None:
        """One file batch per BATCH_MAX files instead of a call per file. Re-sending a batch
        that committed (and answered 500) re-attaches its files: safe to retry."""
        with self.translated(f"attaching files to vector store {store_id}"):
            for start in range(0, len(files), BATCH_MAX):
                part = files[start : start + BATCH_MAX]
                if any(attributes for _, attributes in part):
                    # with `files` the API ignores the batch-wide fields: each file says its own
                    extra = {"chunking_strategy": chunking} if chunking else {}
                    entries: list[Any] = [
                        {"file_id": file_id, **extra, **({"attributes": dict(a)} if a else {})}
                        for file_id, a in part
                    ]
                    self.client.vector_stores.file_batches.create(
                        vector_store_id=store_id, files=entries
                    )
                else:
                    self.client.vector_stores.file_batches.create(
                        vector_store_id=store_id,
                        file_ids=[file_id for file_id, _ in part],
                        **({"chunking_strategy": chunking} if chunking else {}),
                    )

    def update_file_attributes(
        self, store_id: str, file_id: str, attributes: Mapping[str, Json]
    ) -> None:
        with self.translated(f"updating attributes of file {file_id} in vector store {store_id}"):
            self.client.vector_stores.files.update(
                file_id, vector_store_id=store_id, attributes=dict(attributes) or None
            )

    def detach_file(self, store_id: str, file_id: str) -> None:
        with self.translated(f"detaching file {file_id} from vector store {store_id}"):
            self.client.vector_stores.files.delete(file_id, vector_store_id=store_id)

    def download_file(self, file_id: str) -> bytes:
        with self.translated(f"downloading file {file_id}"):
            return self.client.files.content(file_id).read()

    def download_content(self, kind: str, remote_id: str) -> bytes:
        collection = self._collection(kind)
        doing = f"downloading {collection.label} {remote_id}"
        content = getattr(collection.resource, "content", None)
        if not callable(content):
            raise RemoteError(doing, f"the API serves no content of {collection.label}s")
        with self.translated(doing):
            return bytes(content(remote_id))
