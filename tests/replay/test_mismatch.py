"""A replay mismatch names every difference between the sent and the closest recorded body."""

from __future__ import annotations

import json
from types import SimpleNamespace

from vcr import matchers
from vcr.request import Request

from asst_deploy.replay import cassette

URI = "https://assistants.invalid/v1/threads/thread_1/runs"


def _request(body: dict[str, object]) -> Request:
    return Request("POST", URI, json.dumps(body), {"content-type": "application/json"})


SENT = {"assistant_id": "asst_1", "temperature": 0.2, "tools": [{"type": "code_interpreter"}]}
RECORDED = {
    "assistant_id": "asst_2",
    "tools": [{"type": "file_search"}],
    "metadata": {"turn": "3"},
}


def test_the_explanation_lists_every_difference() -> None:
    miss = SimpleNamespace(
        failed_request=_request(SENT),
        cassette=SimpleNamespace(
            filter_request=lambda r: r,
            data=[(_request(RECORDED), None)],
            play_counts={0: 0},
            _match_on=(matchers.method, matchers.path, matchers.query, cassette.json_body),
        ),
    )
    lines = cassette.explain(miss).splitlines()  # type: ignore[arg-type]
    assert lines[1].startswith("closest recorded request (#1): POST /v1/threads/thread_1/runs")
    assert lines[2:] == [
        "  json_body differs: assistant_id: sent 'asst_1', recorded 'asst_2'",
        "  json_body differs: 'metadata' is only in the recorded request",
        "  json_body differs: 'temperature' is only in the sent request",
        "  json_body differs: tools.0.type: sent 'code_interpreter', recorded 'file_search'",
    ]


def test_equal_bodies_match_without_deepdiff() -> None:
    assert cassette._differences(SENT, dict(SENT)) == []
    assert cassette._differences([1, 2], [1, 2, 3]) == ["'2' is only in the recorded request"]
