"""The stream consumer on real recorded streams; no credential reaches a cassette."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import openai
import pytest
import vcr
import yaml

from asst_deploy.conversation.stream import RunStream
from asst_deploy.replay import cassette
from tests.replay.conftest import REPO, Conv
from tests.shared import RECORDINGS, require

STREAMS = (
    "openllmetry__test_streaming_new_assistant.yaml",
    "ruby-openai__runs_streamed_create.yaml",
)


def _replayed_runs(name: str) -> list[RunStream]:
    """Every streamed run of a real recording, through the SDK and the harness's consumer."""
    path = RECORDINGS / name
    require(path, "a real recording")
    interactions = yaml.safe_load(path.read_text())["interactions"]
    threads = [
        re.search(r"/threads/(thread_\w+)/runs$", i["request"]["uri"])[1]  # type: ignore[index]
        for i in interactions
        if i["request"]["uri"].endswith("/runs")
        and "event-stream" in str(i["response"]["headers"].get("Content-Type"))
    ]
    folded = []
    recorder = vcr.VCR(
        record_mode="none", match_on=["method", "path"], decode_compressed_response=True
    )
    with (
        recorder.use_cassette(str(path)),
        openai.OpenAI(
            api_key="sk-test", base_url="https://api.openai.com/v1", max_retries=0
        ) as client,
    ):
        for thread_id in threads:
            run = RunStream()
            with client.beta.threads.runs.create(
                thread_id, assistant_id="asst_x", stream=True
            ) as events:
                for event in events:
                    run.feed(event.event, event.data.model_dump(mode="json"))
            folded.append(run)
    return folded


pytestmark = pytest.mark.filterwarnings(
    "ignore:The Assistants API is deprecated:DeprecationWarning"
)


def test_the_openllmetry_stream_completes_with_its_reply() -> None:
    (run,) = _replayed_runs(STREAMS[0])
    assert run.status == "completed"
    (message,) = run.message_list()
    assert message["content"][0]["text"]["value"]
    assert run.step_list()


def test_a_run_announced_completed_but_incomplete_is_incomplete() -> None:
    runs = _replayed_runs(STREAMS[1])
    assert len(runs) >= 2
    last = runs[-1]
    # the event said thread.run.completed; data.status says what happened
    assert last.status == "incomplete"
    assert last.run is not None and last.run["incomplete_details"] == {
        "reason": "max_prompt_tokens"
    }
    text = last.message_list()[0]["content"][0]["text"]["value"]
    assert text == "Sure, I can help with writing Ruby code. However, as an AI"
    assert "".join(last.deltas[last.message_list()[0]["id"]]) == text


def test_deltas_fill_a_message_that_never_completed() -> None:
    run = RunStream()
    run.feed("thread.message.created", {"id": "m", "role": "assistant", "content": []})
    run.feed("thread.message.delta", {"id": "m", "delta": {"content": [{"text": {"value": "Hi"}}]}})
    run.feed("thread.message.delta", {"id": "m", "delta": {"content": [{"text": {"value": "!"}}]}})
    assert run.message_list()[0]["content"][0]["text"]["value"] == "Hi!"


# --- credentials ---------------------------------------------------------------------------

CREDENTIAL_HEADERS = re.compile(
    r"^\s*(authorization|proxy-authorization|api-key|x-api-key|openai-organization|"
    r"openai-project|cookie|set-cookie)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
CREDENTIAL_VALUES = re.compile(
    r"sk-[A-Za-z0-9_-]{8,}|Bearer\s+\S+|SECRETORG|SECRETPROJ|sandbox-key"
)


def _scan(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        text = path.read_text()
        found += [f"{path}: header {m.group(1)}" for m in CREDENTIAL_HEADERS.finditer(text)]
        found += [f"{path}: value {m.group(0)[:12]}" for m in CREDENTIAL_VALUES.finditer(text)]
    return found


def test_recorded_and_committed_cassettes_hold_no_credentials(conv: Conv) -> None:
    # the test project's target sends an organization and a project header, and a key
    conv.script(
        "secret",
        """
        assistant: bot
        conversations:
          - name: keys
            turns: [{user: "my key is sk-live0123456789abcdef, hi", expect: {contains: Hello}}]
        """,
    )
    conv.run("--asst-mode", "record").assert_outcomes(passed=1)
    written = list((conv.path / "conversations" / "cassettes").rglob("*.yaml"))
    committed = list((REPO / "specs" / "conversations" / "cassettes").rglob("*.yaml"))
    assert written and len(committed) >= 5
    assert _scan(written + committed) == []
    text = written[0].read_text()
    assert "<redacted>" in text and "127.0.0.1" not in text and str(conv.path) not in text


def test_a_turn_after_a_run_that_ended_asks_nothing_of_the_thread_first(conv: Conv) -> None:
    conv.script(
        "two",
        """
        assistant: bot
        conversations:
          - name: turns
            turns: [{user: hi, expect: {status: completed}}, {user: again}, {user: bye}]
        """,
    )
    conv.run("--asst-mode", "record").assert_outcomes(passed=1)
    (written,) = (conv.path / "conversations" / "cassettes").rglob("*.yaml")
    requests = [
        (i["request"]["method"], i["request"]["uri"].split("/v1/")[1])
        for i in yaml.safe_load(written.read_text())["interactions"]
    ]
    # a run seen completed leaves the thread free: no listing of its runs between turns
    assert [m for m, uri in requests if uri.endswith("/messages")] == ["POST"] * 3
    assert not [uri for m, uri in requests if m == "GET" and "/runs" in uri], requests
    conv.run("--asst-mode", "replay").assert_outcomes(passed=1)


def test_response_scrubbing_keeps_an_allow_list() -> None:
    response = {
        "headers": {
            "Set-Cookie": ["__cf_bm=abc"],
            "openai-organization": ["org-x"],
            "openai-project": ["proj_x"],
            "Content-Type": ["application/json"],
            "openai-poll-after-ms": ["500"],
        },
        "body": {"string": b'{"key": "sk-abcdefghijklmnop"}'},
    }
    scrubbed = cassette._scrub_response(response)
    assert scrubbed["headers"] == {
        "content-type": ["application/json"],
        "openai-poll-after-ms": ["0"],
    }
    assert scrubbed["body"]["string"] == b'{"key": "<redacted>"}'


def test_the_plugin_loads_without_the_network_stack() -> None:
    probe = "import sys, asst_deploy.replay.plugin; print(sorted(m for m in ('openai', 'httpx2', 'vcr', 'asst_deploy.replay.harness') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
