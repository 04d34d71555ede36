"""Vector stores, their files and batches through the SDK; lazy processing on a stepped clock."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from asst_deploy.sandbox.app import Sandbox


class SteppedClock:
    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(sandbox: Sandbox) -> Iterator[SteppedClock]:
    """Freeze the sandbox's clock and give files 10 s of processing."""
    saved = sandbox.clock, sandbox.processing_delay
    stepped = SteppedClock()
    sandbox.clock, sandbox.processing_delay = stepped, 10.0
    yield stepped
    sandbox.clock, sandbox.processing_delay = saved


def upload(client: openai.OpenAI, name: str = "doc.txt", content: bytes = b"Hello, OpenAI!") -> str:
    return client.files.create(file=(name, content), purpose="assistants").id


def test_store_shape_matches_the_recording(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="unittest")
    raw = client.vector_stores.with_raw_response.retrieve(store.id).http_response.json()
    assert raw == {
        "id": store.id,
        "object": "vector_store",
        "name": "unittest",
        "status": "completed",
        "usage_bytes": 0,
        "created_at": store.created_at,
        "file_counts": {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0},
        "metadata": {},
        "expires_after": None,
        "expires_at": None,
        "last_active_at": store.created_at,
    }


def test_file_progresses_from_in_progress_to_completed(
    client: openai.OpenAI, clock: SteppedClock
) -> None:
    store = client.vector_stores.create(name="s")
    file_id = upload(client)
    created = client.vector_stores.files.with_raw_response.create(
        vector_store_id=store.id, file_id=file_id
    )
    assert created.parse().status == "in_progress"
    assert "openai-poll-after-ms" not in created.headers  # no real recording carries it
    assert client.vector_stores.retrieve(store.id).status == "in_progress"
    clock.now += 9.9
    assert (
        client.vector_stores.files.retrieve(file_id, vector_store_id=store.id).status
        == "in_progress"
    )
    clock.now += 0.1
    done = client.vector_stores.files.retrieve(file_id, vector_store_id=store.id)
    assert (done.status, done.usage_bytes, done.last_error) == ("completed", 14 + 1024, None)
    assert done.chunking_strategy and done.chunking_strategy.model_dump() == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
    }
    store_now = client.vector_stores.retrieve(store.id)
    assert (store_now.status, store_now.usage_bytes, store_now.file_counts.completed) == (
        "completed",
        1038,
        1,
    )


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("image.png", b"\x89PNG", "unsupported_file"),
        ("noext", b"text", "unsupported_file"),
        ("binary.txt", b"\xff\xfe\x00\x81", "invalid_file"),
    ],
)
def test_unparseable_files_fail_like_the_real_ones(
    client: openai.OpenAI, clock: SteppedClock, name: str, content: bytes, code: str
) -> None:
    store = client.vector_stores.create(name="s")
    file_id = upload(client, name, content)
    client.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
    clock.now += 10
    failed = client.vector_stores.files.retrieve(file_id, vector_store_id=store.id)
    assert failed.status == "failed" and failed.usage_bytes == 0
    assert failed.last_error and failed.last_error.code == code
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.failed, counts.total) == (1, 1)
    assert [f.id for f in client.vector_stores.files.list(store.id, filter="failed")] == [file_id]
    assert list(client.vector_stores.files.list(store.id, filter="completed")) == []


def test_batch_lifecycle(client: openai.OpenAI, clock: SteppedClock) -> None:
    store = client.vector_stores.create(name="s")
    ids = [upload(client, f"f{i}.md") for i in range(3)]
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
    assert batch.object == "vector_store.file_batch" and batch.id.startswith("vsfb_")
    assert (batch.status, batch.file_counts.in_progress, batch.file_counts.total) == (
        "in_progress",
        3,
        3,
    )
    clock.now += 10
    done = client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
    assert (done.status, done.file_counts.completed) == ("completed", 3)
    listed = client.vector_stores.file_batches.list_files(
        batch.id, vector_store_id=store.id, order="asc"
    )
    assert [f.id for f in listed] == ids


def test_cancel_batch_cancels_what_is_still_processing(
    client: openai.OpenAI, clock: SteppedClock
) -> None:
    store = client.vector_stores.create(name="s")
    batch = client.vector_stores.file_batches.create(
        vector_store_id=store.id, file_ids=[upload(client), upload(client)]
    )
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert (cancelled.status, cancelled.file_counts.cancelled) == ("cancelled", 2)
    clock.now += 60
    assert client.vector_stores.retrieve(store.id).file_counts.cancelled == 2
    files = client.vector_stores.file_batches.list_files(
        batch.id, vector_store_id=store.id, filter="cancelled"
    )
    assert len(files.data) == 2


