"""Streamed responses: the official event names, order and sequence numbers, through the SDK.

The autouse conformance fixture validates every streamed event against its member of
ResponseStreamEvent in openapi.yaml; here the order, the numbering and the SDK's typed
parsing (strict pydantic validation of every event) are checked.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from asst_deploy.sandbox.model import ScriptedModel

EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)

START = ["response.created", "response.in_progress"]
MESSAGE = [
    "response.output_item.added",
    "response.content_part.added",
    *["response.output_text.delta"] * 3,
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs of a server-sent event stream."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            events.append((fields.get("event", ""), json.loads(fields["data"])))
    return events


def stream(raw: httpx2.Client, **body: Any) -> list[tuple[str, dict[str, Any]]]:
    answer = raw.post("/responses", json={"model": "gpt-4o", "stream": True, **body})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "[DONE]" not in answer.text  # the Responses stream simply ends
    events = sse_events(answer.text)
    for name, data in events:
        assert name == data["type"]
        EVENTS.validate_python(data, strict=True)  # every field of the SDK's event type
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    return events


def test_a_text_reply_streams_in_the_official_order(
    raw: httpx2.Client, model: ScriptedModel
) -> None:
    events = stream(raw, input="hi")  # "You said: hi" is three deltas
    assert [n for n, _ in events] == [*START, *MESSAGE, "response.completed"]
    created, completed = events[0][1]["response"], events[-1][1]["response"]
    assert created["status"] == "in_progress" and created["output"] == []
    # usage is absent until the response is done (neither the SDK nor openapi.yaml types
    # it null, and no recording shows the real one), then whole
    assert "usage" not in created and "usage" not in events[1][1]["response"]
    assert completed["usage"]["total_tokens"] > 0
    assert created["id"] == completed["id"] and completed["status"] == "completed"
    deltas = "".join(d["delta"] for n, d in events if n == "response.output_text.delta")
    assert deltas == "You said: hi"
    assert completed["output"][0]["content"][0]["text"] == deltas


def test_function_call_arguments_stream_then_the_next_round_by_id(
    raw: httpx2.Client, model: ScriptedModel, weather: dict[str, Any]
) -> None:
    events = stream(raw, input="weather in Paris", tools=[weather])
    assert [n for n, _ in events] == [
        *START,
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added, done = events[2][1]["item"], events[5][1]["item"]
    assert added["status"] == "in_progress" and added["arguments"] == ""
    # the SDK's ResponseFunctionCallArgumentsDoneEvent has no `name` (openapi.yaml does)
    assert set(events[4][1]) == {"type", "item_id", "output_index", "arguments", "sequence_number"}
    assert events[4][1]["arguments"] == done["arguments"] == '{"city":"Paris"}'
    response = events[-1][1]["response"]
    follow = stream(
        raw,
        input=[{"type": "function_call_output", "call_id": done["call_id"], "output": "sunny"}],
        previous_response_id=response["id"],
        tools=[weather],
    )
    assert follow[-1][1]["response"]["output"][0]["content"][0]["text"] == "It is sunny in Paris."


def test_file_search_streams_its_call_and_the_citations(
    raw: httpx2.Client, model: ScriptedModel, vector_store: Any
) -> None:
    events = stream(
        raw,
        input="How are refunds paid?",
        tools=[{"type": "file_search", "vector_store_ids": [vector_store.id]}],
    )
    names = [n for n, _ in events]
    assert names[:7] == [
        *START,
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    assert names.index("response.output_text.annotation.added") < names.index(
        "response.output_text.done"
    )
    annotation = next(d for n, d in events if n == "response.output_text.annotation.added")
    assert annotation["annotation"]["type"] == "file_citation"
    assert annotation["annotation"]["filename"] == "policy.txt"
    assert names[-1] == "response.completed"


def test_code_interpreter_streams_its_code(raw: httpx2.Client, model: ScriptedModel) -> None:
    events = stream(
        raw, input="solve", tools=[{"type": "code_interpreter", "container": {"type": "auto"}}]
    )
    names = [n for n, _ in events]
    assert names[2:10] == [
        "response.output_item.added",
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
    ]
    assert events[7][1]["code"] == "print(2 + 2)"


@pytest.mark.parametrize(
    ("text", "ending", "status"),
    [("break", "response.failed", "failed"), ("ramble", "response.incomplete", "incomplete")],
)
def test_a_stream_ends_with_the_final_status(
    raw: httpx2.Client, model: ScriptedModel, text: str, ending: str, status: str
) -> None:
    events = stream(raw, input=text, max_output_tokens=16)
    assert events[-1][0] == ending
    assert events[-1][1]["response"]["status"] == status


def test_the_sdk_stream_helper_accumulates_the_final_response(
    client: openai.OpenAI, model: ScriptedModel, vector_store: Any
) -> None:
    tools: Any = [{"type": "file_search", "vector_store_ids": [vector_store.id]}]
    with client.responses.stream(
        model="gpt-4o", input="Refunds are paid when?", tools=tools
    ) as events:
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        final = events.get_final_response()
    assert final.status == "completed" and final.output_text == text
    assert final.output[1].content[0].annotations[0].type == "file_citation"  # type: ignore[union-attr]
    assert client.responses.retrieve(final.id).output_text == text


def test_stream_true_yields_typed_events(client: openai.OpenAI, model: ScriptedModel) -> None:
    names = [e.type for e in client.responses.create(model="gpt-4o", input="hi", stream=True)]
    assert names[:2] == START and names[-1] == "response.completed"


@pytest.mark.anyio
async def test_the_async_client_streams_too(
    aclient: openai.AsyncOpenAI, model: ScriptedModel
) -> None:
    async with aclient.responses.stream(model="gpt-4o", input="hi") as events:
        names = [e.type async for e in events]
        final = await events.get_final_response()
    assert names[-1] == "response.completed" and final.output_text == "You said: hi"
