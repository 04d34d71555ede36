"""Threads and messages through the official SDK, with the real service's shapes and errors."""

from __future__ import annotations

import re
from typing import Any

import openai
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

STREAM_ONLY = {"status", "incomplete_details", "completed_at", "incomplete_at"}


def test_thread_crud(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "first"}, {"role": "assistant", "content": "second"}],
        metadata={"team": "qa"},
    )
    assert thread.object == "thread" and thread.metadata == {"team": "qa"}
    assert thread.tool_resources is not None
    assert client.beta.threads.retrieve(thread.id).id == thread.id
    changed = client.beta.threads.update(
        thread.id,
        metadata={"team": "ops"},
        tool_resources={"code_interpreter": {"file_ids": []}},
    )
    assert changed.metadata == {"team": "ops"}
    assert (
        changed.tool_resources is not None and changed.tool_resources.code_interpreter is not None
    )
    page = client.beta.threads.messages.list(thread_id=thread.id, order="asc")
    assert [(m.role, m.content[0].text.value) for m in page.data] == [  # type: ignore[union-attr]
        ("user", "first"),
        ("assistant", "second"),
    ]
    gone = client.beta.threads.delete(thread.id)
    assert (gone.id, gone.object, gone.deleted) == (thread.id, "thread.deleted", True)
    with pytest.raises(openai.NotFoundError) as missing:
        client.beta.threads.retrieve(thread.id)
    assert missing.value.body == {
        "message": f"No thread found with id '{thread.id}'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_message_crud_and_shape(client: openai.OpenAI) -> None:
    upload = client.files.create(file=("notes.txt", b"some notes"), purpose="assistants")
    thread = client.beta.threads.create()
    raw = client.beta.threads.messages.with_raw_response.create(
        thread_id=thread.id,
        role="user",
        content="Read this",
        attachments=[{"file_id": upload.id, "tools": [{"type": "code_interpreter"}]}],
        metadata={"n": "1"},
    )
    body: dict[str, Any] = raw.http_response.json()
    assert not STREAM_ONLY & set(body)  # the real service leaves them out of JSON answers
    assert body["content"] == [{"type": "text", "text": {"value": "Read this", "annotations": []}}]
    assert body["attachments"] == [{"file_id": upload.id, "tools": [{"type": "code_interpreter"}]}]
    assert (body["assistant_id"], body["run_id"], body["metadata"]) == (None, None, {"n": "1"})
    message = raw.parse()
    got = client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)
    assert got.id == message.id
    changed = client.beta.threads.messages.update(
        message.id, thread_id=thread.id, metadata={"n": "2"}
    )
    assert changed.metadata == {"n": "2"}
    gone = client.beta.threads.messages.delete(message.id, thread_id=thread.id)
    assert (gone.object, gone.deleted) == ("thread.message.deleted", True)
    with pytest.raises(
        openai.NotFoundError, match=re.escape(f"No message found with id '{message.id}'.")
    ):
        client.beta.threads.messages.retrieve(message.id, thread_id=thread.id)


def test_content_parts(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content=[
            {"type": "text", "text": "look"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
        ],
    )
    assert [c.type for c in message.content] == ["text", "image_url"]
    assert message.content[1].image_url.detail == "auto"  # type: ignore[union-attr]


def test_message_pagination(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": str(i)} for i in range(5)]
    )
    ids = [m.id for m in client.beta.threads.messages.list(thread_id=thread.id, order="asc")]
    desc = client.beta.threads.messages.list(thread_id=thread.id, limit=2)
    assert [m.id for m in desc.data] == ids[:2:-1][:2] and desc.has_more
    after = client.beta.threads.messages.list(thread_id=thread.id, order="asc", after=ids[1])
    assert [m.id for m in after.data] == ids[2:]
    before = client.beta.threads.messages.list(thread_id=thread.id, order="asc", before=ids[2])
    assert [m.id for m in before.data] == ids[:2]
    assert [
        m.id for m in client.beta.threads.messages.list(thread_id=thread.id, order="asc")
    ] == ids
    empty = client.beta.threads.messages.list(thread_id=thread.id, run_id="run_none")
    assert (empty.data, empty.first_id, empty.last_id) == ([], None, None)


def test_validation_errors(client: openai.OpenAI) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    message = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    with pytest.raises(openai.BadRequestError) as boolean:
        client.beta.threads.messages.update(
            message.id,
            thread_id=thread.id,
            metadata={"modified": True},  # type: ignore[dict-item]
        )
    assert boolean.value.body == {
        "message": "Invalid type for 'metadata.modified': expected a string, but got a "
        "boolean instead.",
        "type": "invalid_request_error",
        "param": "metadata.modified",
        "code": "invalid_type",
    }
    with pytest.raises(openai.BadRequestError) as role:
        client.beta.threads.messages.create(
            thread_id=thread.id,
            role="system",
            content="x",  # type: ignore[arg-type]
        )
    assert role.value.code == "invalid_value"
    with pytest.raises(openai.BadRequestError) as many:
        client.beta.threads.create(metadata={f"k{i}": "v" for i in range(17)})
    assert many.value.code == "object_above_max_properties"
    with pytest.raises(
        openai.NotFoundError, match=re.escape("No thread found with id 'thread_x'.")
    ):
        client.beta.threads.messages.create(thread_id="thread_x", role="user", content="x")


def test_thread_with_a_new_vector_store(client: openai.OpenAI) -> None:
    upload = client.files.create(file=("faq.md", b"# FAQ"), purpose="assistants")
    thread = client.beta.threads.create(
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [upload.id]}]}}
    )
    assert thread.tool_resources is not None and thread.tool_resources.file_search is not None
    (store_id,) = thread.tool_resources.file_search.vector_store_ids or []
    files = client.vector_stores.files.list(vector_store_id=store_id)
    assert [f.id for f in files.data] == [upload.id]


@pytest.mark.anyio
async def test_async_threads_and_messages(aclient: openai.AsyncOpenAI) -> None:
    thread = await aclient.beta.threads.create(metadata={"a": "1"})
    await aclient.beta.threads.messages.create(thread_id=thread.id, role="user", content="hey")
    page = await aclient.beta.threads.messages.list(thread_id=thread.id)
    assert [m.content[0].text.value for m in page.data] == ["hey"]  # type: ignore[union-attr]
    assert (await aclient.beta.threads.delete(thread.id)).deleted
