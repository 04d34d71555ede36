"""A cassette that cannot be read is named, with its line, and re-recording is the advice
(issue 26, cases 40 and 42): not "stale", not the assistant's behaviour, not a request
"JSON cannot carry"; one too large is refused before it is read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from vcr.request import Request

from asst_deploy import limits
from asst_deploy.replay import cassette
from tests.replay.agents import make_project
from tests.replay.conftest import Conv

SCRIPT = """
assistant: bot
env: agents
conversations:
  - name: hello
    turns:
      - user: hi
        expect: {contains: Hello}
"""
TAPE = "conversations/cassettes/agents/chat/hello.yaml"
ADVICE = "restore it from git, or delete it and record it again with --asst-mode record"


@pytest.fixture(scope="module")
def agents_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("agents-project"))


@pytest.fixture
def recorded(
    pytester: pytest.Pytester, agents_project: Path, monkeypatch: pytest.MonkeyPatch
) -> Conv:
    """An agents project with one conversation recorded (streamed)."""
    shutil.copytree(agents_project, pytester.path, dirs_exist_ok=True)
    for name in ("CI", "ASST_DEPLOY_MODE"):
        monkeypatch.delenv(name, raising=False)
    conv = Conv(pytester)
    conv.script("chat", SCRIPT)
    conv.run("--asst-mode", "record").assert_outcomes(passed=1)
    return conv


def stream_of(data: dict) -> dict:  # type: ignore[type-arg]
    """The recorded event stream's response body (the one interaction with events)."""
    (body,) = [
        i["response"]["body"] for i in data["interactions"] if "events" in i["response"]["body"]
    ]
    return body  # type: ignore[no-any-return]


def replayed_unreadable(conv: Conv, what: str) -> None:
    result = conv.run("--asst-mode", "replay")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*cassette {TAPE} cannot be read ({what}*{ADVICE}*"])
    out = result.stdout.str()
    assert "Traceback" not in out and "is stale" not in out and "JSON cannot carry" not in out
    assert "ended in_progress" not in out and len(result.outlines) < 40


def line_of(text: str, needle: str, after: str = "") -> int:
    """The line of `needle` (the first after a line `after`)."""
    lines = text.splitlines()
    start = lines.index(after) if after else 0
    return lines.index(needle, start) + 1


def test_a_truncated_stream_is_an_unreadable_cassette_at_its_line(recorded: Conv) -> None:
    path = recorded.path / TAPE
    data = yaml.safe_load(path.read_text())
    body = stream_of(data)
    body["events"] = body["events"][:3]  # cut after the third event
    last = body["events"][-1]["event"]
    text = yaml.safe_dump(data, sort_keys=False)
    path.write_text(text)
    line = line_of(text, "      - event: agent.session.turn.created", "      events:")
    replayed_unreadable(
        recorded, f"line {line}: the event stream ends after event '{last}', before the turn did"
    )


def test_non_json_stream_data_is_an_unreadable_cassette_at_its_line(recorded: Conv) -> None:
    path = recorded.path / TAPE
    data = yaml.safe_load(path.read_text())
    stream_of(data)["events"][1]["data"] = "{not json"
    text = yaml.safe_dump(data, sort_keys=False)
    path.write_text(text)
    line = line_of(text, "        data: '{not json'")
    replayed_unreadable(
        recorded, f"line {line}: event 2 of the stream has data that is not JSON ('{{not json')"
    )


def test_a_cassette_that_is_not_utf8_is_unreadable_not_stale(recorded: Conv) -> None:
    path = recorded.path / TAPE
    lines = path.read_bytes().split(b"\n")
    lines[6] += b" \xff\xfe"
    path.write_bytes(b"\n".join(lines))
    replayed_unreadable(recorded, "line 7: not UTF-8 text (byte 0xff)")


def test_a_cassette_over_the_size_limit_is_refused_before_it_is_read(
    recorded: Conv, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = (recorded.path / TAPE).stat().st_size
    monkeypatch.setattr(limits, "CASSETTE_MAX_BYTES", size - 1)
    replayed_unreadable(recorded, f"{size:,} bytes, over the {size - 1:,}")


def test_the_size_limit_is_checked_without_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: no 64 MiB are written, nor read
        handle.truncate(limits.CASSETTE_MAX_BYTES + 1)
    assert limits.CASSETTE_MAX_BYTES == 64 * 2**20
    assert cassette.preflight(huge) == (
        f"{limits.CASSETTE_MAX_BYTES + 1:,} bytes, over the {limits.CASSETTE_MAX_BYTES:,} "
        "(64 MiB) asst-deploy reads"
    )


def test_a_stream_the_recording_went_on_from_by_polling_is_no_damage() -> None:
    # a connection that broke while recording: the stream stops short, the client polls
    headers = {"content-type": ["text/event-stream"]}
    cut = {"headers": headers, "body": {"string": "event: thread.run.created\ndata: {}\n\n"}}
    done = {"headers": headers, "body": {"string": "event: done\ndata: [DONE]\n\n"}}
    answer = {"headers": {}, "body": {"string": "{}"}}
    get, post = Request("GET", "https://x/v1/r", "", {}), Request("POST", "https://x/v1/r", "", {})
    assert cassette._stream_problem([(post, cut), (get, answer)]) is None
    assert cassette._stream_problem([(post, done), (post, answer)]) is None
    (index, event, why) = cassette._stream_problem([(post, cut), (post, answer)])  # type: ignore[misc]
    assert (index, event) == (0, None) and "ends after event 'thread.run.created'" in why
