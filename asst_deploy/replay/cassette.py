"""vcrpy glue: readable, scrubbed cassettes stamped with the spec's fingerprint; mismatch help."""

from __future__ import annotations

import copy
import functools
import gc
import json
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import vcr
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.matchers import get_matchers_results
from vcr.request import Request

from asst_deploy import identity, kinds, limits, secrets, yamlpos
from asst_deploy.conversation import sse
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError
from asst_deploy.kinds import vector_store as store_kind
from asst_deploy.types import Json

# Replay talks to no host at all; recorded URLs are rewritten to this base so that
# cassettes carry no port of a sandbox that is gone, and match whatever the target was.
REPLAY_BASE = "https://assistants.invalid/v1"
METADATA_KEY = "asst_deploy"
# Allow-lists rather than deny-lists: a credential in a header nobody thought of is
# dropped as well (authorization, openai-organization/project, cookies, proxies' keys).
REQUEST_HEADERS = frozenset({"content-type", "openai-beta"})
RESPONSE_HEADERS = frozenset({"content-type", "openai-poll-after-ms"})
REDACTED = "<redacted>"
MATCH_ON = ("method", "path", "query", "json_body")


class StaleCassette(AsstDeployError):
    """The cassette was recorded against another version of the assistant's spec."""


class CorruptCassette(AsstDeployError):
    """The cassette file cannot be read as a cassette (damaged, edited, not one at all)."""


def fingerprint(
    project: Project,
    spec: AssistantSpec,
    form: Callable[[AssistantSpec, Mapping[str, str]], Json] = kinds.ASSISTANT_FORM,
) -> str:
    """A hash of the assistant's canonical form on the target's API (`form`: an agent's
    on agents) and of the vector stores it searches."""
    shas = {f.path: identity.file_sha(f.abs_path) for f in project.files}
    stores = {s.key: s for s in project.vector_stores}
    return identity.canonical_hash(
        {
            "assistant": form(spec, shas),
            "vector_stores": {
                key: store_kind.from_spec(stores[key], shas)
                for key in spec.vector_stores
                if key in stores
            },
        }
    )


def path_for(directory: Path, script_path: Path, conversation: str) -> Path:
    """One cassette per conversation: DIR/<script name>/<conversation>.yaml."""
    stem = script_path.name.removesuffix(".yaml").removesuffix(".conv")
    return directory / stem / f"{conversation}.yaml"


# --- scrubbing ---------------------------------------------------------------------------


def _redacted(text: str) -> str:
    # vcrpy filters each request several times over: remember the small ones
    return _redacted_small(text) if len(text) < 65_536 else secrets.redact(text, REDACTED)


@functools.lru_cache(maxsize=1024)
def _redacted_small(text: str) -> str:
    return secrets.redact(text, REDACTED)


