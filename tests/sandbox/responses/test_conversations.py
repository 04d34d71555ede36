"""/conversations and their items through the official SDK, validated by its pydantic types."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai.types.conversations import (
    Conversation,
    ConversationDeletedResource,
    ConversationItem,
    ConversationItemList,
)
from pydantic import TypeAdapter

from asst_deploy.sandbox.model import ScriptedModel

ITEM: TypeAdapter[ConversationItem] = TypeAdapter(ConversationItem)


def test_create_retrieve_update_delete(client: openai.OpenAI, raw: httpx2.Client) -> None:
    created = Conversation.model_validate(
        raw.post(
            "/conversations",
            json={"metadata": {"topic": "demo"}, "items": [{"role": "user", "content": "hi"}]},
        ).json()
    )
    assert created.id.startswith("conv_") and created.metadata == {"topic": "demo"}
    assert client.conversations.retrieve(created.id).created_at == created.created_at
    updated = client.conversations.update(created.id, metadata={"topic": "other"})
    assert updated.metadata == {"topic": "other"}
    gone = ConversationDeletedResource.model_validate(
        raw.delete(f"/conversations/{created.id}").json()
    )
    assert (gone.id, gone.deleted, gone.object) == (created.id, True, "conversation.deleted")
    with pytest.raises(openai.NotFoundError) as caught:
        client.conversations.retrieve(created.id)
    assert caught.value.body == {
        "message": f"Conversation with id '{created.id}' not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_items_are_added_listed_retrieved_and_deleted(
    client: openai.OpenAI, raw: httpx2.Client
) -> None:
    conversation = client.conversations.create(items=[{"role": "user", "content": "one"}])
    added = ConversationItemList.model_validate(
        raw.post(
            f"/conversations/{conversation.id}/items",
            json={
                "items": [
                    {"role": "assistant", "content": "two"},
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "three"}],
                    },
                ]
            },
        ).json()
    )
    assert [i.role for i in added.data] == ["assistant", "user"]  # type: ignore[union-attr]
    assert added.first_id == added.data[0].id and not added.has_more

    newest_first = client.conversations.items.list(conversation.id, limit=2)
    assert [i.content[0].text for i in newest_first.data] == ["three", "two"]  # type: ignore[union-attr]
    assert newest_first.has_more
    rest = client.conversations.items.list(conversation.id, after=newest_first.data[-1].id)
    assert [i.content[0].text for i in rest.data] == ["one"]  # type: ignore[union-attr]

    item_id = added.data[0].id
    item = ITEM.validate_python(raw.get(f"/conversations/{conversation.id}/items/{item_id}").json())
    assert item.type == "message" and item.content[0].type == "output_text"  # type: ignore[union-attr]
    after = client.conversations.items.delete(item_id, conversation_id=conversation.id)
    assert after.id == conversation.id
    with pytest.raises(openai.NotFoundError, match=f"Item with id '{item_id}' not found."):
        client.conversations.items.retrieve(item_id, conversation_id=conversation.id)
    assert len(client.conversations.items.list(conversation.id).data) == 2
    through_sdk = client.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user", "content": "four"}]
    )
    assert [i.content[0].text for i in through_sdk.data] == ["four"]  # type: ignore[union-attr]


def test_an_empty_conversation_lists_no_items(client: openai.OpenAI) -> None:
    conversation = client.conversations.create()
    page = client.conversations.items.list(conversation.id)
    assert page.data == [] and not page.has_more


def test_responses_feed_the_conversation_and_read_it_back(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    conversation = client.conversations.create(
        items=[{"role": "user", "content": "my name is Ada"}]
    )
    first = client.responses.create(model="gpt-4o", conversation=conversation.id, input="hello")
    assert first.output_text == "You said: hello"
    # the earlier items count as input: the conversation is the context
    second = client.responses.create(model="gpt-4o", conversation=conversation.id, input="again")
    assert second.usage is not None and first.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens
    texts = [
        i.content[0].text  # type: ignore[union-attr]
        for i in client.conversations.items.list(conversation.id, order="asc").data
    ]
    assert texts == ["my name is Ada", "hello", "You said: hello", "again", "You said: again"]


def test_a_deleted_conversation_cannot_be_answered_in(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    conversation = client.conversations.create()
    client.conversations.delete(conversation.id)
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="gpt-4o", conversation=conversation.id, input="hi")
    assert caught.value.body["param"] == "conversation"  # type: ignore[index]


def test_safety_identifier_is_accepted_on_create(client: openai.OpenAI, raw: httpx2.Client) -> None:
    # openai 3.60 sends it; the SDK's Conversation has no such field, so it is not echoed
    created = client.conversations.create(safety_identifier="user-1234", metadata={"a": "b"})
    assert created.metadata == {"a": "b"} and not created.model_extra
    assert client.conversations.create(safety_identifier=None).id.startswith("conv_")
    too_long = raw.post("/conversations", json={"safety_identifier": "u" * 129})
    assert too_long.status_code == 400
    assert too_long.json()["error"]["param"] == "safety_identifier"
    assert too_long.json()["error"]["code"] == "string_above_max_length"
