"""The agents driver at a session's spending limit, and its bounded waits, over scripted API
answers (a mock transport: recorded-looking event streams and polls, parsed by the SDK)."""

from __future__ import annotations

import dataclasses
import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from asst_deploy.conversation.script import Conversation
from asst_deploy.conversation.transcript import Transcript, TurnResult
from asst_deploy.fastforward import FastForward
from asst_deploy.generations.agents.driver import AgentsDriver
from asst_deploy.generations.sdk.driver_base import Deployed, DriverOptions, TurnError
from asst_deploy.replay.expect import check_turn
from asst_deploy.replay.scripts import load_script

SESSION = "sess_budget"
TURN = "turn_1"
BUDGET_ERROR = {"code": "session_budget_exceeded", "message": "The session reached its budget."}
STREAM_LIFETIME = 5.0  # seconds a scripted stream keeps sending keep-alives (a hang's bound)

SCRIPT = """
assistant: bot
functions:
  get_weather: {output: {temp: 18}}
conversations:
  - name: paused
    turns:
      - user: weather in Oslo
        expect: {status: budget_reached}
  - name: unexpected
    turns:
      - user: weather in Oslo
"""


def session(status: str, consumed: int | None = None, limit: int | None = 10) -> dict[str, Any]:
    return {
        "id": SESSION,
        "object": "agent.session",
        "status": status,
        "required_actions": [],
        "metadata": {},
        "spend_control": {"limit": limit, "consumed": consumed},
    }


def turn_obj(status: str, error: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": TURN, "object": "agent.session.turn", "status": status, "error": error}


MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Checking the weath"}],
}


class FakeAgents:
    """A scripted Agents API: the events a turn's stream sends (then only keep-alives), the
    session statuses successive polls read (the last repeats; after a cancel, `after_cancel`),
    the newest turn and its items; every request kept."""

    def __init__(
        self,
        events: list[dict[str, Any]] = (),  # type: ignore[assignment]
        statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
        newest: dict[str, Any] | None = None,
        items: list[dict[str, Any]] = (),  # type: ignore[assignment]
        after_cancel: dict[str, Any] | None = None,
    ) -> None:
        self.events = list(events)
        self.statuses = list(statuses) or [session("in_progress")]
        self.newest = newest
        self.items = list(items)
        self.after_cancel = after_cancel
        self.cancelled = False
        self.requests: list[tuple[str, str, Any]] = []

    def client(self) -> openai.OpenAI:
        http = openai.DefaultHttpxClient(transport=httpx2.MockTransport(self.handle))
        return openai.OpenAI(
            base_url="http://agents.test/v1", api_key="test", max_retries=0, http_client=http
        )

    def sent(self, method: str, path: str) -> list[Any]:
        return [b for m, p, b in self.requests if (m, p) == (method, path)]

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path.removeprefix("/v1")
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, path, body))
        base = f"/agents/sessions/{SESSION}"
        if (request.method, path) == ("POST", "/agents/sessions"):
            return httpx2.Response(200, json=session("idle"))
        if (request.method, path) == ("GET", f"{base}/events"):
            return httpx2.Response(
                200, headers={"content-type": "text/event-stream"}, content=self._stream()
            )
        if (request.method, path) == ("POST", f"{base}/events"):
            if any(e["type"] == "agent.session.input.cancel" for e in body["events"]):
                self.cancelled = True
            return httpx2.Response(200, json={})
        if (request.method, path) == ("GET", base):
            if self.cancelled and self.after_cancel is not None:
                return httpx2.Response(200, json=self.after_cancel)
            found = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return httpx2.Response(200, json=found)
        if (request.method, path) == ("GET", f"{base}/turns"):
            data = [self.newest] if self.newest else []
            return httpx2.Response(200, json={"object": "list", "data": data, "has_more": False})
        if (request.method, path) == ("GET", f"{base}/turns/{TURN}/items"):
            page = {"object": "list", "data": self.items, "has_more": False}
            return httpx2.Response(200, json=page)
        raise AssertionError(f"unscripted request {request.method} {path}")

    def _stream(self) -> Iterator[bytes]:
        for event in self.events:
            yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
        # the stream stays open, as a live one does: only keep-alive comments, no event
        until = time.monotonic() + STREAM_LIFETIME
        while time.monotonic() < until:
            time.sleep(0.01)
            yield b": keep-alive\n\n"


