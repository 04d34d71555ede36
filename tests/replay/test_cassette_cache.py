"""Parsed cassettes are kept by content: parsed once, handed out afresh, re-recordings read anew."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asst_deploy import speccache
from asst_deploy.replay.cassette import ReadableSerializer, parsed
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


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No parse kept in this process (as in a new run); the parses made, counted."""
    from collections import OrderedDict

    monkeypatch.setattr(cassette_format, "_parsed", OrderedDict())
    calls: list[str] = []
    real = cassette_format._parse

    def counted(found: str) -> dict[str, Any]:
        calls.append(found)
        return real(found)

    monkeypatch.setattr(cassette_format, "_parse", counted)
    return calls


def test_the_same_text_is_parsed_once(fresh_process: list[str]) -> None:
    text = _cassette("parsed once")
    first = ReadableSerializer.deserialize(text)
    second = ReadableSerializer.deserialize(text)
    assert first == second
    assert len(fresh_process) == 1
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


# ---- kept on disk, for the next run ------------------------------------------------------


def _entry(text: str) -> Path:
    return parsed._folder() / parsed.name_of(text)


def test_a_later_run_reads_the_parse_back_from_disk(
    fresh_process: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _cassette("kept on disk")
    first = ReadableSerializer.deserialize(text)
    assert len(fresh_process) == 1 and _entry(text).is_file()
    monkeypatch.setattr(cassette_format, "_parsed", type(cassette_format._parsed)())
    assert ReadableSerializer.deserialize(text) == first
    assert len(fresh_process) == 1  # read back, not parsed
    # another text (a re-recording) is another entry, parsed anew
    ReadableSerializer.deserialize(_cassette("re-recorded"))
    assert len(fresh_process) == 2


@pytest.mark.parametrize("damage", ["another machine key", "a changed byte", "cut short"])
def test_an_entry_not_made_here_or_damaged_is_parsed_again(
    fresh_process: list[str], monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    text = _cassette(f"damaged: {damage}")
    expected = ReadableSerializer.deserialize(text)
    entry = _entry(text)
    raw = entry.read_bytes()
    if damage == "another machine key":
        monkeypatch.setattr(speccache, "machine_key", lambda: b"k" * 32)
    elif damage == "a changed byte":
        entry.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    else:
        entry.write_bytes(raw[: len(raw) // 2])
    monkeypatch.setattr(cassette_format, "_parsed", type(cassette_format._parsed)())
    assert ReadableSerializer.deserialize(text) == expected
    assert len(fresh_process) == 2


def test_without_a_writable_cache_folder_replay_still_reads(
    fresh_process: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    text = _cassette("nowhere to keep it")
    assert ReadableSerializer.deserialize(text)["interactions"]
    monkeypatch.setattr(cassette_format, "_parsed", type(cassette_format._parsed)())
    assert ReadableSerializer.deserialize(text)["interactions"]
    assert len(fresh_process) == 2  # parsed each time, and no error
