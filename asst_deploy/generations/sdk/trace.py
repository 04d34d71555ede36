"""Per-request trace lines for `--verbose`: method, path, status, time and request id."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

_STARTED = "asst_deploy.started"


def http_hooks(trace: Callable[[str], None]) -> dict[str, list[Callable[[Any], None]]]:
    """httpx event hooks that report each response through `trace`. Only the method, the
    path and the status are shown: never headers or bodies, which hold the API key."""

    def on_request(request: Any) -> None:
        request.extensions[_STARTED] = time.monotonic()

    def on_response(response: Any) -> None:
        request = response.request
        started = request.extensions.get(_STARTED)
        took = f" in {(time.monotonic() - started) * 1000:.0f} ms" if started else ""
        request_id = response.headers.get("x-request-id")
        path = request.url.raw_path.decode("ascii", "replace")
        trace(
            f"  {request.method} {path} -> {response.status_code}{took}"
            + (f" (request {request_id})" if request_id else "")
        )

    return {"request": [on_request], "response": [on_response]}
