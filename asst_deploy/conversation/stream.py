"""Fold an Assistants run's event stream into its final state, keying on data.status."""

from __future__ import annotations

from collections.abc import Mapping

from asst_deploy.types import Json


class RunStream:
    """The run, its steps and its messages as the events left them.

    The run's status is read from the event's data, never from the event's name: the real
    service announced a run that ended incomplete as `thread.run.completed` with
    `data.status == "incomplete"` (see ../shared/openai/recordings). Full objects win over
    deltas; deltas only fill in the text of a message whose final event never came.
    """

    def __init__(self) -> None:
        self.run: dict[str, Json] | None = None
        self.steps: dict[str, dict[str, Json]] = {}
        self.messages: dict[str, dict[str, Json]] = {}
        self.deltas: dict[str, list[str]] = {}
        self.error: str | None = None
        self.events = 0

    @property
    def status(self) -> str | None:
        return self.run.get("status") if self.run else None

    def feed(self, event: str, data: Mapping[str, Json] | None) -> None:
        self.events += 1
        if event == "error":
            self.error = str((data or {}).get("message") or data)
            return
        if not isinstance(data, Mapping) or event in ("done", "thread.created"):
            return
        if event.startswith("thread.run.step."):
            if not event.endswith(".delta"):
                self.steps[str(data["id"])] = dict(data)
        elif event.startswith("thread.run."):
            self.run = dict(data)
        elif event.startswith("thread.message."):
            if event.endswith(".delta"):
                self._delta(data)
            else:
                self.messages[str(data["id"])] = dict(data)

    def _delta(self, data: Mapping[str, Json]) -> None:
        pieces = self.deltas.setdefault(str(data["id"]), [])
        for part in (data.get("delta") or {}).get("content") or ():
            text = part.get("text") or {}
            if text.get("value"):
                pieces.append(text["value"])

    def message_list(self) -> list[dict[str, Json]]:
        """Messages in the order they started, with text from deltas where none came whole."""
        result = []
        for msg_id, message in self.messages.items():
            if not any(c.get("type") == "text" for c in message.get("content") or ()):
                text = "".join(self.deltas.get(msg_id, ()))
                if text:
                    message = {
                        **message,
                        "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
                    }
            result.append(message)
        return result

    def step_list(self) -> list[dict[str, Json]]:
        return sorted(self.steps.values(), key=lambda s: s.get("created_at") or 0)
