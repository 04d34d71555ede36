"""Assistants v2 calls through the SDK's client without `client.beta` and its typed models."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import openai
from openai.pagination import SyncCursorPage

# `client.beta.assistants` imports every beta resource and type (agents, realtime,
# chatkit, threads, ...): 0.3-0.6 s, half a no-change plan, and its typed models cost
# about a millisecond per object to build. The wire shape is all the backend keeps
# (`_data` dumps the model again), so an open model holding the JSON as it came serves.
_BETA = {"OpenAI-Beta": "assistants=v2"}


def _options(**extra: Any) -> Any:
    """Request options as the generated resources pass them (a TypedDict in the SDK)."""
    return {"headers": _BETA, "security": {"bearer_auth": True}, **extra}


class WireObject(openai.BaseModel):
    """An API object as its JSON says, every field kept (the SDK's models allow extras)."""

    id: str


class Assistants:
    """The subset of `client.beta.assistants` the backend calls, with the same signatures,
    answers and errors (requests go through the same client: retries, auth, hooks)."""

    def __init__(self, client: openai.OpenAI) -> None:
        self._client = client

    def list(self, **query: Any) -> SyncCursorPage[WireObject]:
        return self._client.get_api_list(
            "/assistants",
            page=SyncCursorPage[WireObject],
            model=WireObject,
            options=_options(params=query),
        )

    def create(self, **body: Any) -> WireObject:
        return self._client.post("/assistants", body=body, cast_to=WireObject, options=_options())

    def retrieve(self, assistant_id: str) -> WireObject:
        return self._client.get(_path(assistant_id), cast_to=WireObject, options=_options())

    def update(self, assistant_id: str, **body: Any) -> WireObject:
        return self._client.post(
            _path(assistant_id), body=body, cast_to=WireObject, options=_options()
        )

    def delete(self, assistant_id: str) -> WireObject:
        return self._client.delete(_path(assistant_id), cast_to=WireObject, options=_options())


def _path(assistant_id: str) -> str:
    if not assistant_id:  # as the SDK: an empty id would address the collection
        raise ValueError(
            f"Expected a non-empty value for `assistant_id` but received {assistant_id!r}"
        )
    return "/assistants/" + quote(assistant_id, safe="")
