"""POST /responses through the official SDK: replies, tools, function-call rounds, retrieval.

Every JSON answer is also checked against openapi.yaml by the suite's autouse conformance
fixture; here the SDK's own pydantic types validate the bodies strictly as well.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest
from openai.types.responses import Response, ResponseItemList

from asst_deploy.sandbox.model import ScriptedModel


def strict(raw: httpx2.Response) -> Response:
    """The body validated (not just constructed) as the SDK's Response type."""
    return Response.model_validate(raw.json(), strict=True)


def test_a_text_reply_echoes_the_request_settings(
    client: openai.OpenAI, model: ScriptedModel, raw: httpx2.Client
) -> None:
    body = {
        "model": "gpt-4o",
        "input": "hello there",
        "instructions": "Be brief.",
        "temperature": 0.2,
        "top_p": 0.9,
        "metadata": {"team": "support"},
        "reasoning": {"effort": "low"},
        "text": {
            "format": {
                "type": "json_schema",
                "name": "answer",
                "schema": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}},
                    "required": ["text"],
                    "additionalProperties": False,
                },
                "strict": True,
            }
        },
    }
    response = strict(raw.post("/responses", json=body))
    assert response.status == "completed"
    assert response.output_text == "You said: hello there"
    assert (response.instructions, response.temperature, response.top_p) == ("Be brief.", 0.2, 0.9)
    assert response.metadata == {"team": "support"}
    assert response.reasoning is not None and response.reasoning.effort == "low"
    assert response.text is not None and response.text.format.type == "json_schema"
    assert response.usage is not None and response.usage.output_tokens == 5
    assert response.usage.total_tokens == response.usage.input_tokens + 5

    again = client.responses.retrieve(response.id)
    assert again.output_text == response.output_text
    items = ResponseItemList.model_validate(raw.get(f"/responses/{response.id}/input_items").json())
    assert [(i.type, i.role) for i in items.data] == [("message", "user")]  # type: ignore[union-attr]


def test_input_items_keep_their_order_and_roles(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    response = client.responses.create(
        model="gpt-4o",
        input=[
            {"role": "developer", "content": "Answer in English."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "noted"},
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "second"}],
            },
        ],
    )
    assert response.output_text == "You said: second"
    listed = client.responses.input_items.list(response.id, order="asc")
    assert [i.role for i in listed.data] == ["developer", "user", "assistant", "user"]  # type: ignore[union-attr]
    assert listed.data[2].content[0].type == "output_text"  # type: ignore[union-attr]
    paged = client.responses.input_items.list(response.id, limit=1, order="asc")
    assert [i.id for i in paged] == [i.id for i in listed.data]  # the SDK follows `after`
    first = client.responses.input_items.list(response.id, limit=1)
    assert first.has_more and first.data[0].content[0].text == "second"  # type: ignore[union-attr]


def test_delete_then_retrieve_is_the_real_404(client: openai.OpenAI, model: ScriptedModel) -> None:
    response = client.responses.create(model="gpt-4o", input="bye")
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve(response.id)
    assert caught.value.body == {
        "message": f"Response with id '{response.id}' not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_an_unstored_response_cannot_be_retrieved(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    response = client.responses.create(model="gpt-4o", input="secret", store=False)
    assert response.output_text == "You said: secret"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.BadRequestError, match="Previous response with id"):
        client.responses.create(model="gpt-4o", input="more", previous_response_id=response.id)


def test_two_function_call_rounds_by_previous_response_id(
    client: openai.OpenAI, model: ScriptedModel, weather: dict[str, Any]
) -> None:
    first = client.responses.create(model="gpt-4o", input="weather in Paris", tools=[weather])
    assert first.status == "completed"
    [call] = first.output
    assert call.type == "function_call"
    assert (call.name, call.arguments) == ("get_weather", '{"city":"Paris"}')
    assert first.tools[0].strict is True  # type: ignore[union-attr]

    second = client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[weather],
    )
    assert second.previous_response_id == first.id
    assert second.output_text == "It is sunny in Paris."

    third = client.responses.create(
        model="gpt-4o", previous_response_id=second.id, input="weather in Oslo", tools=[weather]
    )
    [again] = third.output
    fourth = client.responses.create(
        model="gpt-4o",
        previous_response_id=third.id,
        input=[{"type": "function_call_output", "call_id": again.call_id, "output": "snowy"}],  # type: ignore[union-attr]
        tools=[weather],
    )
    assert fourth.output_text == "It is snowy in Oslo."
    # the whole chain counts as input
    assert fourth.usage is not None and second.usage is not None
    assert fourth.usage.input_tokens > second.usage.input_tokens


