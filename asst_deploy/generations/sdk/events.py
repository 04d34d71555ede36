"""SDK event streams read as the JSON the service sent, typed only where a transcript keeps the object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai

from asst_deploy.generations.sdk.driver_base import wire
from asst_deploy.types import Json


class RawEvents:
    """The events of an SDK stream not read yet, each as its decoded JSON (an Assistants
    event as {"event": name, "data": object}): building the SDK's models for every event,
    deltas included, was most of a replayed turn's time, and a driver decides on a few
    fields of each. `typed` gives an event as the SDK's typed stream would have (its model
    dumped as the wire shows it), for the objects a transcript keeps."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._model: Any = getattr(stream, "_cast_to", None)
        # the SDK reads the type to build at its first event: from then on it hands over
        # the decoded JSON as it is. Both hooks are the SDK's own internals: an SDK without
        # them is read typed, as before (tests/replay/test_raw_events.py pins them)
        self._untyped = (
            isinstance(stream, openai.Stream)
            and self._model is not None
            and callable(getattr(getattr(stream, "_client", None), "_process_response_data", None))
        )
        if self._untyped:
            stream._cast_to = object

    def __enter__(self) -> RawEvents:
        self.stream.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.__exit__(*exc)

    def __iter__(self) -> Iterator[dict[str, Json]]:
        for event in self.stream:
            yield event if self._untyped else wire(event)

    def typed(self, event: dict[str, Json]) -> dict[str, Json]:
        """`event` built as the SDK's model of it (the same call the SDK makes), dumped."""
        if not self._untyped:
            return event
        client = self.stream._client
        built = client._process_response_data(
            data=event, cast_to=self._model, response=self.stream.response
        )
        return wire(built)
