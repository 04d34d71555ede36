"""The interface every backend implements, and the project's own remote error."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from asst_deploy.errors import AsstDeployError
from asst_deploy.state import RemoteFile, RemoteObject, RemoteState
from asst_deploy.types import Json

# Runs one list page's fetch, retrying it when it fails transiently: a read that fails
# on page 7 goes on from page 7, not from the start.
PageRetry = Callable[[Callable[[], Any]], Any]


class RemoteError(AsstDeployError):
    """A call to the target failed; says what was being done and what the API answered."""

    def __init__(
        self,
        doing: str,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        unreachable: bool = False,
    ) -> None:
        self.doing = doing
        self.unreachable = unreachable  # no connection could be made at all
        self.status = status
        self.request_id = request_id
        self.retryable = retryable
        self.retry_after = retry_after
        detail = (
            f" (HTTP {status}" + (f", request {request_id}" if request_id else "") + ")"
            if status
            else ""
        )
        super().__init__(f"{doing} failed: {message}{detail}")


class Backend(Protocol):
    """What the engine needs from a target, generic over kinds (asst_deploy/kinds): one
    adapter per API generation implements it. Reads list whole collections page by page."""

    def read_state(self, retry: PageRetry | None = None, *, models: bool = False) -> RemoteState:
        """Every collection the target's API has (and only those); with `models`, also the
        shutdown dates the target's model list reports (RemoteState.shutdowns), read side
        by side with the collections."""
        ...

    def list_newest(
        self, kind: str, retry: PageRetry | None = None
    ) -> Iterator[RemoteObject | RemoteFile]:
        """Objects of one kind, newest first, fetched a page at a time as the caller
        iterates (vector stores without their files)."""
        ...

    def create(self, kind: str, payload: Mapping[str, Json]) -> RemoteObject: ...

    def update(self, kind: str, remote_id: str, payload: Mapping[str, Json]) -> RemoteObject: ...

    def delete(self, kind: str, remote_id: str) -> None: ...

    def retrieve(self, kind: str, remote_id: str) -> RemoteObject | None: ...

    def act(self, kind: str, remote_id: str, action: str) -> RemoteObject:
        """One of an object's own actions (POST .../{id}/{action}: an automation's pause and
        resume); answers the object as it is then."""
        ...

    def set_metadata(self, kind: str, remote_id: str, metadata: Mapping[str, Json]) -> None:
        """Write identity tags where the kind keeps them (metadata, or a template's name)."""
        ...

    # files and vector-store membership: every API generation has them

    def upload_file(self, path: Path, filename: str) -> RemoteFile: ...

    def download_file(self, file_id: str) -> bytes: ...

    def download_content(self, kind: str, remote_id: str) -> bytes:
        """What an object holds beyond its JSON (a skill: its default version, zipped)."""
        ...

    def attach_files(
        self, store_id: str, files: Sequence[tuple[str, Mapping[str, Json]]], chunking: Json
    ) -> None: ...

    def vector_store_files(
        self, store_id: str, retry: PageRetry | None = None
    ) -> list[Mapping[str, Json]]: ...

    def update_file_attributes(
        self, store_id: str, file_id: str, attributes: Mapping[str, Json]
    ) -> None: ...

    def detach_file(self, store_id: str, file_id: str) -> None: ...
