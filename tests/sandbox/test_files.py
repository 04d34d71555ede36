"""Files through the official SDK: multipart upload, listing, download by id, delete."""

from __future__ import annotations

import httpx2
import openai
import pytest

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.server import SandboxServer
from tests.sandbox.conftest import API_KEY


def test_upload_answers_the_recorded_shape(client: openai.OpenAI) -> None:
    file = client.files.create(file=("hello.txt", b"Hello, OpenAI!"), purpose="assistants")
    raw = client.files.with_raw_response.retrieve(file.id).http_response.json()
    assert raw == {
        "object": "file",
        "id": file.id,
        "purpose": "assistants",
        "filename": "hello.txt",
        "bytes": 14,
        "created_at": file.created_at,
        "status": "processed",
        "status_details": None,
    }
    assert file.id.startswith("file-") and len(file.id) == 27


def test_download_by_id_returns_the_exact_bytes(client: openai.OpenAI) -> None:
    payload = bytes(range(256)) * 4
    file = client.files.create(file=("data.bin", payload), purpose="user_data")
    assert client.files.content(file.id).read() == payload


def test_assistants_files_cannot_be_downloaded(client: openai.OpenAI) -> None:
    file = client.files.create(file=("secret.txt", b"s"), purpose="assistants")
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.content(file.id)
    assert caught.value.body["message"] == "Not allowed to download files of purpose: assistants."


def test_list_filters_by_purpose_and_pages(client: openai.OpenAI) -> None:
    ids = [client.files.create(file=(f"b{i}.jsonl", b"{}"), purpose="batch").id for i in range(3)]
    batch = [f.id for f in client.files.list(purpose="batch") if f.id in ids]
    assert batch == ids[::-1]
    assert all(f.purpose == "batch" for f in client.files.list(purpose="batch"))
    first = client.files.list(purpose="batch", limit=1, order="asc", after=ids[0])
    assert [f.id for f in first.data] == [ids[1]]
    assert len(client.files.list(limit=10_000).data) >= 3


def test_list_limit_bounds(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.list(limit=10_001)
    assert caught.value.code == "integer_above_max_value"
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.list(limit=0)
    assert caught.value.code == "integer_below_min_value"


def test_delete_detaches_from_vector_stores(client: openai.OpenAI) -> None:
    kept = client.files.create(file=("a.md", b"# a"), purpose="assistants")
    doomed = client.files.create(file=("b.md", b"# b"), purpose="assistants")
    store = client.vector_stores.create(name="s", file_ids=[kept.id, doomed.id])
    gone = client.files.delete(doomed.id)
    assert gone.model_dump() == {"id": doomed.id, "object": "file", "deleted": True}
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.total, counts.completed) == (1, 1)
    assert [f.id for f in client.vector_stores.files.list(store.id)] == [kept.id]
    with pytest.raises(openai.NotFoundError) as caught:
        client.files.content(doomed.id)
    assert caught.value.body["message"] == f"No file found with id '{doomed.id}'."


def test_upload_expiry(client: openai.OpenAI) -> None:
    file = client.files.create(
        file=("t.jsonl", b"{}"),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert file.expires_at == file.created_at + 3600
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(
            file=("t.jsonl", b"{}"),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 60},
        )
    assert caught.value.param == "expires_after.seconds"


def test_upload_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("x.txt", b"x"), purpose="nonsense")  # type: ignore[arg-type]
    assert (caught.value.param, caught.value.code) == ("purpose", "invalid_value")
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(
            file=("x.txt", b"x"), purpose="assistants", extra_body={"colour": "red"}
        )
    assert caught.value.code == "unknown_parameter" and caught.value.param == "colour"


def test_upload_size_limit(client: openai.OpenAI, sandbox: Sandbox) -> None:
    saved = sandbox.max_upload_bytes
    sandbox.max_upload_bytes = 1000
    try:
        client.files.create(file=("ok.txt", b"x" * 1000), purpose="assistants")
        with pytest.raises(openai.APIStatusError) as caught:
            client.files.create(file=("big.txt", b"x" * 70_000), purpose="assistants")
        assert caught.value.status_code == 413
    finally:
        sandbox.max_upload_bytes = saved


@pytest.mark.anyio
async def test_async_file_roundtrip(aclient: openai.AsyncOpenAI) -> None:
    file = await aclient.files.create(file=("a.txt", b"async bytes"), purpose="user_data")
    assert (await aclient.files.retrieve(file.id)).bytes == 11
    assert (await aclient.files.content(file.id)).read() == b"async bytes"
    assert file.id in [f.id async for f in aclient.files.list(purpose="user_data")]
    assert (await aclient.files.delete(file.id)).deleted


@pytest.mark.parametrize(
    ("seconds", "code"),
    [
        ("9" * 5000, "integer_above_max_value"),  # past what int() reads: was a 500
        ("-" + "9" * 30, "integer_below_min_value"),
        ("²", "invalid_type"),  # a digit to str.isdigit, not an integer
    ],
)
def test_an_odd_expiry_is_a_400_not_a_500(server: SandboxServer, seconds: str, code: str) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    with httpx2.Client(base_url=server.base_url, headers=auth) as raw:
        answer = raw.post(
            "/files",
            data={
                "purpose": "assistants",
                "expires_after[anchor]": "created_at",
                "expires_after[seconds]": seconds,
            },
            files={"file": ("a.txt", b"hello")},
        )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["param"] == "expires_after.seconds"
