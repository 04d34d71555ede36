"""Streamed runs through the SDK's stream helpers: event names and order as the real service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from openai.lib.streaming import AssistantEventHandler

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.model import ScriptedModel

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object"}},
}
REPLY = [
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
    "thread.message.delta",
    "thread.message.delta",
    "thread.message.completed",
    "thread.run.step.completed",
    "thread.run.completed",
]
START = ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]


@pytest.fixture
def model(sandbox: Sandbox) -> Iterator[ScriptedModel]:
    saved = sandbox.model
    sandbox.model = ScriptedModel(step_delay=0.01)
    yield sandbox.model
    sandbox.model = saved


@pytest.fixture
def assistant(client: openai.OpenAI) -> Any:
    return client.beta.assistants.create(
        model="gpt-4o", tools=[WEATHER, {"type": "code_interpreter"}]
    )


class Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.text = ""

    def on_event(self, event: Any) -> None:
        self.names.append(event.event)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value


def test_stream_events_in_the_real_order(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    model.add_rule("hi", reply="Hello you")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    handler = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        stream.until_done()
    assert handler.names == START + REPLY
    assert handler.text == "Hello you"
    assert stream.get_final_run().status == "completed"
    (message,) = stream.get_final_messages()
    assert message.status == "completed" and message.content[0].text.value == "Hello you"  # type: ignore[union-attr]
    stored = client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert stored.content == message.content


def test_raw_stream_is_event_stream_ending_with_done(
    server: Any, client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    response = httpx2.post(
        f"{server.base_url}/threads/{thread.id}/runs",
        json={"assistant_id": assistant.id, "stream": True},
        headers={"OpenAI-Beta": "assistants=v2"},
    )
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.text.startswith("event: thread.run.created\ndata: {")
    assert response.text.endswith("event: done\ndata: [DONE]\n\n")


def test_function_calls_stream_then_submit_tool_outputs_stream(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    model.add_rule(
        "weather",
        function_calls=[{"name": "get_weather", "arguments": {"city": "Rome"}}],
        reply="It is {outputs[get_weather]}.",
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "weather?"}])
    first = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=first
    ) as stream:
        stream.until_done()
    assert first.names == [
        *START,
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.requires_action",
    ]
    run = stream.get_final_run()
    assert run.required_action is not None
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.arguments == '{"city":"Rome"}'
    second = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
        event_handler=second,
    ) as stream:
        stream.until_done()
    assert second.names == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
        *REPLY[:-5],
        *["thread.message.delta"] * 3,
        *REPLY[-3:],
    ]
    assert second.text == "It is sunny."


def test_code_interpreter_step_deltas_and_thread_created(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    model.add_rule("calc", code_interpreter={"input": "print(6 * 7)", "logs": "42"}, reply="42")
    handler = Recorder()
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "calc"}]},
        event_handler=handler,
    ) as stream:
        stream.until_done()
    assert handler.names[:4] == ["thread.created", *START]
    tool_events = handler.names[4 : handler.names.index("thread.run.step.completed") + 1]
    assert tool_events == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        *["thread.run.step.delta"] * 5,  # the call, three input pieces, the logs
        "thread.run.step.completed",
    ]
    steps = stream.get_final_run_steps()
    call = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.code_interpreter.input == "print(6 * 7)"  # type: ignore[union-attr]
    assert handler.text == "42"


@pytest.mark.anyio
async def test_async_stream(aclient: openai.AsyncOpenAI, model: ScriptedModel) -> None:
    model.add_rule("", reply="async reply")
    assistant = await aclient.beta.assistants.create(model="gpt-4o", instructions="Talk.")
    thread = await aclient.beta.threads.create()
    async with aclient.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id
    ) as stream:
        names = [event.event async for event in stream]
    assert names == START + REPLY
    assert (await stream.get_final_run()).status == "completed"
