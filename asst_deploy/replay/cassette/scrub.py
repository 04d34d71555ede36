"""What a cassette keeps of a request and a response: known headers, no credential."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from vcr.request import Request

from asst_deploy import secrets

# Replay talks to no host at all; recorded URLs are rewritten to this base so that
# cassettes carry no port of a sandbox that is gone, and match whatever the target was.
REPLAY_BASE = "https://assistants.invalid/v1"
# Allow-lists rather than deny-lists: a credential in a header nobody thought of is
# dropped as well (authorization, openai-organization/project, cookies, proxies' keys).
REQUEST_HEADERS = frozenset({"content-type", "openai-beta"})
RESPONSE_HEADERS = frozenset({"content-type", "openai-poll-after-ms"})
REDACTED = "<redacted>"


def _redacted(text: str) -> str:
    # vcrpy filters each request several times over: remember the small ones
    return _redacted_small(text) if len(text) < 65_536 else secrets.redact(text, REDACTED)


@functools.lru_cache(maxsize=1024)
def _redacted_small(text: str) -> str:
    return secrets.redact(text, REDACTED)


def scrub_text(value: Any) -> Any:
    """A body or URL with every credential redacted (bytes that are not UTF-8 as they are)."""
    if isinstance(value, bytes):
        try:
            return _redacted(value.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, str):
        return _redacted(value)
    return value


def request_filter(*live_bases: str) -> Callable[[Request], Request]:
    """vcrpy's before_record_request: the live bases rewritten to REPLAY_BASE, scrubbed."""

    def scrub(request: Request) -> Request:
        # vcrpy hands before_record_request filters a copy already: edit it in place
        for live_base in live_bases:
            if request.uri.startswith(live_base):
                request.uri = REPLAY_BASE + request.uri[len(live_base) :]
                break
        request.uri = scrub_text(request.uri)
        request.headers = {k: v for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS}
        request.body = scrub_text(request.body)
        return request

    return scrub


def scrub_response(response: dict[str, Any], *, body: bool = True) -> dict[str, Any]:
    """The response as a cassette keeps it: known headers only, no credential in the body
    (`body=False` when reading a cassette to replay: its bodies were scrubbed when it was
    recorded, and a replay writes nothing)."""
    headers = {}
    for name, values in response["headers"].items():
        if name.lower() == "openai-poll-after-ms":
            values = ["0"]  # replay never waits between polls
        if name.lower() in RESPONSE_HEADERS:
            headers[name.lower()] = values
    response["headers"] = headers
    text = response["body"]["string"]  # a KeyError when damaged: a corrupt cassette
    if body:
        response["body"]["string"] = scrub_text(text)
    return response
