"""A deadline on the bytes of an SDK event stream, so keep-alive frames cannot hold a wait open."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx2


class Overdue(Exception):
    """An event stream was read past its deadline."""


class _Bounded(httpx2.SyncByteStream):
    def __init__(self, inner: Any, past: Callable[[], bool]) -> None:
        self.inner = inner
        self.past = past

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            if self.past():
                raise Overdue
            yield chunk

    def close(self) -> None:
        self.inner.close()


def bound(stream: Any, past: Callable[[], bool]) -> Any:
    """`stream` (an SDK event stream not read yet), raising Overdue at its first bytes once
    `past()` says its deadline has passed. A reading loop checks the clock at each event only, and a server may send
    bytes no event is made of (keep-alive comments) for ever; a silent stream is bounded by
    the request's read timeout instead."""
    response = getattr(stream, "response", None)
    if response is not None and isinstance(response.stream, httpx2.SyncByteStream):
        response.stream = _Bounded(response.stream, past)
    return stream
