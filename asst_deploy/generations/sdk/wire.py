"""API collections called through the SDK's client without `client.beta` and its typed models.

`client.beta.assistants` and `client.beta.agents` import every beta resource and type
(agents, realtime, chatkit, threads, ...): 0.3-0.6 s, half a no-change plan, and their
typed models cost about a millisecond per object to build. The wire shape is all the
backend keeps (`_data` dumps the model again), so an open model holding the JSON as it
came serves; a list page is not made into models at all (a thousand objects a plan): its
items keep the JSON as it came (`WireItem`). Requests go through the same client: auth,
hooks, errors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx2
import openai

from asst_deploy.backend import RemoteError


class WireObject(openai.BaseModel):
    """An API object as its JSON says, every field kept (the SDK's models allow extras)."""

    id: str


class WireItem:
    """One object of a list page: its JSON as it came (`json`), and its `id`."""

    __slots__ = ("id", "json")

    def __init__(self, json: dict[str, Any]) -> None:
        self.json = json
        self.id: Any = json.get("id")


class WirePage:
    """A list page as the cursor pages of the SDK read it: `data` and `has_more`."""

    __slots__ = ("data", "has_more")

    def __init__(self, data: list[WireItem], has_more: bool | None) -> None:
        self.data = data
        self.has_more = has_more

    @classmethod
    def read(cls, response: httpx2.Response, path: str) -> WirePage:
        try:
            body = response.json()
        except ValueError:
            body = None
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise RemoteError(
                f"listing {path}",
                f"the answer is not a list page: {response.text[:200]!r}",
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            )
        return cls([WireItem(item) for item in items], body.get("has_more"))


class WireResource:
    """The calls the backend makes of one collection (list, create, retrieve, update,
    delete), with the generated resources' signatures, answers and errors."""

    def __init__(self, client: openai.OpenAI, path: str, beta: str | None, id_name: str) -> None:
        self._client = client
        self._path = path
        self._headers = {"OpenAI-Beta": beta} if beta else {}  # None: a surface out of beta
        self._id_name = id_name  # for the SDK's error on an empty id

    def _options(self, **extra: Any) -> Any:
        """Request options as the generated resources pass them (a TypedDict in the SDK)."""
        return {"headers": self._headers, "security": {"bearer_auth": True}, **extra}

    def _item(self, object_id: str) -> str:
        if not object_id:  # as the SDK: an empty id would address the collection
            raise ValueError(
                f"Expected a non-empty value for `{self._id_name}` but received {object_id!r}"
            )
        return f"{self._path}/{quote(object_id, safe='')}"

    def list(self, **query: Any) -> WirePage:
        """One page, its items left as JSON: no model is built for them (the raw answer,
        as the SDK's own `with_raw_response`; errors are raised as for any call)."""
        response = self._client.get(
            self._path, cast_to=httpx2.Response, options=self._options(params=query)
        )
        return WirePage.read(response, self._path)

    def create(self, **body: Any) -> WireObject:
        return self._client.post(self._path, body=body, cast_to=WireObject, options=self._options())

    def retrieve(self, object_id: str) -> WireObject:
        return self._client.get(self._item(object_id), cast_to=WireObject, options=self._options())

    def update(self, object_id: str, **body: Any) -> WireObject:
        return self._client.post(
            self._item(object_id), body=body, cast_to=WireObject, options=self._options()
        )

    def act(self, object_id: str, action: str) -> WireObject:
        """POST {path}/{id}/{action} with no body (`automations.pause(id)`, `.resume(id)`)."""
        return self._client.post(
            f"{self._item(object_id)}/{quote(action, safe='')}",
            cast_to=WireObject,
            options=self._options(),
        )

    def delete(self, object_id: str) -> WireObject:
        return self._client.delete(
            self._item(object_id), cast_to=WireObject, options=self._options()
        )


def assistants(client: openai.OpenAI) -> WireResource:
    """`client.beta.assistants`, lightly."""
    return WireResource(client, "/assistants", "assistants=v2", "assistant_id")


def vector_stores(client: openai.OpenAI) -> WireResource:
    """`client.vector_stores`, lightly: its resource module builds some thirty typed
    models on import (30 ms a plan), none of which a plan reads."""
    return WireResource(client, "/vector_stores", None, "vector_store_id")


def vector_store_files(client: openai.OpenAI, store_id: str) -> WireResource:
    """`client.vector_stores.files` of one store, lightly (its lists: a plan's reads)."""
    return WireResource(client, f"/vector_stores/{quote(store_id, safe='')}/files", None, "file_id")
