"""Request validation: every rule answers the real status, code, param and wording."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from asst_deploy.sandbox.server import SandboxServer


@pytest.fixture
def http(server: SandboxServer, api_key: str) -> Iterator[httpx2.Client]:
    headers = {"Authorization": f"Bearer {api_key}", "OpenAI-Beta": "assistants=v2"}
    with httpx2.Client(base_url=server.base_url, headers=headers) as c:
        yield c


def error_of(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    return dict(error)


@pytest.fixture(scope="module")
def store_id(server: SandboxServer) -> str:
    with httpx2.Client(base_url=server.base_url) as c:
        return str(c.post("/vector_stores", json={"name": "validation"}).json()["id"])


M = {"model": "gpt-4o"}
FN = {"type": "function", "function": {"name": "ok"}}

ASSISTANT_CASES = [
    ({}, "model", "missing_required_parameter", "Missing required parameter: 'model'."),
    ({**M, "colour": 1}, "colour", "unknown_parameter", "Unknown parameter: 'colour'."),
    (
        {**M, "name": 5},
        "name",
        "invalid_type",
        "Invalid type for 'name': expected a string, but got an integer instead.",
    ),
    (
        {**M, "temperature": "hot"},
        "temperature",
        "invalid_type",
        "Invalid type for 'temperature': expected a number, but got a string instead.",
    ),
    (
        {**M, "temperature": 2.5},
        "temperature",
        "decimal_above_max_value",
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.",
    ),
    (
        {**M, "temperature": -1},
        "temperature",
        "decimal_below_min_value",
        "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got -1 instead.",
    ),
    (
        {**M, "top_p": 1.5},
        "top_p",
        "decimal_above_max_value",
        "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got 1.5 instead.",
    ),
    (
        {**M, "name": "n" * 257},
        "name",
        "string_above_max_length",
        "Invalid 'name': string too long. Expected a string with maximum length 256, "
        "but got a string with length 257 instead.",
    ),
    ({**M, "description": "d" * 513}, "description", "string_above_max_length", None),
    ({**M, "instructions": "i" * 256_001}, "instructions", "string_above_max_length", None),
    (
        {**M, "tools": [{"type": "code_interpreter"}] * 129},
        "tools",
        "array_above_max_length",
        "Invalid 'tools': array too long. Expected an array with maximum length 128, "
        "but got an array with length 129 instead.",
    ),
    (
        {**M, "tools": [{"type": "browser"}]},
        "tools[0].type",
        "invalid_value",
        "Invalid value: 'browser'. Supported values are: 'code_interpreter', 'file_search', "
        "and 'function'.",
    ),
    ({**M, "tools": [{}]}, "tools[0].type", "missing_required_parameter", None),
    (
        {**M, "tools": [{"type": "function", "function": {"name": "has space"}}]},
        "tools[0].function.name",
        "invalid_value",
        "Invalid 'tools[0].function.name': string does not match pattern. Expected a string "
        "that matches the pattern '^[a-zA-Z0-9_-]+$'.",
    ),
    (
        {**M, "tools": [{"type": "function", "function": {"name": "f" * 65}}]},
        "tools[0].function.name",
        "string_above_max_length",
        None,
    ),
    (
        {**M, "tools": [FN, {"type": "function"}]},
        "tools[1].function",
        "missing_required_parameter",
        None,
    ),
    (
        {**M, "tools": [{"type": "file_search", "file_search": {"max_num_results": 51}}]},
        "tools[0].file_search.max_num_results",
        "integer_above_max_value",
        "Invalid 'tools[0].file_search.max_num_results': integer above maximum value. "
        "Expected a value <= 50, but got 51 instead.",
    ),
    (
        {**M, "tools": [{"type": "file_search", "file_search": {"max_num_results": 0}}]},
        "tools[0].file_search.max_num_results",
        "integer_below_min_value",
        None,
    ),
    (
        {**M, "metadata": {f"k{i}": "v" for i in range(17)}},
        "metadata",
        "object_above_max_properties",
        "Invalid 'metadata': too many properties. Expected an object with at most 16 "
        "properties, but got an object with 17 properties instead.",
    ),
    ({**M, "metadata": {"k" * 65: "v"}}, "metadata." + "k" * 65, "string_above_max_length", None),
    (
        {**M, "metadata": {"k": "v" * 513}},
        "metadata.k",
        "string_above_max_length",
        "Invalid 'metadata.k': string too long. Expected a string with maximum length 512, "
        "but got a string with length 513 instead.",
    ),
    (
        {**M, "metadata": {"modified": True}},
        "metadata.modified",
        "invalid_type",
        "Invalid type for 'metadata.modified': expected a string, but got a boolean instead.",
    ),
    (
        {**M, "response_format": "yaml"},
        "response_format",
        "invalid_value",
        "Invalid value: 'yaml'. Supported values are: 'auto'.",
    ),
    (
        {**M, "response_format": {"type": "json_schema", "json_schema": {"name": "bad name"}}},
        "response_format.json_schema.name",
        "invalid_value",
        None,
    ),
    (
        {**M, "tool_resources": {"code_interpreter": {"file_ids": ["f"] * 21}}},
        "tool_resources.code_interpreter.file_ids",
        "array_above_max_length",
        None,
    ),
    (
        {**M, "tool_resources": {"file_search": {"vector_store_ids": ["a", "b"]}}},
        "tool_resources.file_search.vector_store_ids",
        "array_above_max_length",
        None,
    ),
]


@pytest.mark.parametrize(("body", "param", "code", "message"), ASSISTANT_CASES)
def test_assistant_bodies(
    http: httpx2.Client, body: Any, param: str, code: str, message: str | None
) -> None:
    error = error_of(http.post("/assistants", json=body))
    assert (error["param"], error["code"]) == (param, code)
    if message is not None:
        assert error["message"] == message


STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}

STORE_CASES = [
    (
        {"expires_after": {"anchor": "last_active_at", "days": 366}},
        "expires_after.days",
        "integer_above_max_value",
    ),
    (
        {"expires_after": {"anchor": "last_active_at", "days": 0}},
        "expires_after.days",
        "integer_below_min_value",
    ),
    (
        {"expires_after": {"anchor": "created_at", "days": 1}},
        "expires_after.anchor",
        "invalid_value",
    ),
    ({"expires_after": {"days": 1}}, "expires_after.anchor", "missing_required_parameter"),
    ({"file_ids": ["f"] * 501}, "file_ids", "array_above_max_length"),
    ({"chunking_strategy": {"type": "auto"}}, "chunking_strategy", "invalid_value"),
    (
        {
            "file_ids": ["x"],
            "chunking_strategy": {
                "type": "static",
                "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0},
            },
        },
        "chunking_strategy.static.max_chunk_size_tokens",
        "integer_below_min_value",
    ),
    (
        {
            "file_ids": ["x"],
            "chunking_strategy": {
                "type": "static",
                "static": {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0},
            },
        },
        "chunking_strategy.static.max_chunk_size_tokens",
        "integer_above_max_value",
    ),
    (
        {
            "file_ids": ["x"],
            "chunking_strategy": {
                "type": "static",
                "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 401},
            },
        },
        "chunking_strategy.static.chunk_overlap_tokens",
        "invalid_value",
    ),
    (
        {"file_ids": ["x"], "chunking_strategy": {"type": "static"}},
        "chunking_strategy.static",
        "missing_required_parameter",
    ),
    (
        {"file_ids": ["x"], "chunking_strategy": {"type": "fixed"}},
        "chunking_strategy.type",
        "invalid_value",
    ),
    ({"name": ["list"]}, "name", "invalid_type"),
]


@pytest.mark.parametrize(("body", "param", "code"), STORE_CASES)
def test_vector_store_bodies(http: httpx2.Client, body: Any, param: str, code: str) -> None:
    error = error_of(http.post("/vector_stores", json=body))
    assert (error["param"], error["code"]) == (param, code)


def test_overlap_of_exactly_half_is_allowed(http: httpx2.Client) -> None:
    file_id = http.post(
        "/files", files={"file": ("a.txt", b"x")}, data={"purpose": "assistants"}
    ).json()["id"]
    answer = http.post("/vector_stores", json={"file_ids": [file_id], "chunking_strategy": STATIC})
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "param", "code"),
    [
        ("/files", {}, "file_id", "missing_required_parameter"),
        ("/files", {"file_id": "f", "attributes": {"k": [1]}}, "attributes.k", "invalid_type"),
        (
            "/files",
            {"file_id": "f", "attributes": {f"k{i}": 1 for i in range(17)}},
            "attributes",
            "object_above_max_properties",
        ),
        (
            "/files",
            {"file_id": "f", "attributes": {"k": "v" * 513}},
            "attributes.k",
            "string_above_max_length",
        ),
        ("/file_batches", {}, "file_ids", "missing_required_parameter"),
        ("/file_batches", {"file_ids": []}, "file_ids", "empty_array"),
        ("/file_batches", {"file_ids": ["f"] * 2001}, "file_ids", "array_above_max_length"),
        (
            "/file_batches",
            {"file_ids": ["f"], "files": [{"file_id": "f"}]},
            "files",
            "invalid_value",
        ),
        ("/search", {}, "query", "missing_required_parameter"),
        ("/search", {"query": 3}, "query", "invalid_type"),
        (
            "/search",
            {"query": "q", "max_num_results": 51},
            "max_num_results",
            "integer_above_max_value",
        ),
        (
            "/search",
            {"query": "q", "max_num_results": 0},
            "max_num_results",
            "integer_below_min_value",
        ),
        (
            "/search",
            {"query": "q", "filters": {"type": "like", "key": "k", "value": 1}},
            "filters.type",
            "invalid_value",
        ),
        (
            "/search",
            {"query": "q", "filters": {"type": "and", "filters": [{"type": "eq", "key": "k"}]}},
            "filters.filters[0].value",
            "missing_required_parameter",
        ),
        (
            "/search",
            {"query": "q", "ranking_options": {"score_threshold": 2}},
            "ranking_options.score_threshold",
            "decimal_above_max_value",
        ),
    ],
)
def test_vector_store_child_bodies(
    http: httpx2.Client, store_id: str, path: str, body: Any, param: str, code: str
) -> None:
    error = error_of(http.post(f"/vector_stores/{store_id}{path}", json=body))
    assert (error["param"], error["code"]) == (param, code)


@pytest.mark.parametrize(
    ("query", "param", "code"),
    [
        ("limit=0", "limit", "integer_below_min_value"),
        ("limit=101", "limit", "integer_above_max_value"),
        ("limit=ten", "limit", "invalid_type"),
        ("order=up", "order", "invalid_value"),
    ],
)
def test_list_parameters(http: httpx2.Client, query: str, param: str, code: str) -> None:
    for path in ("/assistants", "/vector_stores"):
        error = error_of(http.get(f"{path}?{query}"))
        assert (error["param"], error["code"]) == (param, code)


def test_vector_store_file_filter_values(http: httpx2.Client, store_id: str) -> None:
    error = error_of(http.get(f"/vector_stores/{store_id}/files?filter=done"))
    assert error["message"] == (
        "Invalid value: 'done'. Supported values are: 'in_progress', 'completed', 'failed', and 'cancelled'."
    )


def test_malformed_json_body(http: httpx2.Client) -> None:
    error = error_of(
        http.post("/assistants", content=b"{not json", headers={"content-type": "application/json"})
    )
    assert error["message"].startswith("We could not parse the JSON body of your request.")
    error = error_of(http.post("/assistants", json=[1]))
    assert error["code"] == "invalid_type"


def test_upload_must_be_multipart(http: httpx2.Client) -> None:
    error = error_of(http.post("/files", json={"purpose": "assistants"}))
    assert "multipart/form-data" in error["message"]
    error = error_of(http.post("/files", data={"purpose": "assistants"}, files={"x": ("a", b"")}))
    assert (error["param"], error["code"]) == ("x", "unknown_parameter")
    error = error_of(http.post("/files", files={"file": ("a.txt", b"a")}))
    assert (error["param"], error["code"]) == ("purpose", "missing_required_parameter")


def test_missing_objects_are_404_in_the_real_wording(http: httpx2.Client, store_id: str) -> None:
    cases = {
        "/assistants/asst_nope": "No assistant found with id 'asst_nope'.",
        "/files/file-nope": "No file found with id 'file-nope'.",
        "/vector_stores/vs_nope": "No vector store found with id 'vs_nope'.",
        f"/vector_stores/{store_id}/files/file-nope": "No vector store file found with id 'file-nope'.",
        f"/vector_stores/{store_id}/file_batches/vsfb_nope": "No vector store file batch found with id 'vsfb_nope'.",
    }
    for path, message in cases.items():
        answer = http.get(path)
        assert answer.status_code == 404 and answer.json()["error"]["message"] == message
    answer = http.post(f"/vector_stores/{store_id}/files", json={"file_id": "file-nope"})
    assert (
        answer.status_code == 404
        and answer.json()["error"]["message"] == "No file found with id 'file-nope'."
    )
