"""Runs through the official SDK: lifecycle, tools, submit_tool_outputs, cancel, errors, steps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.lifecycle import EXPIRES_IN
from asst_deploy.sandbox.model import ScriptedModel

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def model(sandbox: Sandbox) -> Iterator[ScriptedModel]:
    """A fresh fast model for one test (the server is shared by the whole session)."""
    saved = sandbox.model
    sandbox.model = ScriptedModel(step_delay=0)
    yield sandbox.model
    sandbox.model = saved


@pytest.fixture
def clock(sandbox: Sandbox, model: ScriptedModel) -> Iterator[FakeClock]:
    saved = sandbox.clock
    sandbox.clock = fake = FakeClock()
    model.step_delay = 1.0
    yield fake
    sandbox.clock = saved


@pytest.fixture
def assistant(client: openai.OpenAI) -> Any:
    return client.beta.assistants.create(
        model="gpt-4o",
        name="Tester",
        instructions="Be brief.",
        tools=[WEATHER, TIME, {"type": "code_interpreter"}],
    )


def thread_with(client: openai.OpenAI, text: str) -> Any:
    return client.beta.threads.create(messages=[{"role": "user", "content": text}])


def texts(client: openai.OpenAI, thread_id: str, **query: Any) -> list[str]:
    page = client.beta.threads.messages.list(thread_id=thread_id, order="asc", **query)
    return [m.content[0].text.value for m in page.data]  # type: ignore[union-attr]


def test_run_without_rule_completes_with_a_deterministic_reply(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    thread = thread_with(client, "Hello there")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert run.completed_at is not None and run.expires_at is None
    assert texts(client, thread.id) == ["Hello there", "[sandbox] no rule matched: Hello there"]
    assert run.usage is not None
    assert (run.usage.prompt_tokens, run.usage.completion_tokens) == (5, 9)
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id)
    assert [s.type for s in steps.data] == ["message_creation"]
    only_run = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id)
    assert [m.role for m in only_run.data] == ["assistant"]


def test_lifecycle_moves_with_the_clock_and_sends_no_poll_hint(
    client: openai.OpenAI, clock: FakeClock, assistant: Any
) -> None:
    thread = thread_with(client, "hi")
    raw = client.beta.threads.runs.with_raw_response.create(
        thread_id=thread.id, assistant_id=assistant.id
    )
    assert "openai-poll-after-ms" not in raw.headers  # no real recording carries it
    run = raw.parse()
    seen = [run.status]
    for _ in range(2):
        clock.now += 1
        seen.append(client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status)
    assert seen == ["queued", "in_progress", "completed"]
    assert texts(client, thread.id)[-1] == "[sandbox] no rule matched: hi"


def test_overrides_are_honoured_in_the_run(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    thread = thread_with(client, "hi")
    run = client.beta.threads.runs.create(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Override.",
        additional_instructions="And more.",
        model="gpt-4.1",
        tools=[WEATHER],
        temperature=0.2,
        top_p=0.5,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        metadata={"k": "v"},
        max_completion_tokens=300,
        truncation_strategy={"type": "last_messages", "last_messages": 3},
        parallel_tool_calls=False,
    )
    assert run.instructions == "Override.\nAnd more."
    assert (run.model, run.temperature, run.top_p, run.metadata) == (
        "gpt-4.1",
        0.2,
        0.5,
        {"k": "v"},
    )
    assert [t.type for t in run.tools] == ["function"]
    assert run.tool_choice is not None and run.tool_choice.type == "function"  # type: ignore[union-attr]
    assert run.truncation_strategy is not None and run.truncation_strategy.last_messages == 3
    assert run.parallel_tool_calls is False and run.max_completion_tokens == 300
    defaults = client.beta.threads.runs.create_and_poll(
        thread_id=client.beta.threads.create().id, assistant_id=assistant.id
    )
    assert defaults.instructions == "Be brief." and defaults.model == "gpt-4o"
    assert defaults.tool_choice == "auto" and defaults.truncation_strategy is not None
    assert defaults.truncation_strategy.type == "auto"


def test_parallel_function_calls_then_outputs_feed_the_reply(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    model.add_rule(
        r"weather in (?P<city>\w+)",
        function_calls=[
            {"name": "get_weather", "arguments": {"city": "{match[city]}"}},
            {"name": "get_time", "arguments": "{{}}"},
        ],
        reply="{outputs[get_weather]} in {arguments[get_weather][city]} at {outputs[get_time]}.",
    )
    thread = thread_with(client, "What is the weather in Oslo?")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action" and run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city":"Oslo"}'),
        ("get_time", "{}"),
    ]
    outputs = {"get_weather": "Snow", "get_time": "noon"}
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": c.id, "output": outputs[c.function.name]} for c in calls],
    )
    assert run.status == "completed" and run.required_action is None
    assert texts(client, thread.id)[-1] == "Snow in Oslo at noon."
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    tool_step, message_step = steps.data
    assert tool_step.status == "completed" and tool_step.usage is not None
    details = tool_step.step_details.tool_calls  # type: ignore[union-attr]
    assert [d.function.output for d in details] == ["Snow", "noon"]  # type: ignore[union-attr]
    assert message_step.type == "message_creation"
    retrieved = client.beta.threads.runs.steps.retrieve(
        tool_step.id, thread_id=thread.id, run_id=run.id
    )
    assert retrieved.id == tool_step.id


def test_submit_tool_outputs_errors(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    model.add_rule(
        "weather",
        function_calls=[{"name": "get_weather", "arguments": {}}, {"name": "get_time"}],
    )
    thread = thread_with(client, "weather?")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.required_action is not None
    first, second = run.required_action.submit_tool_outputs.tool_calls
    with pytest.raises(openai.BadRequestError) as partial:
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": first.id, "output": "x"}]
        )
    assert partial.value.body == {
        "message": f"Expected tool outputs for call_ids ['{first.id}', '{second.id}'], "
        f"got ['{first.id}']",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.BadRequestError, match="got \\['call_nope'\\]"):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_nope", "output": ""}]
        )
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": c.id, "output": "ok"} for c in (first, second)],
    )
    assert done.status == "completed"
    assert texts(client, thread.id)[-1] == "[sandbox] rule matched: weather?"
    with pytest.raises(openai.BadRequestError) as late:
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": first.id, "output": "x"}]
        )
    assert late.value.body == {
        "message": 'Runs in status "completed" do not accept tool outputs.',
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_cancel_a_run_waiting_for_outputs(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    model.add_rule("weather", function_calls=[{"name": "get_weather", "arguments": {}}])
    thread = thread_with(client, "weather?")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelling.status == "cancelling"
    run = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert run.status == "cancelled" and run.cancelled_at is not None
    (step,) = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    assert step.status == "cancelled"
    with pytest.raises(openai.BadRequestError) as again:
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert again.value.body["message"] == "Cannot cancel run with status 'cancelled'."  # type: ignore[index]


def test_a_thread_with_an_active_run_refuses_messages_and_runs(
    client: openai.OpenAI, clock: FakeClock, assistant: Any
) -> None:
    thread = thread_with(client, "hi")
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    with pytest.raises(openai.BadRequestError) as message:
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content="more")
    assert message.value.body["message"] == (  # type: ignore[index]
        f"Can't add messages to {thread.id} while a run {run.id} is active."
    )
    with pytest.raises(openai.BadRequestError) as second:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert second.value.body["message"] == (  # type: ignore[index]
        f"Thread {thread.id} already has an active run {run.id}."
    )
    clock.now += 2
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="more")


def test_run_creation_errors(client: openai.OpenAI, model: ScriptedModel, assistant: Any) -> None:
    bare = client.beta.assistants.create(model="gpt-4o")
    empty = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as invalid:
        client.beta.threads.runs.create(thread_id=empty.id, assistant_id=bare.id)
    assert invalid.value.code == "invalid_thread"
    assert invalid.value.body["message"] == (  # type: ignore[index]
        "Run creation requires a Thread with a user message or an assistant with instructions."
    )
    with pytest.raises(
        openai.NotFoundError, match=re.escape("No assistant found with id 'asst_nope'.")
    ):
        client.beta.threads.runs.create(thread_id=empty.id, assistant_id="asst_nope")
    with pytest.raises(
        openai.NotFoundError, match=re.escape("No thread found with id 'thread_nope'.")
    ):
        client.beta.threads.runs.create(thread_id="thread_nope", assistant_id=bare.id)
    with pytest.raises(openai.NotFoundError, match=re.escape("No run found with id 'run_nope'.")):
        client.beta.threads.runs.retrieve("run_nope", thread_id=empty.id)
    with pytest.raises(openai.BadRequestError) as missing:
        client.post(
            f"/threads/{empty.id}/runs",
            body={},
            cast_to=object,
            options={"headers": {"OpenAI-Beta": "assistants=v2"}},
        )
    assert missing.value.code == "missing_required_parameter"
    run = client.beta.threads.runs.create_and_poll(
        thread_id=empty.id,
        assistant_id=assistant.id,
        additional_messages=[{"role": "user", "content": "hey"}],
    )
    assert run.status == "completed"
    with pytest.raises(
        openai.NotFoundError, match=re.escape("No run step found with id 'step_123'.")
    ):
        client.beta.threads.runs.steps.retrieve("step_123", thread_id=empty.id, run_id=run.id)
    with pytest.raises(openai.BadRequestError, match="Invalid value: 'nope'"):
        client.beta.threads.runs.steps.list(
            thread_id=empty.id,
            run_id=run.id,
            include=["nope"],  # type: ignore[list-item]
        )


def test_list_and_modify_runs(client: openai.OpenAI, model: ScriptedModel, assistant: Any) -> None:
    thread = thread_with(client, "one")
    first = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    second = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    page = client.beta.threads.runs.list(thread_id=thread.id)
    assert [r.id for r in page.data] == [second.id, first.id]
    changed = client.beta.threads.runs.update(first.id, thread_id=thread.id, metadata={"a": "b"})
    assert changed.metadata == {"a": "b"}


def test_code_interpreter_step_then_reply(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    model.add_rule(
        "(?i)solve", code_interpreter={"input": "print(3 * 4)", "logs": "12"}, reply="It is 12."
    )
    thread = thread_with(client, "Solve 3*4")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    call = steps.data[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "code_interpreter"
    assert call.code_interpreter.input == "print(3 * 4)"  # type: ignore[union-attr]
    assert call.code_interpreter.outputs[0].logs == "12"  # type: ignore[union-attr]
    assert texts(client, thread.id)[-1] == "It is 12."


def test_file_search_cites_the_vector_store_files(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    refunds = client.files.create(
        file=("refunds.txt", b"Refunds are paid within 14 days.\n\nShipping is free."),
        purpose="assistants",
    )
    store = client.vector_stores.create(name="policies", file_ids=[refunds.id])
    assistant = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    model.add_rule("(?i)refund", file_search="refunds days", reply="Policy: {quote}")
    thread = thread_with(client, "How do refunds work?")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    text = message.content[0].text  # type: ignore[union-attr]
    assert text.value.startswith("Policy: Refunds are paid within 14 days.")
    (note,) = text.annotations
    assert note.type == "file_citation" and note.file_citation.file_id == refunds.id  # type: ignore[union-attr]
    assert text.value[note.start_index : note.end_index] == note.text == "【0:0†refunds.txt】"
    steps = client.beta.threads.runs.steps.list(
        thread_id=thread.id,
        run_id=run.id,
        order="asc",
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    )
    search = steps.data[0].step_details.tool_calls[0].file_search  # type: ignore[union-attr]
    assert search.results is not None and search.results[0].file_id == refunds.id
    assert search.results[0].content is not None
    plain = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    result = plain.data[0].step_details.tool_calls[0].file_search.results[0]  # type: ignore[union-attr]
    assert result.content is None


@pytest.mark.parametrize(
    ("rule", "status", "detail"),
    [
        ({"status": "failed", "error": "Boom."}, "failed", "Boom."),
        ({"status": "expired"}, "expired", None),
        (
            {"status": "incomplete", "reply": "Half an answer"},
            "incomplete",
            "max_completion_tokens",
        ),
        ({"reply": "{outputs[nothing]}"}, "failed", "[sandbox] rule template error"),
        ({"function_calls": [{"name": "undeclared"}]}, "failed", "function 'undeclared'"),
    ],
)
def test_rules_can_end_runs(
    client: openai.OpenAI,
    model: ScriptedModel,
    assistant: Any,
    rule: dict[str, Any],
    status: str,
    detail: str | None,
) -> None:
    model.add_rule("end", **rule)
    thread = thread_with(client, "end it")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == status
    if status == "failed":
        assert run.last_error is not None and detail in run.last_error.message
        assert run.last_error.code == "server_error" and run.failed_at is not None
    if status == "incomplete":
        assert run.incomplete_details is not None and run.incomplete_details.reason == detail


def test_max_completion_tokens_truncates_the_reply(
    client: openai.OpenAI, model: ScriptedModel, assistant: Any
) -> None:
    model.add_rule("", reply=" ".join(f"w{i}" for i in range(300)))
    thread = thread_with(client, "count")
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=256
    )
    assert run.status == "incomplete" and run.usage is not None
    assert run.usage.completion_tokens == 256
    assert texts(client, thread.id)[-1] == " ".join(f"w{i}" for i in range(256))


def test_a_run_left_waiting_expires(
    client: openai.OpenAI, clock: FakeClock, model: ScriptedModel, assistant: Any
) -> None:
    model.add_rule("weather", function_calls=[{"name": "get_weather", "arguments": {}}])
    thread = thread_with(client, "weather?")
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    clock.now += 2
    assert (
        client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "requires_action"
    )
    clock.now += EXPIRES_IN
    expired = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    assert expired.status == "expired"
    (step,) = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id).data
    assert step.status == "expired"


def test_create_thread_and_run(client: openai.OpenAI, model: ScriptedModel, assistant: Any) -> None:
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "hi"}], "metadata": {"from": "test"}},
    )
    assert run.status == "completed"
    thread = client.beta.threads.retrieve(run.thread_id)
    assert thread.metadata == {"from": "test"}
    assert texts(client, thread.id) == ["hi", "[sandbox] no rule matched: hi"]


@pytest.mark.anyio
async def test_async_client_polls_and_submits(
    aclient: openai.AsyncOpenAI, model: ScriptedModel
) -> None:
    model.add_rule(
        "weather",
        function_calls=[{"name": "get_weather", "arguments": {}}],
        reply="{outputs[get_weather]}",
    )
    assistant = await aclient.beta.assistants.create(model="gpt-4o", tools=[WEATHER])
    thread = await aclient.beta.threads.create(messages=[{"role": "user", "content": "weather"}])
    run = await aclient.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    assert run.required_action is not None
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    run = await aclient.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "Rain"}],
    )
    assert run.status == "completed"
    page = await aclient.beta.threads.messages.list(thread_id=thread.id)
    assert page.data[0].content[0].text.value == "Rain"  # type: ignore[union-attr]
