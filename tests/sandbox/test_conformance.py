"""The conformance checker itself: operation lookup, tolerated differences, real failures."""

from __future__ import annotations

import copy
import json
from typing import Any

from asst_deploy.sandbox.faults import LoggedRequest
from tests.sandbox.conftest import OpenAPIConformance
from tests.shared import OPENAPI


def entry(method: str, path: str, status: int, body: object) -> LoggedRequest:
    return LoggedRequest(
        method=method,
        path=path,
        route=None,
        query="",
        status=status,
        fault=None,
        duration_ms=0.0,
        request_id="req_x",
        content_type="application/json",
        body=json.dumps(body).encode(),
    )


def test_the_tolerated_differences_are_exactly_these(openapi: Any) -> None:
    assert sorted(openapi.differences) == [
        "embedding_base64",
        "empty_page_null_cursors",
        "event_stream_content_type",
        "file_batch_object_name",
        "file_content_bytes",
        "file_status_details_null",
        "message_status_fields_omitted",
        "response_404_wrapped",
        "response_deleted_body",
        "response_usage_null_until_done",
        "run_extra_fields",
        "run_step_expires_at",
        "vector_store_expires_after_null",
    ]


def test_operation_lookup_prefers_literal_segments(openapi: Any) -> None:
    assert openapi.operation("POST", "/v1/threads/runs") == "/threads/runs"
    assert openapi.operation("POST", "/v1/threads/thread_1/runs") == "/threads/{thread_id}/runs"
    assert openapi.operation("GET", "/v1/vector_stores/vs_1/files/file-1") == (
        "/vector_stores/{vector_store_id}/files/{file_id}"
    )
    assert openapi.operation("GET", "/v1/nowhere") is None


def test_recorded_real_objects_pass(openapi: Any) -> None:
    batch = {
        "id": "vsfb_1",
        "object": "vector_store.file_batch",
        "created_at": 1,
        "status": "in_progress",
        "vector_store_id": "vs_1",
        "file_counts": {"in_progress": 1, "completed": 0, "failed": 0, "cancelled": 0, "total": 1},
    }
    assert (
        openapi.problems(entry("GET", "/v1/vector_stores/vs_1/file_batches/vsfb_1", 200, batch))
        == []
    )
    empty = {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    assert openapi.problems(entry("GET", "/v1/vector_stores/vs_1/files", 200, empty)) == []


def test_departures_are_caught(openapi: Any) -> None:
    bad_file = {"object": "file", "id": "file-1", "bytes": "12", "created_at": 1, "filename": "a"}
    problems = openapi.problems(entry("GET", "/v1/files/file-1", 200, bad_file))
    assert any("'purpose' is a required property" in p for p in problems)
    assert any("'12' is not of type 'integer'" in p for p in problems)
    assert openapi.problems(entry("GET", "/v1/files", 404, {"error": {"message": "x"}}))
    assert openapi.problems(entry("GET", "/v1/nowhere", 200, {})) == [
        "GET /v1/nowhere -> 200: no operation in the spec"
    ]


def test_each_difference_still_applies_to_the_spec(openapi: Any) -> None:
    # each patch still finds its target in the file as published (the fixture's spec is
    # patched already) and changes it: one that changes nothing is stale, the spec moved
    pristine = OpenAPIConformance(OPENAPI, differences={}).spec
    for name, difference in openapi.differences.items():
        if difference.patch.__name__ == "_no_patch" and difference.spec_patch is None:
            continue  # recorded for readers only: the spec already allows it
        schemas = copy.deepcopy(pristine["components"]["schemas"])
        difference.patch(schemas)
        changed = schemas != pristine["components"]["schemas"]
        if difference.spec_patch is not None:
            spec = copy.deepcopy(pristine)
            difference.spec_patch(spec)
            changed = changed or spec != pristine
        assert changed, f"{name}: its patch changes nothing in openapi.yaml"


def sse(*events: tuple[str, object]) -> LoggedRequest:
    text = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    return LoggedRequest(
        method="POST",
        path="/v1/responses",
        route=None,
        query="",
        status=200,
        fault=None,
        duration_ms=0.0,
        request_id="req_x",
        content_type="text/event-stream; charset=utf-8",
        body=text.encode(),
    )


def test_streamed_events_are_checked_against_their_union_member(openapi: Any) -> None:
    done = {"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0}
    done |= {"content_index": 0, "text": "hi", "logprobs": [], "sequence_number": 3}
    assert openapi.problems(sse(("response.output_text.done", done))) == []
    problems = openapi.problems(
        sse(
            ("response.output_text.done", {**done, "text": 1}),
            ("response.output_text.delta", done),
            ("response.nonsense", {"type": "response.nonsense"}),
        )
    )
    assert problems == [
        "POST /v1/responses -> 200: event 0 (response.output_text.done): 1 is not of type "
        "'string' at text",
        "POST /v1/responses -> 200: event 1 says 'response.output_text.delta', data "
        "'response.output_text.done'",
        "POST /v1/responses -> 200: event 2: no event type 'response.nonsense' in the spec",
    ]