def event(kind: str, n: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": f"evt_{n}", "session_id": SESSION, **fields}


@pytest.fixture(scope="module")
def conversations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Conversation]:
    path = tmp_path_factory.mktemp("budget") / "bot.conv.yaml"
    path.write_text(textwrap.dedent(SCRIPT).lstrip())
    return {c.name: c for c in load_script(path).conversations}


def drive(
    fake: FakeAgents,
    conversation: Conversation,
    *,
    streaming: bool,
    timeout: float = 30.0,
    settle: float = 0.2,
    before: list[TurnResult] = (),  # type: ignore[assignment]
    limit: int | None = None,
) -> TurnResult:
    clock = FastForward()  # polls skip their waits; a stream's silence takes real time
    options = DriverOptions(
        root=Path("."),
        sleep=clock.sleep,
        clock=clock.monotonic,
        settle_timeout=settle,
        session_spend_limit_cents=limit,
    )
    driver = AgentsDriver(fake.client(), options)
    conversation = dataclasses.replace(conversation, streaming=streaming, timeout=timeout)
    transcript: Transcript = driver.start(Deployed("agent_1", {}), conversation)
    transcript.turns.extend(before)
    return driver.turn(transcript, conversation.turns[0], conversation)


def streamed_budget_events(turn_ends: bool) -> list[dict[str, Any]]:
    events = [
        event("agent.session.in_progress", 1, session=session("in_progress", 3)),
        event("agent.session.turn.created", 2, turn_id=TURN, turn=turn_obj("in_progress")),
        event("agent.session.turn.item.done", 3, turn_id=TURN, output_index=0, item=MESSAGE),
    ]
    if turn_ends:
        failed = turn_obj("failed", BUDGET_ERROR)
        events.append(event("agent.session.turn.failed", 4, turn_id=TURN, turn=failed))
    paused = session("budget_reached", 12)
    return [*events, event("agent.session.budget_reached", 5, session=paused)]


def test_a_streamed_turn_paused_at_its_budget_ends_with_that_outcome(
    conversations: dict[str, Conversation],
) -> None:
    fake = FakeAgents(events=streamed_budget_events(turn_ends=True))
    began = time.monotonic()
    result = drive(fake, conversations["paused"], streaming=True)
    # no wait for an idle that never comes: the stream still had seconds of keep-alives
    assert time.monotonic() - began < STREAM_LIFETIME / 2
    assert (result.status, result.error) == ("budget_reached", "The session reached its budget.")
    assert result.spend == {"limit": 10, "consumed": 12}
    assert result.run_id == TURN and result.reply == "Checking the weath"
    assert "run: budget_reached (The session reached its budget.)" in result.render()
    assert "spend: 12 of 10 cents" in result.render()
    assert not fake.cancelled  # the turn had ended: nothing to stop
    turn = conversations["paused"].turns[0]
    assert check_turn(turn, result, {}, api="agents") == ([], [])


def test_the_implicit_completed_status_names_the_budget(
    conversations: dict[str, Conversation],
) -> None:
    fake = FakeAgents(events=streamed_budget_events(turn_ends=True))
    result = drive(fake, conversations["unexpected"], streaming=True)
    failures, _ = check_turn(conversations["unexpected"].turns[0], result, {}, api="agents")
    assert [f.message for f in failures] == [
        "the run ended budget_reached (The session reached its budget.), expected completed"
    ]