def test_two_function_call_rounds_by_conversation(
    client: openai.OpenAI, model: ScriptedModel, weather: dict[str, Any]
) -> None:
    conversation = client.conversations.create()
    first = client.responses.create(
        model="gpt-4o", conversation=conversation.id, input="weather in Rome", tools=[weather]
    )
    assert first.conversation is not None and first.conversation.id == conversation.id
    call = first.output[0]
    assert call.type == "function_call"
    second = client.responses.create(
        model="gpt-4o",
        conversation={"id": conversation.id},
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rainy"}],
        tools=[weather],
    )
    assert second.output_text == "It is rainy in Rome."
    items = client.conversations.items.list(conversation.id, order="asc")
    assert [i.type for i in items.data] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]


def test_a_call_left_unanswered_is_refused(
    client: openai.OpenAI, model: ScriptedModel, weather: dict[str, Any]
) -> None:
    first = client.responses.create(model="gpt-4o", input="weather in Lima", tools=[weather])
    call_id = first.output[0].call_id  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", previous_response_id=first.id, input="and?")
    assert caught.value.body == {
        "message": f"No tool output found for function call {call_id}.",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }
    with pytest.raises(openai.BadRequestError, match="No tool call found for function call output"):
        client.responses.create(
            model="gpt-4o",
            input=[{"type": "function_call_output", "call_id": "call_unknown", "output": "x"}],
        )


def test_file_search_cites_the_vector_store_files(
    client: openai.OpenAI, model: ScriptedModel, vector_store: Any, raw: httpx2.Client
) -> None:
    body = {
        "model": "gpt-4o",
        "input": "How are refunds paid?",
        "tools": [{"type": "file_search", "vector_store_ids": [vector_store.id]}],
        "include": ["file_search_call.results"],
    }
    response = strict(raw.post("/responses", json=body))
    search, message = response.output
    assert search.type == "file_search_call" and search.status == "completed"
    assert search.queries == ["How are refunds paid?"]
    assert search.results and search.results[0].filename == "policy.txt"
    assert message.type == "message"
    part = message.content[0]
    assert part.type == "output_text" and "Refunds are paid within 30 days" in part.text
    [citation] = part.annotations
    assert citation.type == "file_citation"
    assert (citation.filename, citation.index) == ("policy.txt", len(part.text))
    assert citation.file_id == search.results[0].file_id
    assert "【" not in part.text  # the Assistants-style marker stays out of Responses text

    without = client.responses.create(**{**body, "include": []})
    assert without.output[0].results is None  # type: ignore[union-attr]


def test_code_interpreter_answers_with_a_scripted_call(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    file = client.files.create(file=("data.csv", b"a,b\n1,2\n"), purpose="assistants")
    response = client.responses.create(
        model="gpt-4o",
        input="solve this",
        tools=[{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [file.id]}}],
        include=["code_interpreter_call.outputs"],
    )
    call, message = response.output
    assert call.type == "code_interpreter_call"
    assert call.code == "print(2 + 2)" and call.container_id.startswith("cntr_")
    assert call.outputs and call.outputs[0].type == "logs" and call.outputs[0].logs == "4"
    assert message.type == "message" and response.output_text == "It is 4."
    assert response.tools[0].container.file_ids == [file.id]  # type: ignore[union-attr]


def test_rule_endings_become_failed_and_incomplete_responses(
    client: openai.OpenAI, model: ScriptedModel, weather: dict[str, Any]
) -> None:
    failed = client.responses.create(model="gpt-4o", input="break it")
    assert failed.status == "failed" and failed.output == []
    assert failed.error is not None and failed.error.message == "The model broke."

    lacking = client.responses.create(model="gpt-4o", input="weather in Bonn")
    assert lacking.status == "failed" and lacking.error is not None
    assert "get_weather" in lacking.error.message

    broken = client.responses.create(model="gpt-4o", input="oops")
    assert broken.status == "failed" and broken.output == []
    assert broken.error is not None and "never_called" in broken.error.message

    short = client.responses.create(model="gpt-4o", input="ramble on", max_output_tokens=16)
    assert short.status == "incomplete"
    assert short.incomplete_details is not None
    assert short.incomplete_details.reason == "max_output_tokens"
    assert short.output_text == " ".join(["word"] * 16)
    assert short.output[0].status == "incomplete"  # type: ignore[union-attr]


