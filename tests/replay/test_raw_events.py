"""Event streams read untyped give the SDK's typed objects where a driver keeps them."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
from openai.types.beta.assistant_stream_event import AssistantStreamEvent
from openai.types.responses import ResponseStreamEvent

from asst_deploy.generations.sdk.driver_base import wire
from asst_deploy.generations.sdk.events import RawEvents

RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1700000000,
    "model": "gpt-4o-mini",
    "status": "completed",
    "output": [],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}
RESPONSES_EVENTS = [
    {
        "type": "response.created",
        "sequence_number": 0,
        "response": {**RESPONSE, "status": "in_progress"},
    },
    {
        "type": "response.output_text.delta",
        "sequence_number": 1,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hi",
        "logprobs": [],
    },
    {"type": "response.completed", "sequence_number": 2, "response": RESPONSE},
]
RUN = {
    "id": "run_1",
    "object": "thread.run",
    "created_at": 1700000000,
    "assistant_id": "asst_1",
    "thread_id": "thread_1",
    "status": "completed",
    "model": "gpt-4o-mini",
    "instructions": "",
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
    "parallel_tool_calls": True,
}


def _stream(cast_to: Any, body: str) -> openai.Stream[Any]:
    client = openai.OpenAI(api_key="sk-test", base_url="https://example.invalid/v1")
    request = httpx2.Request("POST", "https://example.invalid/v1/responses")
    response = httpx2.Response(
        200, headers={"content-type": "text/event-stream"}, content=body.encode(), request=request
    )
    return openai.Stream(cast_to=cast_to, response=response, client=client)


def _sse(events: list[tuple[str | None, Any]]) -> str:
    return "".join(
        (f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n"
        for name, data in events
    )


def test_responses_events_come_as_sent_and_type_as_the_sdk_would() -> None:
    body = _sse([(e["type"], e) for e in RESPONSES_EVENTS])
    typed = [wire(e) for e in _stream(ResponseStreamEvent, body)]
    with RawEvents(_stream(ResponseStreamEvent, body)) as events:
        raw = list(events)
        assert raw == RESPONSES_EVENTS  # the JSON itself: no field filled in, none coerced
        assert [events.typed(e) for e in raw] == typed
    # what makes typing worth its cost where a transcript keeps the object: the SDK's shape
    assert typed[-1]["response"] != RESPONSE
    assert isinstance(typed[-1]["response"]["created_at"], float)


def test_assistants_events_keep_their_names_and_type_as_the_sdk_would() -> None:
    body = _sse([("thread.run.completed", RUN)]) + "event: done\ndata: [DONE]\n\n"
    typed = [wire(e) for e in _stream(AssistantStreamEvent, body)]
    with RawEvents(_stream(AssistantStreamEvent, body)) as events:
        raw = list(events)
        assert raw == [{"data": RUN, "event": "thread.run.completed"}]
        assert [events.typed(e) for e in raw] == typed
    assert typed[0]["data"]["tools"][0]["function"]["description"] is None


def test_a_stream_that_is_not_the_sdks_is_read_typed() -> None:
    class Event:
        def model_dump(self, **_: Any) -> dict[str, Any]:
            return {"type": "x"}

    class Fake:
        def __enter__(self) -> Fake:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def __iter__(self) -> Any:
            return iter([Event()])

    with RawEvents(Fake()) as events:
        raw = list(events)
        assert raw == [{"type": "x"}]
        assert events.typed(raw[0]) == {"type": "x"}