def test_a_pause_before_the_turn_ends_stops_the_turn_after_the_settle_bound(
    conversations: dict[str, Conversation],
) -> None:
    fake = FakeAgents(events=streamed_budget_events(turn_ends=False))
    began = time.monotonic()
    result = drive(fake, conversations["paused"], streaming=True, settle=0.2)
    assert time.monotonic() - began < STREAM_LIFETIME / 2
    assert fake.cancelled  # the turn the pause left open was cancelled
    assert result.status == "budget_reached"
    assert result.error == f"session {SESSION} reached its spending limit"
    assert result.spend == {"limit": 10, "consumed": 12}


def test_a_polled_turn_paused_at_its_budget_ends_with_that_outcome(
    conversations: dict[str, Conversation],
) -> None:
    fake = FakeAgents(
        statuses=[session("in_progress", 3), session("budget_reached", 11)],
        newest=turn_obj("failed", BUDGET_ERROR),
        items=[MESSAGE],
    )
    result = drive(fake, conversations["paused"], streaming=False)
    assert (result.status, result.error) == ("budget_reached", "The session reached its budget.")
    assert result.spend == {"limit": 10, "consumed": 11}
    assert result.reply == "Checking the weath" and not fake.cancelled


def test_input_to_a_paused_session_reports_no_earlier_turn_as_its_own(
    conversations: dict[str, Conversation],
) -> None:
    # the session was paused by the turn before: the input starts no turn, and the newest
    # turn is the one already reported
    earlier = TurnResult(1, "hi", run_id=TURN, status="budget_reached")
    fake = FakeAgents(statuses=[session("budget_reached", 12)], newest=turn_obj("failed"))
    result = drive(fake, conversations["paused"], streaming=False, before=[earlier])
    assert (result.status, result.run_id, result.reply) == ("budget_reached", "", "")
    assert fake.sent("GET", f"/agents/sessions/{SESSION}/turns/{TURN}/items") == []


def test_a_session_spend_limit_in_the_options_is_sent_on_create(
    conversations: dict[str, Conversation],
) -> None:
    fake = FakeAgents(statuses=[session("idle")], newest=turn_obj("completed"), items=[MESSAGE])
    drive(fake, conversations["unexpected"], streaming=False, limit=25)
    assert fake.sent("POST", "/agents/sessions")[0]["spend_control"] == {"limit": 25}
    fake = FakeAgents(statuses=[session("idle")], newest=turn_obj("completed"), items=[MESSAGE])
    drive(fake, conversations["unexpected"], streaming=False)
    assert "spend_control" not in fake.sent("POST", "/agents/sessions")[0]


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "polled"])
def test_a_session_that_never_rests_is_an_error_naming_it_within_the_bounds(
    conversations: dict[str, Conversation], streaming: bool
) -> None:
    # in progress for ever, even once cancelled; the stream sends keep-alives only
    fake = FakeAgents(statuses=[session("in_progress")])
    began = time.monotonic()
    with pytest.raises(TurnError) as caught:
        drive(fake, conversations["unexpected"], streaming=streaming, timeout=0.2, settle=0.2)
    assert time.monotonic() - began < STREAM_LIFETIME / 2
    assert fake.cancelled
    assert str(caught.value) == (
        f"turn 1: session {SESSION} did not come to rest (idle, failed or budget_reached) "
        "within 0.2 s of cancelling its turn, which had run past the turn's 0.2 s timeout; "
        "the session is still in_progress"
    )


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "polled"])
def test_a_turn_past_its_timeout_is_cancelled_and_reported_timed_out(
    conversations: dict[str, Conversation], streaming: bool
) -> None:
    fake = FakeAgents(
        statuses=[session("in_progress")],
        newest=turn_obj("in_progress"),
        after_cancel=session("idle"),
    )
    began = time.monotonic()
    result = drive(fake, conversations["unexpected"], streaming=streaming, timeout=0.2)
    assert time.monotonic() - began < STREAM_LIFETIME / 2
    assert fake.cancelled and result.status == "timed_out"
    assert result.error == (
        f"session {SESSION} did not come to rest (idle, failed or budget_reached) within the "
        "turn's 0.2 s timeout; the turn was cancelled"
    )
