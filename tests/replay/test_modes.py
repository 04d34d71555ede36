"""Live, record and replay: the same verdicts, replay offline and without sleeping."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from asst_deploy.replay.items import resolve_mode
from tests.replay.conftest import Conv

SCRIPT = """
assistant: bot
functions:
  get_weather: {output: {temp: 18}}
  get_time: {output: noon}
conversations:
  - name: three-turns
    turns:
      - user: hi
        expect: {contains: Hello}
      - user: weather and time in Oslo
        expect: {tool_call_count: 2, contains: noon}
      - user: compute it
        expect: {code_interpreter: true}
  - name: polled
    streaming: false
    turns:
      - user: weather in Paris
        expect: {contains: '"temp": 18'}
  - name: cited
    turns:
      - user: Are refunds possible?
        attachments: [{file: knowledge/policy.md, tools: [file_search]}]
        expect: {citations: [policy.md]}
  - name: fails
    turns:
      - user: hi
        expect: {contains: Goodbye}
"""
VERDICT = {"passed": 3, "failed": 1}


def _record(conv: Conv) -> None:
    conv.script("modes", SCRIPT)
    conv.run("--asst-mode", "record").assert_outcomes(**VERDICT)


def test_live_writes_no_cassette(conv: Conv) -> None:
    conv.script("modes", SCRIPT)
    conv.run("--asst-mode", "live").assert_outcomes(**VERDICT)
    assert not (conv.path / "conversations" / "cassettes").exists()


def test_streaming_and_polling_give_the_same_verdicts(
    conv: Conv, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv.script("modes", SCRIPT)
    conv.run("--asst-mode", "live", "--asst-runs", "stream").assert_outcomes(**VERDICT)
    # polling the built-in sandbox skips its waits (their time is the sandbox's): no poll
    # interval is slept for real, yet every run is seen to its end
    slept: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    conv.run("--asst-mode", "live", "--asst-runs", "poll").assert_outcomes(**VERDICT)
    assert [s for s in slept if s >= 0.1] == []


def test_record_then_replay_offline_without_sleeping(
    conv: Conv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(conv)
    cassettes = sorted(p.name for p in (conv.path / "conversations/cassettes/modes").iterdir())
    assert cassettes == ["cited.yaml", "fails.yaml", "polled.yaml", "three-turns.yaml"]
    # the sandbox of the recording is stopped (its pytest run ended); now no socket at all
    # and no sleep: both raise if anything tries
    opened: list[object] = []
    slept: list[float] = []

    def no_socket(*args: object, **kwargs: object) -> None:
        opened.append(args)
        raise AssertionError("replay opened a socket")

    def no_sleep(seconds: float) -> None:
        slept.append(seconds)
        raise AssertionError("replay slept")

    monkeypatch.setattr(socket, "socket", no_socket)
    monkeypatch.setattr(socket, "create_connection", no_socket)
    monkeypatch.setattr(time, "sleep", no_sleep)
    result = conv.run("--asst-mode", "replay")
    monkeypatch.undo()
    result.assert_outcomes(**VERDICT)
    assert opened == [] and slept == []
    result.stdout.fnmatch_lines(["*conversation 'fails', turn 1, expectation 'contains'*"])


def test_replay_is_the_default_on_ci_and_needs_a_cassette(
    conv: Conv, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv.script("modes", SCRIPT)
    monkeypatch.setenv("CI", "true")
    result = conv.run("-k", "polled")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*no cassette at conversations/cassettes/modes/polled.yaml for conversation 'polled'; "
            "record it with --asst-mode record*"
        ]
    )


def test_mode_precedence() -> None:
    assert resolve_mode("record", {"CI": "true", "ASST_DEPLOY_MODE": "live"}) == "record"
    assert resolve_mode(None, {"CI": "true", "ASST_DEPLOY_MODE": "live"}) == "live"
    assert resolve_mode(None, {"CI": "true"}) == "replay"
    assert resolve_mode(None, {"CI": "false"}) == "live"
    assert resolve_mode(None, {}) == "live"


def test_changed_instructions_make_the_cassette_stale(conv: Conv) -> None:
    _record(conv)
    spec = conv.path / "assistants" / "bot.yaml"
    spec.write_text(spec.read_text().replace("Be brief.", "Be verbose."))
    result = conv.run("--asst-mode", "replay", "-k", "polled")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*cassette conversations/cassettes/modes/polled.yaml is stale: it was recorded "
            "against spec fingerprint * and the assistant's spec*now hashes to *; re-record it "
            "with --asst-mode record*"
        ]
    )


def test_an_edited_cassette_request_fails_naming_the_turn(conv: Conv) -> None:
    _record(conv)
    cassette = conv.path / "conversations/cassettes/modes/three-turns.yaml"
    text = cassette.read_text()
    assert "content: compute it" in text
    cassette.write_text(text.replace("content: compute it", "content: compute that"))
    result = conv.run("--asst-mode", "replay", "-k", "three")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*conversation 'three-turns', turn 3: replay does not match the cassette "
            "conversations/cassettes/modes/three-turns.yaml",
            "the request is not in the cassette: POST /v1/threads/*/messages *compute it*",
            "closest recorded request (#*): POST /v1/threads/*/messages *compute that*",
            "  json_body differs: content: sent 'compute it', recorded 'compute that'",
        ]
    )


@pytest.mark.e2e  # runs the suite in xdist workers: its own CI step
def test_replay_in_parallel_with_junit(conv: Conv) -> None:
    _record(conv)
    result = conv.run("--asst-mode", "replay", "-n", "2", "--junitxml", "junit.xml")
    result.assert_outcomes(**VERDICT)
    report = (conv.path / "junit.xml").read_text()
    assert 'name="three-turns"' in report and "turn 1, expectation" in report


def test_repeat_reports_the_observed_pass_rate(conv: Conv) -> None:
    conv.script(
        "rates",
        """
        assistant: bot
        repeat: 3
        pass_rate: 0.5
        conversations:
          - name: steady
            turns: [{user: hi, expect: {contains: Hello}}]
          - name: never
            repeat: 2
            pass_rate: 1
            turns: [{user: hi, expect: {contains: Nope}}]
        """,
    )
    result = conv.run("--asst-mode", "live")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*conversation pass rates*",
            "conversations/rates.conv.yaml::steady: 3/3 passed (100%; required 50%)",
            "conversations/rates.conv.yaml::never: 0/2 passed (0%; required 100%)",
        ]
    )
    result.stdout.fnmatch_lines(["passed 0 of 2 runs (0%; required 100%)"])


def test_an_assistant_not_deployed_says_to_apply(conv: Conv) -> None:
    (conv.path / "assistants" / "extra.yaml").write_text(
        "kind: assistant\nkey: extra\nmodel: gpt-4o-mini\n"
    )
    conv.script("extra", "assistant: extra\nconversations: [{name: a, turns: [{user: hi}]}]\n")
    result = conv.run("--asst-mode", "live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*assistant 'extra' of project 'replaytest' is not deployed on target 'sandbox'; "
            "run `asst-deploy apply` first*"
        ]
    )


def test_committed_example_cassettes_replay(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "asst_deploy",
            "test",
            "specs/conversations",
            "--mode",
            "replay",
            "--junitxml",
            str(tmp_path / "junit.xml"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_pytest_recording_names_are_aliases() -> None:
    assert resolve_mode("none", {}) == "replay"
    assert resolve_mode("rewrite", {}) == "record"
    assert resolve_mode(None, {"ASST_DEPLOY_MODE": "rewrite"}) == "record"
    assert resolve_mode("once", {"CI": "true"}) == "once"


def test_once_records_what_is_missing_and_never_overwrites(conv: Conv) -> None:
    conv.script("modes", SCRIPT)
    folder = conv.path / "conversations/cassettes/modes"
    conv.run("--asst-mode", "once", "-k", "polled").assert_outcomes(passed=1)
    assert sorted(p.name for p in folder.iterdir()) == ["polled.yaml"]
    polled = folder / "polled.yaml"
    before = (polled.read_bytes(), polled.stat().st_mtime_ns)
    conv.run("--asst-mode", "once").assert_outcomes(**VERDICT)
    assert sorted(p.name for p in folder.iterdir()) == [
        "cited.yaml",
        "fails.yaml",
        "polled.yaml",
        "three-turns.yaml",
    ]
    assert (polled.read_bytes(), polled.stat().st_mtime_ns) == before
    # and pytest-recording's `none` replays what `once` wrote
    conv.run("--asst-mode", "none").assert_outcomes(**VERDICT)