def _scrub_text(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return _redacted(value.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, str):
        return _redacted(value)
    return value


def _request_filter(*live_bases: str) -> Any:
    def scrub(request: Request) -> Request:
        # vcrpy hands before_record_request filters a copy already: edit it in place
        for live_base in live_bases:
            if request.uri.startswith(live_base):
                request.uri = REPLAY_BASE + request.uri[len(live_base) :]
                break
        request.uri = _scrub_text(request.uri)
        request.headers = {k: v for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS}
        request.body = _scrub_text(request.body)
        return request

    return scrub


def _scrub_response(response: dict[str, Any], *, body: bool = True) -> dict[str, Any]:
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
        response["body"]["string"] = _scrub_text(text)
    return response


# --- the readable YAML format -------------------------------------------------------------


def _sse_events(text: str) -> list[dict[str, Json]] | None:
    """The stream as a list of events, or None (kept as text) if that would lose anything."""
    events = sse.readable(sse.parse(text))
    # JSON data is compared as trees: its spacing is not part of what a client reads
    return events if sse.readable(sse.parse(_sse_text(events))) == events else None


def _sse_text(events: list[dict[str, Json]]) -> str:
    return sse.encode(sse.raw(events))


def _content_type(headers: Mapping[str, Any]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return str(value[0] if isinstance(value, list) else value)
    return ""


def _json(text: Any) -> tuple[bool, Json]:
    try:
        return (True, json.loads(text)) if isinstance(text, str) and text else (False, None)
    except ValueError:
        return False, None


def _readable(interaction: dict[str, Any]) -> dict[str, Any]:
    request, response = interaction["request"], interaction["response"]
    ok, tree = _json(request.get("body"))
    if ok and _content_type(request["headers"]).startswith("application/json"):
        request["json"] = tree
        del request["body"]
    text = response["body"].get("string")
    kind = _content_type(response["headers"])
    if isinstance(text, str) and text:
        ok, tree = _json(text)
        if ok and kind.startswith("application/json"):
            response["body"] = {"json": tree}
        elif kind.startswith("text/event-stream") and (events := _sse_events(text)) is not None:
            response["body"] = {"events": events}
    return interaction


def _raw(interaction: dict[str, Any]) -> dict[str, Any]:
    request, response = interaction["request"], interaction["response"]
    if "json" in request:
        request["body"] = json.dumps(request.pop("json"), separators=(",", ":"))
    request.setdefault("body", None)
    body = response["body"]
    if "json" in body:
        response["body"] = {"string": json.dumps(body["json"], separators=(",", ":"))}
    elif "events" in body:
        response["body"] = {"string": _sse_text(body["events"])}
    return interaction


def _collapse_polls(interactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of consecutive identical GETs (a run being polled) keep the last answer only, so a
    replay sees the run's final state at the first poll."""
    kept = []
    for i, item in enumerate(interactions):
        following = interactions[i + 1] if i + 1 < len(interactions) else None
        request = item["request"]
        if (
            following is not None
            and not _content_type(item["response"]["headers"]).startswith("text/event-stream")
            and request["method"] == "GET"
            and following["request"]["method"] == "GET"
            and following["request"]["uri"] == request["uri"]
        ):
            continue
        kept.append(item)
    return kept


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (instructions, replies) as literal blocks, so diffs read well."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


# --- what a readable cassette must be, beyond YAML ------------------------------------------

# The events after which a client stops reading a stream (so the recording ends there): the
# Assistants' `done`, a session at rest or paused at its budget (Agents), a response's end
# (Responses), and an error.
STREAM_ENDS = frozenset(
    {
        "done",
        "error",
        "agent.session.idle",
        "agent.session.failed",
        "agent.session.budget_reached",
        "agent.session.turn.completed",
        "agent.session.turn.failed",
        "agent.session.turn.cancelled",
        "response.completed",
        "response.failed",
        "response.incomplete",
    }
)
_DONE = "[DONE]"  # the Assistants' `done` event's data: the one that is not JSON


def _stream_problem(data: list[Any]) -> tuple[int, int | None, str] | None:
    """The first damaged event stream of a loaded cassette (vcrpy's (request, response)
    pairs): (its interaction, the event, why), or None. Its data must be JSON (a stream
    that says otherwise was edited: no API sends it), and it must end where a client
    stops reading, unless the client went on by polling (a connection that broke while
    recording): else it was cut short."""
    for index, (_, response) in enumerate(data):
        if not _content_type(response.get("headers") or {}).startswith("text/event-stream"):
            continue
        text = (response.get("body") or {}).get("string") or ""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        events = sse.parse(text)
        for j, event in enumerate(events):
            found = event.get("data")
            if isinstance(found, str) and found != _DONE and not _json(found)[0]:
                shown = found if len(found) <= 40 else found[:40] + "..."
                why = f"event {j + 1} of the stream has data that is not JSON ({shown!r})"
                return index, j, why
        last = events[-1] if events else {}
        ended = last.get("event") in STREAM_ENDS or last.get("data") == _DONE
        following = data[index + 1][0] if index + 1 < len(data) else None
        if not ended and getattr(following, "method", None) != "GET":
            after = f"after event {last.get('event')!r}" if last else "with no event"
            return (
                index,
                None,
                f"the event stream ends {after}, before the turn did: it was cut short",
            )
    return None


def check_streams(cassette: Any, path: Path) -> None:
    """Refuse a replayed cassette whose event streams were damaged: an AsstDeployError
    saying where (the line is looked up only then: positions cost a second parse)."""
    found = _stream_problem(list(cassette.data))
    if found is None:
        return
    index, event, why = found
    docs = yamlpos.parse(path.read_text(encoding="utf-8"), str(path), [])
    body = docs[0].data["interactions"][index]["response"]["body"] if docs else {}
    at: tuple[Any, ...] = ("interactions", index, "response", "body")
    if isinstance(body, Mapping) and "events" in body:
        at += ("events",) if event is None else ("events", event, "data")
    else:
        at += ("string",)
    line = docs[0].where(at).line if docs else 0
    raise AsstDeployError(f"line {line}: {why}" if line else why)


def preflight(path: Path) -> str | None:
    """Why the file at `path` cannot be read as a cassette before its YAML is read (too
    large to read safely, not UTF-8 text, empty), or None."""
    size = path.stat().st_size
    if size > limits.CASSETTE_MAX_BYTES:
        return (
            f"{size:,} bytes, over the {limits.CASSETTE_MAX_BYTES:,} "
            f"({limits.CASSETTE_MAX_BYTES // 2**20} MiB) asst-deploy reads"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return f"line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x})"
    if not text.strip():
        return "the file is empty"
    return None


class ReadableSerializer:
    """vcrpy's YAML with JSON bodies as YAML trees and event streams as lists of events."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        data = copy.deepcopy(cassette_dict)
        data["interactions"] = [_readable(i) for i in _collapse_polls(data["interactions"])]
        return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        # A cassette is a tree of plain values, no cycles, but millions of small objects
        # whose allocation keeps triggering the cyclic GC: pausing it saves a quarter.
        gc.disable()
        try:
            data = yamlpos.load_plain(text) or {}  # bounded: an alias bomb fails fast
        finally:
            gc.enable()
        data["interactions"] = [_raw(i) for i in data.get("interactions") or ()]
        return data


# --- matching -----------------------------------------------------------------------------


def _body(request: Request) -> Json:
    return _decoded(request.body or b"")


@functools.lru_cache(maxsize=64)  # each request is compared with every recorded one
def _decoded(raw: bytes | str) -> Json:
    """The body as data (shared between calls: read it, never change it)."""
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw


def _differences(sent: Json, recorded: Json) -> list[str]:
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
    if "multipart/" in _content_type(r1.headers) + _content_type(r2.headers):
        return
    if r1.body != r2.body and _body(r1) != _body(r2):
        raise AssertionError("the bodies differ")


def make_vcr(live_base: str, *, record: bool = True, also: Sequence[str] = ()) -> vcr.VCR:
    """`also`: other live bases (a grader's endpoint), recorded as REPLAY_BASE too."""
    recorder = vcr.VCR(
        serializer="asst-deploy",
        match_on=MATCH_ON,
        before_record_request=_request_filter(*(b.rstrip("/") for b in (live_base, *also))),
        before_record_response=functools.partial(_scrub_response, body=record),
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
            cassette = stack.enter_context(
                make_vcr(live_base, record=record, also=also).use_cassette(
                    str(path), record_mode=mode
                )
            )
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


def stamp(cassette: Any, info: Mapping[str, Json]) -> None:
    cassette.get_metadata(METADATA_KEY, dict(info))


def info(cassette: Any) -> dict[str, Json]:
    """What `stamp` wrote into the cassette ({} for a cassette without it)."""
    from vcr.errors import MissingMetadataError

    try:
        found = cassette.get_metadata(METADATA_KEY, None)
    except MissingMetadataError:
        return {}
    return dict(found) if isinstance(found, Mapping) else {}


def check_fresh(cassette: Any, path: Path, expected: str, hint: str = "--asst-mode record") -> None:
    """Refuse a cassette recorded against another version of the assistant's spec."""
    recorded = info(cassette).get("fingerprint")
    if recorded != expected:
        raise StaleCassette(
            f"cassette {path} is stale: it was recorded against spec fingerprint "
            f"{recorded or '(none)'}, and the assistant's spec (instructions, tools, files...) "
            f"now hashes to {expected}; re-record it with {hint}"
        )


def check_grader(
    cassette: Any, path: Path, expected: Mapping[str, Json], hint: str = "--asst-mode record"
) -> None:
    """Refuse the grades of a cassette recorded with another grader (model, embedding
    model, endpoint, prompt) than the project's now."""
    recorded = info(cassette).get("grader")
    if recorded != dict(expected):
        was = _grader_words(recorded) if isinstance(recorded, Mapping) else "no grader"
        raise StaleCassette(
            f"cassette {path} is stale: its grades were given by {was}, and the project's "
            f"grader is now {_grader_words(expected)}; re-record it with {hint}"
        )


def _grader_words(stamp: Mapping[str, Json]) -> str:
    return (
        f"{stamp.get('model')} (embeddings: {stamp.get('embedding_model')}) on target "
        f"'{stamp.get('endpoint')}', prompt {stamp.get('prompt')}"
    )


# --- explaining a replay that does not match -------------------------------------------


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
            why = "\n".join(_differences(_body(sent), _body(stored))) or why
        # a matcher's reason may list several differences, one a line: each gets its own
        lines += [f"  {name} differs: {line}" for line in str(why).splitlines()]
    return "\n".join(lines)


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