def test_rules_for_a_named_assistant_follow_the_request_metadata(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    other = client.responses.create(model="gpt-4o", input="billing question")
    assert other.output_text == "You said: billing question"
    named = client.responses.create(
        model="gpt-4o", input="billing question", metadata={"assistant": "Billing"}
    )
    assert named.output_text == "Billing here."
    # as asst_deploy.runtime's requests name the assistant: by its spec's name and key
    by_spec = client.responses.create(
        model="gpt-4o",
        input="billing question",
        metadata={"asst_deploy.key": "billing", "asst_deploy.name": "Billing"},
    )
    assert by_spec.output_text == "Billing here."
    by_key = client.responses.create(
        model="gpt-4o", input="billing question", metadata={"asst_deploy.key": "Billing"}
    )
    assert by_key.output_text == "Billing here."


def test_cancel_answers_as_the_real_service(client: openai.OpenAI, model: ScriptedModel) -> None:
    response = client.responses.create(model="gpt-4o", input="hello")
    with pytest.raises(openai.BadRequestError, match="Only background responses"):
        client.responses.cancel(response.id)
    background = client.responses.create(model="gpt-4o", input="hello", background=True)
    assert client.responses.cancel(background.id).status == "completed"


def test_a_response_carries_no_store_key(
    client: openai.OpenAI, model: ScriptedModel, raw: httpx2.Client
) -> None:
    # openai 3.60's Response declares no `store`, and no recording shows the real one with it
    created = raw.post("/responses", json={"model": "gpt-4o", "input": "hi", "store": True})
    background = raw.post("/responses", json={"model": "gpt-4o", "input": "hi", "background": True})
    retrieved = raw.get(f"/responses/{created.json()['id']}")
    cancelled = raw.post(f"/responses/{background.json()['id']}/cancel")
    for answer in (created, background, retrieved, cancelled):
        assert answer.status_code == 200 and "store" not in answer.json()
    unstored = client.responses.create(model="gpt-4o", input="hi", store=False)
    assert "store" not in (unstored.model_extra or {})


def test_delete_answers_without_a_body(client: openai.OpenAI, raw: httpx2.Client) -> None:
    # openapi.yaml declares a 200 without content; the SDK's delete reads none
    response = client.responses.create(model="gpt-4o", input="bye")
    answer = raw.delete(f"/responses/{response.id}")
    assert (answer.status_code, answer.content) == (200, b"")
    other = client.responses.create(model="gpt-4o", input="bye")
    assert client.responses.delete(other.id) is None
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(other.id)


@pytest.mark.parametrize("tier", ["auto", "fast", "ultrafast", "priority"])
def test_every_service_tier_of_the_sdk_is_accepted(
    client: openai.OpenAI, model: ScriptedModel, tier: Any
) -> None:
    response = client.responses.create(model="gpt-4o", input="hi", service_tier=tier)
    assert response.status == "completed" and response.service_tier == "default"


@pytest.mark.parametrize("length", [1, 128])
def test_safety_identifier_is_echoed_up_to_the_sdk_limit(
    client: openai.OpenAI, model: ScriptedModel, length: int
) -> None:
    # the SDK's limit (128); openapi.yaml says 64
    response = client.responses.create(model="gpt-4o", input="hi", safety_identifier="u" * length)
    assert response.safety_identifier == "u" * length
    assert client.responses.retrieve(response.id).safety_identifier == "u" * length


def test_cache_user_and_reasoning_settings_are_echoed_when_sent(client: openai.OpenAI) -> None:
    plain = client.responses.create(model="gpt-4o", input="hi")
    assert (plain.user, plain.prompt_cache_options, plain.prompt_cache_retention) == (
        None,
        None,
        None,
    )
    assert plain.reasoning is not None and plain.reasoning.context is None
    response = client.responses.create(
        model="gpt-4o",
        input="hi",
        user="user-1",
        prompt_cache_retention="24h",
        prompt_cache_options={"mode": "explicit"},
        reasoning={"effort": "low", "context": "current_turn", "mode": "pro"},
    )
    for seen in (response, client.responses.retrieve(response.id)):
        assert (seen.user, seen.prompt_cache_retention) == ("user-1", "24h")
        assert seen.prompt_cache_options is not None
        assert (seen.prompt_cache_options.mode, seen.prompt_cache_options.ttl) == (
            "explicit",
            "30m",  # the documented default
        )
        assert seen.reasoning is not None
        assert (seen.reasoning.context, seen.reasoning.mode) == ("current_turn", "pro")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-4o",
            input="hi",
            prompt_cache_options={"prewarm": True},  # type: ignore[typeddict-unknown-key]
        )
    assert caught.value.code == "unknown_parameter"


def test_a_function_tools_output_schema_is_echoed(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {}}
    tool = {
        "type": "function",
        "name": "f",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        "output_schema": schema,
    }
    response = client.responses.create(model="gpt-4o", input="hi", tools=[tool])  # type: ignore[list-item]
    assert response.tools[0].output_schema == schema  # type: ignore[union-attr]
