"""Event streams survive a readable cassette: multi-line data, ids, retry and comments."""

from __future__ import annotations

import json
from typing import Any

import yaml
from openai._streaming import SSEDecoder

from asst_deploy.conversation import sse
from asst_deploy.replay.cassette import ReadableSerializer

STREAM = (
    ": keep-alive\r\n"
    "event: thread.message.delta\n"
    "id: 42\n"
    "retry: 1500\n"
    'data: {"id": "msg_1",\n'
    'data:  "delta": {"content": []}}\n'
    "\n"
    "event: note\n"
    "data: first line\n"
    "data:\n"
    "data:  indented third\n"
    "\n"
    "id: 43\n"
    "data: [DONE]\n"
    "\n"
)


def _tree(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _decoded(text: str) -> list[tuple[Any, ...]]:
    """What the SDK's own decoder reads from the stream (JSON data as the tree it parses to:
    the SDK parses it, its spacing reaches no one)."""
    events = SSEDecoder().iter_bytes(iter([text.encode()]))
    return [(e.event, _tree(e.data), e.id, e.retry) for e in events]


def _cassette(body: str) -> dict[str, Any]:
    return {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://x/v1/runs",
                    "body": None,
                    "headers": {},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {"content-type": ["text/event-stream"]},
                    "body": {"string": body},
                },
            }
        ],
    }


def test_a_stream_round_trips_through_a_readable_cassette() -> None:
    text = ReadableSerializer.serialize(_cassette(STREAM))
    events = yaml.safe_load(text)["interactions"][0]["response"]["body"]["events"]
    assert events[0] == {
        "comments": ["keep-alive"],
        "event": "thread.message.delta",
        "id": "42",
        "retry": "1500",
        "data": {"id": "msg_1", "delta": {"content": []}},
    }
    assert events[1]["data"] == "first line\n\n indented third"
    back = ReadableSerializer.deserialize(text)["interactions"][0]["response"]["body"]["string"]
    assert _decoded(back) == _decoded(STREAM)
    assert _decoded(back)[1] == ("note", "first line\n\n indented third", "42", None)
    assert back.startswith(": keep-alive\n")


def test_parse_follows_the_spec_on_field_forms() -> None:
    assert sse.parse("data\ndata:x\nevent:  two spaces\nother: dropped\n\n") == [
        {"data": "\nx", "event": " two spaces"}
    ]
    assert sse.parse(":only a comment\n\n") == [{"comments": ["only a comment"]}]
    blocks = sse.parse(STREAM)
    assert sse.parse(sse.encode(blocks)) == blocks
