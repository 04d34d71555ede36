"""Matching a sent request with the recorded ones, and explaining a replay that does not match."""

from __future__ import annotations

import functools
import json

from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.matchers import get_matchers_results
from vcr.request import Request

from asst_deploy.replay.cassette.format import content_type
from asst_deploy.types import Json

MATCH_ON = ("method", "path", "query", "json_body")


def _body(request: Request) -> Json:
    return _decoded(request.body or b"")


@functools.lru_cache(maxsize=64)  # each request is compared with every recorded one
def _decoded(raw: bytes | str) -> Json:
    """The body as data (shared between calls: read it, never change it)."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw


def differences(sent: Json, recorded: Json) -> list[str]:
    """Every difference between two request bodies, one line each, in path order (deepdiff's
    tree turned at once into lines; it is imported only when the bodies differ)."""
    if sent == recorded:
        return []
    from deepdiff import DeepDiff
    from deepdiff.helper import NotPresent

    lines = []
    for level in (
        lvl for levels in DeepDiff(sent, recorded, view="tree").values() for lvl in levels
    ):
        path = level.path(output_format="list")
        where = ".".join(str(p) for p in path) or "body"
        if isinstance(level.t2, NotPresent):
            lines.append((path, f"'{where}' is only in the sent request"))
        elif isinstance(level.t1, NotPresent):
            lines.append((path, f"'{where}' is only in the recorded request"))
        else:
            lines.append((path, f"{where}: sent {level.t1!r}, recorded {level.t2!r}"))
    return [text for _, text in sorted(lines, key=lambda item: [str(p) for p in item[0]])]


def json_body(r1: Request, r2: Request) -> None:
    """Bodies compared as data; multipart uploads are not compared (random boundaries).
    vcrpy runs every matcher on every recorded request and words each failure at once:
    the wording stays short, and `explain` tells the differences of the closest one."""
    if "multipart/" in content_type(r1.headers) + content_type(r2.headers):
        return
    if r1.body != r2.body and _body(r1) != _body(r2):
        raise AssertionError("the bodies differ")


def mismatch(exc: BaseException | None) -> CannotOverwriteExistingCassetteException | None:
    """The cassette miss underneath an SDK error, if there is one."""
    while exc is not None:
        if isinstance(exc, CannotOverwriteExistingCassetteException):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _show(request: Request) -> str:
    body = _body(request)
    text = (
        ""
        if body is None
        else " " + (json.dumps(body) if not isinstance(body, bytes) else "<bytes>")
    )
    return f"{request.method} {request.path}{'?' + request.query_string if request.query else ''}{text}"


def explain(miss: CannotOverwriteExistingCassetteException) -> str:
    """The request sent, the closest recorded request not yet played, and how they differ."""
    cassette, sent = miss.cassette, miss.failed_request
    sent = cassette.filter_request(sent) or sent
    candidates = []
    for index, (stored, _) in enumerate(cassette.data):
        if cassette.play_counts[index]:
            continue
        good, bad = get_matchers_results(sent, stored, cassette._match_on)
        candidates.append((-len(good), index, stored, bad))
    lines = [f"the request is not in the cassette: {_show(sent)}"]
    if not candidates:
        lines.append("every recorded request has been played already")
        return "\n".join(lines)
    _, index, stored, bad = min(candidates, key=lambda c: (c[0], c[1]))
    lines.append(f"closest recorded request (#{index + 1}): {_show(stored)}")
    for name, why in bad:
        if name == json_body.__name__ and (stored.method, stored.path) == (sent.method, sent.path):
            why = "\n".join(differences(_body(sent), _body(stored))) or why
        # a matcher's reason may list several differences, one a line: each gets its own
        lines += [f"  {name} differs: {line}" for line in str(why).splitlines()]
    return "\n".join(lines)
