"""The readable cassette format: JSON bodies as YAML trees, event streams as lists of events."""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from asst_deploy import limits, yamlpos
from asst_deploy.conversation import sse
from asst_deploy.replay.cassette import parsed
from asst_deploy.types import Json

# Parsed cassettes kept by the hash of their text: a cassette replayed again in the same
# process (a parity run, a repeated conversation, a watch loop) is not parsed again, and a
# re-recorded one has another text, so another key.
_PARSED_KEPT = 256
_parsed: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
_parsed_lock = threading.Lock()


def content_type(headers: Mapping[str, Any]) -> str:
    """The content type of a cassette's (or vcrpy's) headers, '' when they name none."""
    for name, value in headers.items():
        if name.lower() == "content-type":
            return str(value[0] if isinstance(value, list) else value)
    return ""


def json_of(text: Any) -> tuple[bool, Json]:
    """(True, the data) when `text` is a non-empty JSON string, else (False, None)."""
    try:
        return (True, json.loads(text)) if isinstance(text, str) and text else (False, None)
    except ValueError:
        return False, None


def _sse_events(text: str) -> list[dict[str, Json]] | None:
    """The stream as a list of events, or None (kept as text) if that would lose anything."""
    events = sse.readable(sse.parse(text))
    # JSON data is compared as trees: its spacing is not part of what a client reads
    return events if sse.readable(sse.parse(_sse_text(events))) == events else None


def _sse_text(events: list[dict[str, Json]]) -> str:
    return sse.encode(sse.raw(events))


def _readable(interaction: dict[str, Any]) -> dict[str, Any]:
    request, response = interaction["request"], interaction["response"]
    ok, tree = json_of(request.get("body"))
    if ok and content_type(request["headers"]).startswith("application/json"):
        request["json"] = tree
        del request["body"]
    text = response["body"].get("string")
    kind = content_type(response["headers"])
    if isinstance(text, str) and text:
        ok, tree = json_of(text)
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
            and not content_type(item["response"]["headers"]).startswith("text/event-stream")
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


def _fresh(value: Any) -> Any:
    """A copy of a parsed cassette's containers (its strings shared): vcrpy edits what it
    is given (bodies to bytes, headers filtered), and the kept parse must stay as it was."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def _parse(text: str) -> dict[str, Any]:
    # A cassette is a tree of plain values, no cycles, but millions of small objects
    # whose allocation keeps triggering the cyclic GC: pausing it saves a quarter.
    gc.disable()
    try:
        data = yamlpos.load_plain(text) or {}  # bounded: an alias bomb fails fast
    finally:
        gc.enable()
    data["interactions"] = [_raw(i) for i in data.get("interactions") or ()]
    return data


class ReadableSerializer:
    """vcrpy's YAML with JSON bodies as YAML trees and event streams as lists of events."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        data = copy.deepcopy(cassette_dict)
        data["interactions"] = [_readable(i) for i in _collapse_polls(data["interactions"])]
        return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
        with _parsed_lock:
            kept = _parsed.get(key)
            if kept is not None:
                _parsed.move_to_end(key)
        if kept is None:
            kept = parsed.load(text)
            if kept is None:
                kept = _parse(text)  # a damaged cassette raises here, and nothing is kept
                parsed.store(text, kept)
            with _parsed_lock:
                _parsed[key] = kept
                while len(_parsed) > _PARSED_KEPT:
                    _parsed.popitem(last=False)
        result: dict[str, Any] = _fresh(kept)
        return result


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
