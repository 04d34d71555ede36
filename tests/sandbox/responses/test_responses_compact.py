"""POST /responses/compact through the SDK: one compaction item that later requests carry."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest
from openai.types.responses import CompactedResponse

from asst_deploy.sandbox.model import ScriptedModel, tokens


def carried(compacted: CompactedResponse) -> list[Any]:
    """The compacted output as the next request's input items."""
    return [item.model_dump(exclude_none=True) for item in compacted.output]


def test_compact_answers_one_compaction_item(client: openai.OpenAI, model: ScriptedModel) -> None:
    first = client.responses.create(model="gpt-4o", input="hello")
    compacted = client.responses.compact(
        model="gpt-4o", previous_response_id=first.id, input="again", safety_identifier="u-1"
    )
    assert compacted.object == "response.compaction" and compacted.id.startswith("resp_")
    [item] = compacted.output
    assert item.type == "compaction" and item.id.startswith("cmp_")
    assert item.encrypted_content
    said = ["hello", "You said: hello", "again"]
    assert compacted.usage.input_tokens == sum(tokens(t) for t in said)
    assert compacted.usage.total_tokens == (
        compacted.usage.input_tokens + compacted.usage.output_tokens
    )
    assert compacted.safety_identifier == "u-1"


def test_the_same_state_compacts_the_same(client: openai.OpenAI, model: ScriptedModel) -> None:
    first = client.responses.create(model="gpt-4o", input="hello")
    one = client.responses.compact(model="gpt-4o", previous_response_id=first.id)
    two = client.responses.compact(model=None, previous_response_id=first.id)
    assert one.output[0].encrypted_content == two.output[0].encrypted_content  # type: ignore[union-attr]
    assert one.usage == two.usage


def test_a_compaction_item_stands_for_its_context(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    compacted = client.responses.compact(
        model="gpt-4o",
        input=[
            {"role": "user", "content": "my name is Ada"},
            {"role": "assistant", "content": "noted"},
        ],
    )
    after = client.responses.create(
        model="gpt-4o", input=[*carried(compacted), {"role": "user", "content": "third"}]
    )
    assert after.output_text == "You said: third"
    assert after.usage is not None
    assert after.usage.input_tokens == compacted.usage.input_tokens + 1
    # the compaction item is listed as it was sent, among the input items
    listed = client.responses.input_items.list(after.id, order="asc")
    assert [i.type for i in listed.data] == ["compaction", "message"]


def test_a_call_compacted_away_can_still_be_answered(
    client: openai.OpenAI, model: ScriptedModel, weather: dict[str, Any]
) -> None:
    first = client.responses.create(model="gpt-4o", input="weather in Paris", tools=[weather])
    call = first.output[0]
    assert call.type == "function_call"
    compacted = client.responses.compact(model="gpt-4o", previous_response_id=first.id)
    answer = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    follow = client.responses.create(
        model="gpt-4o", input=[*carried(compacted), answer], tools=[weather]
    )
    assert follow.output_text == "It is sunny in Paris."


def test_a_conversation_holds_a_compaction_item(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    compacted = client.responses.compact(model="gpt-4o", input="my name is Ada")
    conversation = client.conversations.create(items=carried(compacted))
    [item] = client.conversations.items.list(conversation.id).data
    assert item.type == "compaction"
    reply = client.responses.create(model="gpt-4o", conversation=conversation.id, input="hi")
    plain = client.responses.create(model="gpt-4o", input="hi")
    assert reply.usage is not None and plain.usage is not None
    assert reply.usage.input_tokens == plain.usage.input_tokens + compacted.usage.input_tokens


@pytest.mark.anyio
async def test_the_async_client_compacts_too(
    aclient: openai.AsyncOpenAI, model: ScriptedModel
) -> None:
    compacted = await aclient.responses.compact(model="gpt-4o", input="hello")
    assert [i.type for i in compacted.output] == ["compaction"]


def test_compact_refuses_what_create_refuses(raw: httpx2.Client, model: ScriptedModel) -> None:
    gone = raw.post("/responses/compact", json={"model": "gpt-4o", "previous_response_id": "x"})
    assert gone.status_code == 400
    assert gone.json()["error"]["code"] == "previous_response_not_found"
    forged = [
        {"type": "compaction", "encrypted_content": "not-ours"},
        {"role": "user", "content": "x"},
    ]
    for path in ("/responses", "/responses/compact"):
        answer = raw.post(path, json={"model": "gpt-4o", "input": forged})
        assert answer.status_code == 400, path
        error = answer.json()["error"]
        assert (error["param"], error["code"]) == ("input", "invalid_encrypted_content")
        assert error["message"].endswith("could not be verified.")