def test_create_and_poll_helpers(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="s")
    file = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("p.txt", b"polled")
    )
    assert file.status == "completed"
    batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store.id, files=[("q.txt", b"one"), ("r.txt", b"two")]
    )
    assert batch.file_counts.completed == 2
    assert client.vector_stores.retrieve(store.id).file_counts.total == 3


def test_file_attributes_update_and_delete(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="s")
    file_id = upload(client)
    client.vector_stores.files.create(
        vector_store_id=store.id, file_id=file_id, attributes={"lang": "en"}
    )
    updated = client.vector_stores.files.update(
        file_id, vector_store_id=store.id, attributes={"year": 2024}
    )
    assert updated.attributes == {"year": 2024}
    assert client.vector_stores.files.retrieve(file_id, vector_store_id=store.id).attributes == {
        "year": 2024
    }
    gone = client.vector_stores.files.delete(file_id, vector_store_id=store.id)
    assert gone.model_dump() == {
        "id": file_id,
        "object": "vector_store.file.deleted",
        "deleted": True,
    }
    assert client.files.retrieve(file_id).id == file_id  # detaching keeps the file
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(file_id, vector_store_id=store.id)


def test_file_content_page(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="s")
    file_id = upload(client, "c.txt", b"the content")
    client.vector_stores.files.create(vector_store_id=store.id, file_id=file_id)
    page = client.vector_stores.files.content(file_id, vector_store_id=store.id)
    assert [c.text for c in page] == ["the content"]


def test_search_ranks_by_query_words_and_filters_attributes(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="kb")
    refund = upload(client, "refund.md", b"Refunds are paid within 30 days of the refund request.")
    ship = upload(client, "shipping.md", b"Shipping takes 5 days.")
    client.vector_stores.files.create(
        vector_store_id=store.id, file_id=refund, attributes={"topic": "money"}
    )
    client.vector_stores.files.create(
        vector_store_id=store.id, file_id=ship, attributes={"topic": "post"}
    )
    hits = client.vector_stores.search(store.id, query="refund days").data
    assert [h.file_id for h in hits] == [refund, ship]
    assert hits[0].score == 1.0 and hits[1].score == 0.5
    assert hits[0].filename == "refund.md" and hits[0].content[0].text.startswith("Refunds")
    only_post = client.vector_stores.search(
        store.id, query="days", filters={"type": "eq", "key": "topic", "value": "post"}
    )
    assert [h.file_id for h in only_post] == [ship]
    either = client.vector_stores.search(
        store.id,
        query="days",
        max_num_results=1,
        filters={
            "type": "or",
            "filters": [
                {"type": "eq", "key": "topic", "value": "post"},
                {"type": "in", "key": "topic", "value": ["money"]},
            ],
        },
    )
    assert len(either.data) == 1
    assert client.vector_stores.search(store.id, query="zebra").data == []


def test_update_list_and_delete_stores(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(
        name="a", expires_after={"anchor": "last_active_at", "days": 2}
    )
    assert store.expires_at == store.last_active_at + 2 * 86400
    updated = client.vector_stores.update(
        store.id, name="b", metadata={"k": "v"}, expires_after=None
    )
    assert (updated.name, updated.metadata, updated.expires_at) == ("b", {"k": "v"}, None)
    assert store.id in [s.id for s in client.vector_stores.list(limit=100)]
    gone = client.vector_stores.delete(store.id)
    assert gone.model_dump() == {"id": store.id, "object": "vector_store.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as caught:
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-x")
    assert caught.value.body["message"] == f"No vector store found with id '{store.id}'."


@pytest.mark.anyio
async def test_async_vector_store_flow(aclient: openai.AsyncOpenAI) -> None:
    store = await aclient.vector_stores.create(name="async")
    file = await aclient.files.create(file=("a.txt", b"async search text"), purpose="assistants")
    attached = await aclient.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=file.id
    )
    assert attached.status == "completed"
    batch = await aclient.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[file.id]
    )
    assert batch.status == "completed"
    assert [f.id async for f in aclient.vector_stores.files.list(store.id)] == [file.id]
    hits = await aclient.vector_stores.search(store.id, query="search")
    assert hits.data[0].file_id == file.id
    assert (await aclient.vector_stores.update(store.id, name="renamed")).name == "renamed"
    assert (await aclient.vector_stores.delete(store.id)).deleted


def test_a_description_is_accepted_on_create(client: openai.OpenAI) -> None:
    # The vector store object (openapi.yaml, SDK) has no field to show it in.
    store = client.vector_stores.create(name="kb", description="what it holds")
    assert client.vector_stores.retrieve(store.id).name == "kb"
