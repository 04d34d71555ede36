"""Bad requests to /responses and /conversations: the real 4xx and error body, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest

from asst_deploy.sandbox.model import ScriptedModel

LOOSE = {"type": "object", "properties": {"city": {"type": "string"}}}
M = {"model": "gpt-4o"}

# (method, path, body, status, message, param, code)
CASES: list[tuple[str, str, Any, int, str | None, str | None, str | None]] = [
    (
        "POST",
        "/responses",
        {**M, "tool_choice": {"type": "function", "name": "get_weather"}},
        400,
        "Tool choice 'function' not found in 'tools' parameter.",
        "tool_choice",
        None,
    ),
    (
        "POST",
        "/responses",
        {"input": "hi"},
        400,
        "Missing required parameter: 'model'.",
        "model",
        "missing_required_parameter",
    ),
    (
        "POST",
        "/responses",
        {**M, "colour": "red"},
        400,
        "Unknown parameter: 'colour'.",
        "colour",
        "unknown_parameter",
    ),
    (
        "POST",
        "/responses",
        {**M, "input": 5},
        400,
        "Invalid type for 'input': expected a string or an array, but got an integer instead.",
        "input",
        "invalid_type",
    ),
    (
        "POST",
        "/responses",
        {**M, "temperature": 3},
        400,
        "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 "
        "instead.",
        "temperature",
        "decimal_above_max_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "top_p": -1},
        400,
        "Invalid 'top_p': decimal below minimum value. Expected a value >= 0, but got -1 instead.",
        "top_p",
        "decimal_below_min_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "input": [{"role": "bot", "content": "x"}]},
        400,
        "Invalid value: 'bot'. Supported values are: 'user', 'assistant', 'system', and "
        "'developer'.",
        "input[0].role",
        "invalid_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "input": [{"type": "bogus"}]},
        400,
        "Invalid value: 'bogus'. Supported values are: 'message', 'function_call', "
        "'function_call_output', and 'compaction'.",
        "input[0].type",
        "invalid_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]},
        400,
        "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.",
        "input[0].content[0].type",
        "invalid_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "input": [{"type": "function_call_output", "call_id": "c"}]},
        400,
        "Missing required parameter: 'input[0].output'.",
        "input[0].output",
        "missing_required_parameter",
    ),
    (
        "POST",
        "/responses",
        {**M, "tools": [{"type": "function", "name": "bad name!"}]},
        400,
        "Invalid 'tools[0].name': string does not match pattern. Expected a string that matches "
        "the pattern '^[a-zA-Z0-9_-]+$'.",
        "tools[0].name",
        "invalid_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "tools": [{"type": "function", "name": "f", "parameters": LOOSE}]},
        400,
        "Invalid schema for function 'f': In context=(), 'additionalProperties' is required "
        "to be supplied and to be false.",
        "tools[0].parameters",
        "invalid_function_parameters",
    ),
    (
        "POST",
        "/responses",
        {
            **M,
            "tools": [
                {
                    "type": "function",
                    "name": "f",
                    "strict": True,
                    "parameters": {**LOOSE, "additionalProperties": False},
                }
            ],
        },
        400,
        "Invalid schema for function 'f': In context=(), 'required' is required to be "
        "supplied and to be an array including every key in properties. Missing 'city'.",
        "tools[0].parameters",
        "invalid_function_parameters",
    ),
    (
        "POST",
        "/responses",
        {
            **M,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "out",
                    "strict": True,
                    "schema": {"type": "object", "properties": {}},
                }
            },
        },
        400,
        "Invalid schema for response_format 'out': In context=(), 'additionalProperties' is "
        "required to be supplied and to be false.",
        "text.format.schema",
        "invalid_json_schema",
    ),
    (
        "POST",
        "/responses",
        {**M, "text": {"format": {"type": "json_schema", "schema": {}}}},
        400,
        "Missing required parameter: 'text.format.name'.",
        "text.format.name",
        "missing_required_parameter",
    ),
    (
        "POST",
        "/responses",
        {**M, "tools": [{"type": "file_search"}]},
        400,
        "Missing required parameter: 'tools[0].vector_store_ids'.",
        "tools[0].vector_store_ids",
        "missing_required_parameter",
    ),
    (
        "POST",
        "/responses",
        {**M, "tools": [{"type": "file_search", "vector_store_ids": ["vs_no"]}]},
        404,
        "No vector store found with id 'vs_no'.",
        None,
        None,
    ),
    (
        "POST",
        "/responses",
        {**M, "tools": [{"type": "code_interpreter"}]},
        400,
        "Missing required parameter: 'tools[0].container'.",
        "tools[0].container",
        "missing_required_parameter",
    ),
    (
        "POST",
        "/responses",
        {
            **M,
            "tools": [
                {
                    "type": "code_interpreter",
                    "container": {"type": "auto", "file_ids": ["file-none"]},
                }
            ],
        },
        404,
        "No file found with id 'file-none'.",
        None,
        None,
    ),
    (
        "POST",
        "/responses",
        {**M, "tools": [{"type": "web_search"}]},
        400,
        "Invalid value: 'web_search'. Supported values are: 'function', 'file_search', and "
        "'code_interpreter'.",
        "tools[0].type",
        "invalid_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "metadata": {f"k{i}": "v" for i in range(17)}},
        400,
        "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, "
        "but got an object with 17 properties instead.",
        "metadata",
        "object_above_max_properties",
    ),
    (
        "POST",
        "/responses",
        {**M, "metadata": {"k": "v" * 513}},
        400,
        "Invalid 'metadata.k': string too long. Expected a string with maximum length 512, but "
        "got a string with length 513 instead.",
        "metadata.k",
        "string_above_max_length",
    ),
    (
        "POST",
        "/responses",
        {**M, "max_output_tokens": 5},
        400,
        "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but "
        "got 5 instead.",
        "max_output_tokens",
        "integer_below_min_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "include": ["everything"]},
        400,
        None,
        "include[0]",
        "invalid_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "tool_choice": "sometimes"},
        400,
        "Invalid value: 'sometimes'. Supported values are: 'none', 'auto', and 'required'.",
        "tool_choice",
        "invalid_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "reasoning": {"effort": "huge"}},
        400,
        None,
        "reasoning.effort",
        "invalid_value",
    ),
    (
        "POST",
        "/responses",
        {**M, "previous_response_id": "resp_x", "conversation": "conv_x"},
        400,
        "Mutually exclusive parameters: Ensure you are only providing one of: "
        "'previous_response_id' or 'conversation'.",
        None,
        "mutually_exclusive_parameters",
    ),
    (
        "POST",
        "/responses",
        {**M, "previous_response_id": "resp_gone"},
        400,
        "Previous response with id 'resp_gone' not found.",
        "previous_response_id",
        "previous_response_not_found",
    ),
    (
        "POST",
        "/responses",
        {**M, "conversation": "conv_gone"},
        404,
        "Conversation with id 'conv_gone' not found.",
        "conversation",
        None,
    ),
    (
        "POST",
        "/responses",
        {**M, "conversation": {"name": "x"}},
        400,
        "Missing required parameter: 'conversation.id'.",
        "conversation.id",
        "missing_required_parameter",
    ),
    (
        "POST",
        "/responses",
        {**M, "input": [{"type": "function_call_output", "call_id": "call_zz", "output": "1"}]},
        400,
        "No tool call found for function call output with call_id call_zz.",
        "input",
        None,
    ),
    (
        "POST",
        "/responses",
        [1, 2],
        400,
        "Invalid type for request body: expected an object.",
        None,
        "invalid_type",
    ),
    (
        "POST",
        "/responses",
        {**M, "safety_identifier": "u" * 129},
        400,
        "Invalid 'safety_identifier': string too long. Expected a string with maximum length "
        "128, but got a string with length 129 instead.",
        "safety_identifier",
        "string_above_max_length",
    ),
    (
        "POST",
        "/responses/compact",
        {"input": "hi"},
        400,
        "Missing required parameter: 'model'.",
        "model",
        "missing_required_parameter",
    ),
    (
        "POST",
        "/responses/compact",
        {**M, "conversation": "conv_x"},
        400,
        "Unknown parameter: 'conversation'.",
        "conversation",
        "unknown_parameter",
    ),
    (
        "POST",
        "/responses/compact",
        {**M, "service_tier": "ultrafast"},
        400,
        "Invalid value: 'ultrafast'. Supported values are: 'auto', 'default', 'fast', 'flex', "
        "and 'priority'.",
        "service_tier",
        "invalid_value",
    ),
    (
        "POST",
        "/responses/compact",
        {**M, "input": [{"type": "compaction"}]},
        400,
        "Missing required parameter: 'input[0].encrypted_content'.",
        "input[0].encrypted_content",
        "missing_required_parameter",
    ),
    (
        "GET",
        "/responses/resp_gone",
        None,
        404,
        "Response with id 'resp_gone' not found.",
        None,
        None,
    ),
    (
        "DELETE",
        "/responses/resp_gone",
        None,
        404,
        "Response with id 'resp_gone' not found.",
        None,
        None,
    ),
    (
        "GET",
        "/responses/resp_gone/input_items",
        None,
        404,
        "Response with id 'resp_gone' not found.",
        None,
        None,
    ),
    (
        "POST",
        "/conversations",
        {"items": [{"role": "user", "content": "x"}] * 21},
        400,
        "Invalid 'items': array too long. Expected an array with maximum length 20, but got an "
        "array with length 21 instead.",
        "items",
        "array_above_max_length",
    ),
    (
        "POST",
        "/conversations",
        {"metadata": "none"},
        400,
        "Invalid type for 'metadata': expected an object, but got a string instead.",
        "metadata",
        "invalid_type",
    ),
    (
        "GET",
        "/conversations/conv_gone/items",
        None,
        404,
        "Conversation with id 'conv_gone' not found.",
        None,
        None,
    ),
    (
        "DELETE",
        "/conversations/conv_gone",
        None,
        404,
        "Conversation with id 'conv_gone' not found.",
        None,
        None,
    ),
]


def _id(case: tuple[Any, ...]) -> str:
    method, path, _, status, _, param, _ = case
    return f"{method} {path} {status} {param}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_bad_requests_get_the_real_error_body(
    raw: httpx2.Client, model: ScriptedModel, case: tuple[Any, ...]
) -> None:
    method, path, body, status, message, param, code = case
    answer = raw.request(method, path, json=body)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert (error["param"], error["code"]) == (param, code)
    if message is not None:
        assert error["message"] == message


def test_a_body_that_is_not_json_is_refused(raw: httpx2.Client) -> None:
    answer = raw.post(
        "/responses", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("We could not parse the JSON body")


def test_conversation_routes_refuse_bad_updates_and_item_ids(raw: httpx2.Client) -> None:
    conversation = raw.post("/conversations", json={}).json()
    base = f"/conversations/{conversation['id']}"
    missing = raw.post(base, json={}).json()["error"]
    assert missing["message"] == "Missing required parameter: 'metadata'."
    assert raw.get(f"{base}/items/msg_gone").json()["error"]["message"] == (
        "Item with id 'msg_gone' not found."
    )
    limit = raw.get(f"{base}/items", params={"limit": 0})
    assert limit.status_code == 400 and limit.json()["error"]["param"] == "limit"
    order = raw.get(f"{base}/items", params={"order": "sideways"})
    assert order.status_code == 400 and order.json()["error"]["param"] == "order"
    empty = raw.post(f"{base}/items", json={"items": []})
    assert empty.status_code == 200 and empty.json()["data"] == []


FULL: dict[str, Any] = {
    **M,
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "weather in Oslo"}]},
        {"role": "assistant", "content": "noted"},
    ],
    "instructions": "x",
    "tools": [
        {"type": "function", "name": "get_weather", "parameters": LOOSE, "strict": False},
        {"type": "code_interpreter", "container": {"type": "auto", "file_ids": []}},
    ],
    "tool_choice": "auto",
    "temperature": 1,
    "top_p": 1,
    "text": {"format": {"type": "text"}},
    "reasoning": {"effort": "low"},
    "metadata": {"a": "b"},
    "store": True,
    "stream": False,
    "include": ["file_search_call.results"],
    "max_output_tokens": 100,
    "previous_response_id": None,
}
ODD_VALUES: list[Any] = [None, 0, "x", [], {}, True, [None], {"type": None}]


def _mutations() -> list[tuple[str, Any]]:
    paths = [*FULL, "input.0", "input.1", "tools.0", "tools.1", "text.format", "reasoning.effort"]
    return [(p, v) for p in paths for v in ODD_VALUES]


def test_odd_values_anywhere_never_answer_5xx(raw: httpx2.Client, model: ScriptedModel) -> None:
    # a bounded sweep: every top-level field and a few nested ones, set to each odd value
    assert raw.post("/responses", json=FULL).status_code == 200
    failures = []
    for path, value in _mutations():
        body = json.loads(json.dumps(FULL))
        *parents, last = path.split(".")
        node: Any = body
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
        answer = raw.post("/responses", json=body)
        if answer.status_code >= 500 or (
            answer.status_code != 200 and "error" not in answer.json()
        ):
            failures.append(f"{path}={value!r}: {answer.status_code} {answer.text[:200]}")
    assert failures == []


def test_odd_conversation_bodies_never_answer_5xx(raw: httpx2.Client) -> None:
    conversation = raw.post("/conversations", json={}).json()
    targets = ["/conversations", f"/conversations/{conversation['id']}/items"]
    bodies = [{"items": v} for v in ODD_VALUES] + [{"items": [v]} for v in ODD_VALUES]
    bodies += [{"metadata": v} for v in ODD_VALUES] + [v for v in ODD_VALUES if v != {}]
    answers = [(t, b, raw.post(t, json=b)) for t in targets for b in bodies]
    assert [(t, b, a.status_code) for t, b, a in answers if a.status_code >= 500] == []
    assert all("error" in a.json() for _, _, a in answers if a.status_code != 200)


def test_odd_compact_bodies_never_answer_5xx(raw: httpx2.Client, model: ScriptedModel) -> None:
    full = {
        **M,
        "input": [{"role": "user", "content": "hi"}],
        "instructions": "x",
        "prompt_cache_key": "k",
        "prompt_cache_retention": "24h",
        "prompt_cache_options": {"mode": "implicit", "ttl": "30m"},
        "image": {"context_compression": "auto"},
        "safety_identifier": "u",
        "service_tier": "auto",
        "previous_response_id": None,
    }
    assert raw.post("/responses/compact", json=full).status_code == 200
    failures = []
    for key in [*full, "input.0"]:
        for value in ODD_VALUES:
            body = json.loads(json.dumps(full))
            if key == "input.0":
                body["input"][0] = value
            else:
                body[key] = value
            answer = raw.post("/responses/compact", json=body)
            if answer.status_code >= 500 or (
                answer.status_code != 200 and "error" not in answer.json()
            ):
                failures.append(f"{key}={value!r}: {answer.status_code} {answer.text[:200]}")
    assert failures == []


def test_an_unknown_model_is_refused(client: openai.OpenAI) -> None:
    # the Responses list (ModelIdsResponses) is the one validate checks specs against
    for call in (
        lambda: client.responses.create(model="gpt-4o-mimi", input="hi"),
        lambda: client.responses.compact(model="gpt-4o-mimi", input="hi"),
    ):
        with pytest.raises(openai.BadRequestError) as exc:
            call()
        assert exc.value.code == "model_not_found"
        assert "The requested model 'gpt-4o-mimi' does not exist." in str(exc.value)
    assert client.responses.create(model="o3-pro", input="hi").model == "o3-pro"
