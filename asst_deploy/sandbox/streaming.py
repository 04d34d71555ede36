"""Server-sent events as the real service streams runs: `event:`/`data:` pairs, then `done`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette.responses import StreamingResponse

DONE = b"event: done\ndata: [DONE]\n\n"


def encode(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def event_stream(events: Iterable[tuple[str, Any]]) -> StreamingResponse:
    """A `text/event-stream; charset=utf-8` answer (Starlette adds the charset)."""

    async def body() -> AsyncIterator[bytes]:
        for event, data in events:
            yield encode(event, data)
        yield DONE

    return StreamingResponse(body(), media_type="text/event-stream")
