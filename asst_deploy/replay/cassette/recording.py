"""vcrpy glue: a cassette used to record or to replay, streams told by a driver, the network blocked."""

from __future__ import annotations

import copy
import functools
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import vcr
import yaml
from vcr import matchers
from vcr.cassette import Cassette
from vcr.request import Request

from asst_deploy.errors import AsstDeployError
from asst_deploy.replay.cassette.format import ReadableSerializer, preflight
from asst_deploy.replay.cassette.matching import MATCH_ON, json_body
from asst_deploy.replay.cassette.scrub import REPLAY_BASE, request_filter, scrub_response
from asst_deploy.replay.cassette.streams import check_streams


class CorruptCassette(AsstDeployError):
    """The cassette file cannot be read as a cassette (damaged, edited, not one at all)."""


def path_for(directory: Path, script_path: Path, conversation: str) -> Path:
    """One cassette per conversation: DIR/<script name>/<conversation>.yaml."""
    stem = script_path.name.removesuffix(".yaml").removesuffix(".conv")
    return directory / stem / f"{conversation}.yaml"


class _Cassette(Cassette):
    """vcrpy's cassette, finding a request among the recorded ones of its method and path
    rather than running every matcher on every one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._routes: dict[tuple[str, str], list[int]] = {}
        self._routed = 0  # how many of self.data are in self._routes
        self._by_route = matchers.method in self._match_on and matchers.path in self._match_on

    def _responses(self, request: Request) -> Iterator[tuple[int, Any]]:
        if not self._by_route:
            yield from super()._responses(request)
            return
        request = self._before_record_request(request)
        data = self.data  # vcrpy only ever appends to it
        for index in range(self._routed, len(data)):
            stored = data[index][0]
            self._routes.setdefault((stored.method, stored.path), []).append(index)
        self._routed = len(data)
        for index in self._routes.get((request.method, request.path), ()):
            stored, response = data[index]
            if matchers.requests_match(request, stored, self._match_on):
                yield index, response


class _VCR(vcr.VCR):
    """vcrpy's VCR, whose cassettes filter a request through a shallow copy (the filter
    replaces a request's parts, never edits them: vcrpy's deep copy cost more than the rest
    of a lookup), once however often vcrpy asks while looking it up."""

    def _build_before_record_request(
        self, options: dict[str, Any]
    ) -> Callable[[Request], Request | None]:
        scrub = self.before_record_request  # make_vcr's one filter
        return _remembered(lambda request: scrub(copy.copy(request)))


def _remembered(
    filtered: Callable[[Request], Request | None],
) -> Callable[[Request], Request | None]:
    """`filtered`, answering the two requests it was last asked for without filtering them
    again: a lookup asks for the sent request twice, and once for its filtered copy."""
    last: list[tuple[Request, Request | None]] = []  # holding each, so no id is reused

    def remembered(request: Request) -> Request | None:
        for asked, result in last:
            if asked is request:
                return result
        result = filtered(request)
        last[:] = [*last[-1:], (request, result)]
        return result

    return remembered


def make_vcr(live_base: str, *, record: bool = True, also: Sequence[str] = ()) -> vcr.VCR:
    """`also`: other live bases (a grader's endpoint), recorded as REPLAY_BASE too."""
    recorder = _VCR(
        serializer="asst-deploy",
        match_on=MATCH_ON,
        before_record_request=request_filter(*(b.rstrip("/") for b in (live_base, *also))),
        before_record_response=functools.partial(scrub_response, body=record),
        decode_compressed_response=True,
    )
    recorder.register_serializer("asst-deploy", ReadableSerializer)
    recorder.register_matcher("json_body", json_body)
    return recorder


@contextmanager
def use(
    path: Path,
    *,
    record: bool,
    live_base: str = REPLAY_BASE,
    shown: Path | None = None,
    hint: str = "--asst-mode record",
    also: Sequence[str] = (),
) -> Iterator[Any]:
    """The cassette at `path`: re-recorded from scratch, or replayed with nothing new allowed.
    A file that cannot be read as a cassette is a CorruptCassette naming it (`shown`).
    `also`: the live bases of other endpoints the conversation calls (its grader's)."""
    if record:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
    elif (why := preflight(path)) is not None:
        # vcrpy would take a file it cannot decode for no cassette at all (then "stale"),
        # and a huge one for a few GB of memory
        raise CorruptCassette(_corrupt(shown or path, why, hint))
    mode = "all" if record else "none"
    with ExitStack() as stack:
        try:
            config = make_vcr(live_base, record=record, also=also).get_merged_config(
                path=str(path), record_mode=mode
            )
            cassette = stack.enter_context(_Cassette.use(**config))
            if not record:
                check_streams(cassette, path)
        except (AsstDeployError, yaml.YAMLError, ValueError, LookupError, TypeError) as exc:
            raise CorruptCassette(_corrupt(shown or path, exc, hint)) from None
        yield cassette


def _corrupt(path: Path, exc: BaseException | str, hint: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, str):
        what = exc
    elif isinstance(exc, yaml.YAMLError):
        what = f"line {mark.line + 1}: not YAML" if mark else "not YAML"
    elif isinstance(exc, AsstDeployError):
        what = str(exc)
    else:
        what = f"not the cassette format ({type(exc).__name__}: {exc})"
    return (
        f"cassette {path} cannot be read ({what}): it was damaged (an edit, a merge "
        f"conflict) or is not a cassette; restore it from git, or delete it and record it "
        f"again with {hint}"
    )


def stream_recorder(
    cassette: Any,
) -> Callable[[str, str, Mapping[str, str], int, Mapping[str, str], bytes], None]:
    """What a driver tells of an event stream it read live (around vcrpy, which would
    wait for the end of a stream that only the client ends): appended as an interaction,
    scrubbed like any other, and played back by vcrpy like any other."""

    def record(
        method: str,
        url: str,
        headers: Mapping[str, str],
        status: int,
        response_headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        request = Request(method, url, None, dict(headers))
        cassette.append(
            request,
            {
                "status": {"code": status, "message": "OK" if status < 400 else ""},
                "headers": {k: [v] for k, v in response_headers.items()},
                "body": {"string": body},
            },
        )

    return record


@contextmanager
def network_blocked() -> Iterator[None]:
    """No socket may connect while a cassette is replayed: a miss must not reach a server."""
    cls = socket.socket
    if not isinstance(cls, type):  # someone (a test) has replaced socket.socket already
        yield
        return
    real = cls.connect

    def refuse(self: socket.socket, address: Any) -> None:
        raise ConnectionRefusedError(
            f"asst-deploy replay blocks the network (connect to {address})"
        )

    cls.connect = refuse  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        cls.connect = real  # type: ignore[method-assign]
