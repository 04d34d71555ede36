"""Assistants through the official SDK, sync and async: CRUD, defaults, pagination."""

from __future__ import annotations

import warnings

import openai
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_create_answers_the_real_shape(client: openai.OpenAI) -> None:
    asst = client.beta.assistants.create(
        model="gpt-4o-mini",
        name="Math Tutor",
        instructions="Write and run code.",
        tools=[{"type": "code_interpreter"}],
    )
    raw = asst.to_dict()
    assert asst.id.startswith("asst_") and len(asst.id) == 29
    assert raw["object"] == "assistant"
    assert raw["description"] is None and raw["reasoning_effort"] is None
    assert (raw["top_p"], raw["temperature"], raw["response_format"]) == (1.0, 1.0, "auto")
    assert raw["tool_resources"] == {"code_interpreter": {"file_ids": []}}
    assert raw["metadata"] == {}


def test_tools_are_echoed_with_their_defaults(client: openai.OpenAI) -> None:
    asst = client.beta.assistants.create(
        model="gpt-4o",
        tools=[
            {"type": "file_search"},
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"type": "object"}},
            },
        ],
    )
    file_search, function = asst.model_dump(exclude_none=True)["tools"]
    assert file_search["file_search"]["ranking_options"] == {
        "ranker": "default_2024_08_21",
        "score_threshold": 0.0,
    }
    assert function["function"]["strict"] is False
    assert asst.tool_resources and asst.tool_resources.file_search
    assert asst.tool_resources.file_search.vector_store_ids == []


def test_retrieve_modify_delete(client: openai.OpenAI) -> None:
    asst = client.beta.assistants.create(model="gpt-4o", name="a", metadata={"team": "x"})
    assert client.beta.assistants.retrieve(asst.id) == asst
    changed = client.beta.assistants.update(
        asst.id,
        name="b",
        temperature=0.5,
        metadata={"team": "y"},
        tools=[{"type": "code_interpreter"}],
    )
    assert (changed.name, changed.temperature, changed.metadata) == ("b", 0.5, {"team": "y"})
    assert changed.model == "gpt-4o" and changed.created_at == asst.created_at
    assert client.beta.assistants.retrieve(asst.id) == changed
    gone = client.beta.assistants.delete(asst.id)
    assert gone.model_dump() == {"id": asst.id, "object": "assistant.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.assistants.retrieve(asst.id)
    assert caught.value.body == {
        "message": f"No assistant found with id '{asst.id}'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_vector_store_helper_creates_and_attaches_a_store(client: openai.OpenAI) -> None:
    file = client.files.create(file=("notes.txt", b"alpha beta"), purpose="assistants")
    asst = client.beta.assistants.create(
        model="gpt-4o",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [file.id]}]}},
    )
    assert asst.tool_resources and asst.tool_resources.file_search
    (vs_id,) = asst.tool_resources.file_search.vector_store_ids or []
    assert client.vector_stores.retrieve(vs_id).file_counts.total == 1


def test_pagination_walks_every_page_in_both_orders(client: openai.OpenAI) -> None:
    ids = [
        client.beta.assistants.create(model="gpt-4o-mini", metadata={"page": "yes"}).id
        for _ in range(5)
    ]
    newest_first = [a.id for a in client.beta.assistants.list(limit=2) if a.id in ids]
    assert newest_first == ids[::-1]
    oldest_first = [a.id for a in client.beta.assistants.list(limit=2, order="asc") if a.id in ids]
    assert oldest_first == ids
    page = client.beta.assistants.list(limit=2, order="asc", after=ids[1])
    assert [a.id for a in page.data] == ids[2:4] and page.has_more
    before = client.beta.assistants.list(limit=2, order="asc", before=ids[3])
    assert [a.id for a in before.data] == ids[1:3]


def test_pagination_past_the_end_is_an_empty_page(client: openai.OpenAI) -> None:
    last = client.beta.assistants.create(model="gpt-4o-mini").id
    page = client.beta.assistants.list(after=last, order="asc")
    assert page.data == [] and page.has_more is False
    raw = client.beta.assistants.with_raw_response.list(
        after=last, order="asc"
    ).http_response.json()
    assert raw == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


@pytest.mark.anyio
async def test_async_crud(aclient: openai.AsyncOpenAI) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asst = await aclient.beta.assistants.create(model="gpt-4o", name="async")
        assert (await aclient.beta.assistants.retrieve(asst.id)).name == "async"
        updated = await aclient.beta.assistants.update(asst.id, description="d")
        assert updated.description == "d"
        listed = [a.id async for a in aclient.beta.assistants.list(order="asc")]
        assert asst.id in listed
        assert (await aclient.beta.assistants.delete(asst.id)).deleted is True
        with pytest.raises(openai.NotFoundError):
            await aclient.beta.assistants.delete(asst.id)
