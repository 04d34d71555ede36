"""The backend over the official openai SDK: what every API generation shares."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import openai

from asst_deploy import identity, kinds
from asst_deploy.backend import PageRetry, RemoteError
from asst_deploy.state import FILE_KIND, RemoteFile, RemoteObject, RemoteState
from asst_deploy.types import Json

T = TypeVar("T")
_PAGE = 100  # the API's largest page for assistants and vector stores
_FILES_PAGE = 10_000
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
    """The object as the wire shows it: by_alias, or json_schema's "schema" reads "schema_"."""
    data = obj.model_dump(mode="json", by_alias=True, exclude_unset=False)
    assert isinstance(data, dict)
    return data


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
        self.collections: dict[str, Collection] = {
            c.kind: c for c in self.extra_collections(client)
        }
        self.collections["vector_store"] = Collection(
            "vector_store", client.vector_stores, with_files=True
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
        **params: Any,
    ) -> Iterator[Any]:
        """Every item, a page at a time; each page's fetch retried on its own."""
        after: str | None = None
        while True:
            kwargs = dict(params, limit=page, order=order)
            if after:
                kwargs["after"] = after

            def one(kwargs: dict[str, Any] = kwargs) -> Any:
                with self.translated(doing):
                    return fetch(**kwargs)

            result = retry(one) if retry is not None else one()
            yield from result.data
            if not result.has_more or not result.data:
                return
            after = result.data[-1].id

    def _list(
        self,
        doing: str,
        fetch: Callable[..., Any],
        page: int,
        retry: PageRetry | None = None,
        **params: Any,
    ) -> list[Any]:
        return list(self._pages(doing, fetch, page, retry, **params))

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

    def read_state(self, retry: PageRetry | None = None) -> RemoteState:
        objects: dict[str, tuple[RemoteObject, ...]] = {}
        leases: list[RemoteObject] = []
        # only the collections this API has; users first (as the listing always went)
        for kind in reversed(kinds.KINDS):
            collection = self.collections.get(kind)
            if collection is None:
                continue
            listed = self._pages(
                f"listing {collection.label}s",
                collection.resource.list,
                collection.page or _PAGE,
                retry,
            )
            found: list[RemoteObject] = []
            for item in listed:
                data = _data(item)
                tags = kinds.get(kind).tags(data)
                if identity.is_lease(tags):  # no files to list, and no resource of any plan
                    leases.append(RemoteObject(kind, str(data["id"]), data, (), tags))
                else:
                    found.append(self._object(collection, data, retry))
            objects[kind] = tuple(found)
        files = self._pages(
            "listing files", self.client.files.list, _FILES_PAGE, retry, purpose="assistants"
        )
        return RemoteState(
            objects=objects,
            files=tuple(RemoteFile(f.id, f.filename, f.bytes, f.purpose) for f in files),
            leases=tuple(leases),
        )

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
                yield RemoteFile(f.id, f.filename, f.bytes, f.purpose)
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
        fetch = self.client.vector_stores.files.list
        items = self._list(
            f"listing files of vector store {store_id}",
            fetch,
            _PAGE,
            retry,
            vector_store_id=store_id,
        )
        return [_data(f) for f in items]

    def upload_file(self, path: Path, filename: str) -> RemoteFile:
        with self.translated(f"uploading {path}"), path.open("rb") as handle:
            f = self.client.files.create(file=(filename, handle), purpose="assistants")
        return RemoteFile(f.id, f.filename, f.bytes, f.purpose)

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
