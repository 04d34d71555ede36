"""API collections called through the SDK's client without `client.beta` and its typed models.

`client.beta.assistants` and `client.beta.agents` import every beta resource and type
(agents, realtime, chatkit, threads, ...): 0.3-0.6 s, half a no-change plan, and their
typed models cost about a millisecond per object to build. The wire shape is all the
backend keeps (`_data` dumps the model again), so an open model holding the JSON as it
came serves. Requests go through the same client: auth, hooks, errors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import openai
from openai.pagination import SyncCursorPage


class WireObject(openai.BaseModel):
    """An API object as its JSON says, every field kept (the SDK's models allow extras)."""

    id: str


class WireResource:
    """The calls the backend makes of one collection (list, create, retrieve, update,
    delete), with the generated resources' signatures, answers and errors."""

    def __init__(self, client: openai.OpenAI, path: str, beta: str, id_name: str) -> None:
        self._client = client
        self._path = path
        self._headers = {"OpenAI-Beta": beta}
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

    def list(self, **query: Any) -> SyncCursorPage[WireObject]:
        return self._client.get_api_list(
            self._path,
            page=SyncCursorPage[WireObject],
            model=WireObject,
            options=self._options(params=query),
        )

    def create(self, **body: Any) -> WireObject:
        return self._client.post(self._path, body=body, cast_to=WireObject, options=self._options())

    def retrieve(self, object_id: str) -> WireObject:
        return self._client.get(self._item(object_id), cast_to=WireObject, options=self._options())

    def update(self, object_id: str, **body: Any) -> WireObject:
        return self._client.post(
            self._item(object_id), body=body, cast_to=WireObject, options=self._options()
        )

    def delete(self, object_id: str) -> WireObject:
        return self._client.delete(
            self._item(object_id), cast_to=WireObject, options=self._options()
        )


def assistants(client: openai.OpenAI) -> WireResource:
    """`client.beta.assistants`, lightly."""
    return WireResource(client, "/assistants", "assistants=v2", "assistant_id")
