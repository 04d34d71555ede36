"""What a replayed cassette's event streams must be beyond YAML: JSON data, ended where a client stops."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asst_deploy import yamlpos
from asst_deploy.conversation import sse
from asst_deploy.errors import AsstDeployError
from asst_deploy.replay.cassette.format import content_type, json_of

# The events after which a client stops reading a stream (so the recording ends there): the
# Assistants' `done`, a session at rest or paused at its budget (Agents), a response's end
# (Responses), and an error.
STREAM_ENDS = frozenset(
    {
        "done",
        "error",
        "agent.session.idle",
        "agent.session.failed",
        "agent.session.budget_reached",
        "agent.session.turn.completed",
        "agent.session.turn.failed",
        "agent.session.turn.cancelled",
        "response.completed",
        "response.failed",
        "response.incomplete",
    }
)
_DONE = "[DONE]"  # the Assistants' `done` event's data: the one that is not JSON


def stream_problem(data: list[Any]) -> tuple[int, int | None, str] | None:
    """The first damaged event stream of a loaded cassette (vcrpy's (request, response)
    pairs): (its interaction, the event, why), or None. Its data must be JSON (a stream
    that says otherwise was edited: no API sends it), and it must end where a client
    stops reading, unless the client went on by polling (a connection that broke while
    recording): else it was cut short."""
    for index, (_, response) in enumerate(data):
        if not content_type(response.get("headers") or {}).startswith("text/event-stream"):
            continue
        text = (response.get("body") or {}).get("string") or ""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        events = sse.parse(text)
        for j, event in enumerate(events):
            found = event.get("data")
            if isinstance(found, str) and found != _DONE and not json_of(found)[0]:
                shown = found if len(found) <= 40 else found[:40] + "..."
                why = f"event {j + 1} of the stream has data that is not JSON ({shown!r})"
                return index, j, why
        last = events[-1] if events else {}
        ended = last.get("event") in STREAM_ENDS or last.get("data") == _DONE
        following = data[index + 1][0] if index + 1 < len(data) else None
        if not ended and getattr(following, "method", None) != "GET":
            after = f"after event {last.get('event')!r}" if last else "with no event"
            return (
                index,
                None,
                f"the event stream ends {after}, before the turn did: it was cut short",
            )
    return None


def check_streams(cassette: Any, path: Path) -> None:
    """Refuse a replayed cassette whose event streams were damaged: an AsstDeployError
    saying where (the line is looked up only then: positions cost a second parse)."""
    found = stream_problem(list(cassette.data))
    if found is None:
        return
    index, event, why = found
    docs = yamlpos.parse(path.read_text(encoding="utf-8"), str(path), [])
    body = docs[0].data["interactions"][index]["response"]["body"] if docs else {}
    at: tuple[Any, ...] = ("interactions", index, "response", "body")
    if isinstance(body, Mapping) and "events" in body:
        at += ("events",) if event is None else ("events", event, "data")
    else:
        at += ("string",)
    line = docs[0].where(at).line if docs else 0
    raise AsstDeployError(f"line {line}: {why}" if line else why)
