"""The backend over the official openai SDK: the only module that imports it."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import openai

from asst_deploy import identity
from asst_deploy.remote.assistants_api import Assistants
from asst_deploy.remote.base import PageRetry, RemoteError
from asst_deploy.remote.state import RemoteFile, RemoteObject, RemoteState
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


class OpenAIBackend:
    """Assistants v2, files and vector stores through `openai.OpenAI`.

    The client is made with max_retries=0: the engine retries itself, because a create
    that failed on the wire may still have happened, and must be looked for (adopted)
    before it is sent again.
    """

    def __init__(self, client: openai.OpenAI, key_source: str | None = None) -> None:
        self.client = client
        self.assistants = Assistants(client)  # not client.beta.assistants: see assistants_api
        self.base_url = str(client.base_url)
        self.key_source = key_source

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

    def read_state(self, retry: PageRetry | None = None) -> RemoteState:
        assistants = self._list("listing assistants", self.assistants.list, _PAGE, retry)
        stores = self._list("listing vector stores", self.client.vector_stores.list, _PAGE, retry)
        files = self._list(
            "listing files", self.client.files.list, _FILES_PAGE, retry, purpose="assistants"
        )
        # lease markers have no files to list, and are no resource of any plan
        leases = tuple(s for s in stores if identity.is_lease(s.metadata))
        store_objects = tuple(
            RemoteObject(
                "vector_store", s.id, _data(s), tuple(self.vector_store_files(s.id, retry))
            )
            for s in stores
            if s not in leases
        )
        return RemoteState(
            assistants=tuple(RemoteObject("assistant", a.id, _data(a)) for a in assistants),
            vector_stores=store_objects,
            files=tuple(RemoteFile(f.id, f.filename, f.bytes, f.purpose) for f in files),
            leases=tuple(RemoteObject("vector_store", s.id, _data(s)) for s in leases),
        )

    def list_newest(
        self, kind: str, retry: PageRetry | None = None
    ) -> Iterator[RemoteObject | RemoteFile]:
        if kind == "file":
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
        fetch = self.assistants.list if kind == "assistant" else self.client.vector_stores.list
        for obj in self._pages(f"listing {kind.replace('_', ' ')}s", fetch, _PAGE, retry, "desc"):
            yield RemoteObject(kind, obj.id, _data(obj))

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

    def delete_file(self, file_id: str) -> None:
        with self.translated(f"deleting file {file_id}"):
            self.client.files.delete(file_id)

    def create_vector_store(self, payload: Mapping[str, Json]) -> RemoteObject:
        with self.translated("creating a vector store"):
            s = self.client.vector_stores.create(**payload)
        return RemoteObject("vector_store", s.id, _data(s))

    def update_vector_store(self, store_id: str, payload: Mapping[str, Json]) -> RemoteObject:
        with self.translated(f"updating vector store {store_id}"):
            s = self.client.vector_stores.update(store_id, **payload)
        return RemoteObject("vector_store", s.id, _data(s))

    def delete_vector_store(self, store_id: str) -> None:
        with self.translated(f"deleting vector store {store_id}"):
            self.client.vector_stores.delete(store_id)

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

    def create_assistant(self, payload: Mapping[str, Json]) -> RemoteObject:
        with self.translated("creating an assistant"):
            a = self.assistants.create(**payload)
        return RemoteObject("assistant", a.id, _data(a))

    def update_assistant(self, assistant_id: str, payload: Mapping[str, Json]) -> RemoteObject:
        with self.translated(f"updating assistant {assistant_id}"):
            a = self.assistants.update(assistant_id, **payload)
        return RemoteObject("assistant", a.id, _data(a))

    def delete_assistant(self, assistant_id: str) -> None:
        with self.translated(f"deleting assistant {assistant_id}"):
            self.assistants.delete(assistant_id)

    def retrieve(self, kind: str, remote_id: str) -> RemoteObject | None:
        try:
            with self.translated(f"reading {kind} {remote_id}"):
                if kind == "assistant":
                    return RemoteObject(kind, remote_id, _data(self.assistants.retrieve(remote_id)))
                store = _data(self.client.vector_stores.retrieve(remote_id))
                return RemoteObject(
                    kind, remote_id, store, tuple(self.vector_store_files(remote_id))
                )
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise

    def set_metadata(self, kind: str, remote_id: str, metadata: Mapping[str, Json]) -> None:
        with self.translated(f"tagging {kind} {remote_id}"):
            if kind == "assistant":
                self.assistants.update(remote_id, metadata=dict(metadata))
            else:
                self.client.vector_stores.update(remote_id, metadata=dict(metadata))

    def download_file(self, file_id: str) -> bytes:
        with self.translated(f"downloading file {file_id}"):
            return self.client.files.content(file_id).read()
