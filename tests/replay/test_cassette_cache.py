"""Parsed cassettes are kept by content: parsed once, handed out afresh, re-recordings read anew."""

from __future__ import annotations

from typing import Any

import pytest

from asst_deploy.replay.cassette import ReadableSerializer
from asst_deploy.replay.cassette import format as cassette_format


def _cassette(reply: str) -> str:
    return ReadableSerializer.serialize(
        {
            "version": 1,
            "interactions": [
                {
                    "request": {
                        "method": "GET",
                        "uri": "https://assistants.invalid/v1/threads/t1",
                        "body": None,
                        "headers": {},
                    },
                    "response": {
                        "status": {"code": 200, "message": "OK"},
                        "headers": {"content-type": ["application/json"]},
                        "body": {"string": f'{{"reply":"{reply}"}}'},
                    },
                }
            ],
        }
    )


def test_the_same_text_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _cassette("parsed once")
    calls: list[str] = []
    real = cassette_format._parse

    def counted(found: str) -> dict[str, Any]:
        calls.append(found)
        return real(found)

    monkeypatch.setattr(cassette_format, "_parse", counted)
    first = ReadableSerializer.deserialize(text)
    second = ReadableSerializer.deserialize(text)
    assert first == second
    assert len(calls) == 1
    body = first["interactions"][0]["response"]["body"]["string"]
    assert body == '{"reply":"parsed once"}'


def test_what_vcrpy_changes_does_not_reach_the_next_reader() -> None:
    text = _cassette("kept apart")
    first = ReadableSerializer.deserialize(text)
    response = first["interactions"][0]["response"]
    response["body"]["string"] = response["body"]["string"].encode()  # as vcrpy does
    response["headers"].clear()
    again = ReadableSerializer.deserialize(text)["interactions"][0]["response"]
    assert again["body"]["string"] == '{"reply":"kept apart"}'
    assert again["headers"] == {"content-type": ["application/json"]}


def test_a_re_recorded_cassette_is_read_as_it_is_now() -> None:
    before = ReadableSerializer.deserialize(_cassette("before"))
    after = ReadableSerializer.deserialize(_cassette("after"))
    assert before["interactions"][0]["response"]["body"]["string"] == '{"reply":"before"}'
    assert after["interactions"][0]["response"]["body"]["string"] == '{"reply":"after"}'


def test_a_damaged_cassette_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(Exception, match="expected"):
            ReadableSerializer.deserialize("interactions: [unclosed\n")
