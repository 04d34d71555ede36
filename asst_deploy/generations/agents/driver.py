"""The Agents API conversation driver: a session per conversation, input events, the event stream or polling."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai

from asst_deploy import identity
from asst_deploy.conversation.script import Conversation, Turn
from asst_deploy.conversation.transcript import ToolCall, Transcript, TurnResult
from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.generations.sdk.deadline import Overdue, bound
from asst_deploy.generations.sdk.driver_base import (
    AssistantNotFound,
    Deployed,
    DriverCore,
    DriverOptions,
    SessionPlace,
    StreamRecorder,
    TurnError,
    agent_form,
    answered,
    find_managed,
    function_call,
    refuse_assistants_only,
    wire,
)
from asst_deploy.generations.sdk.events import RawEvents
from asst_deploy.types import Json

_PAGE = 100
_POLL = 0.05  # seconds between polls of a session: the Agents API sends no poll hint
RESTING = ("agent.session.idle", "agent.session.failed", "agent.session.budget_reached")
# a session paused at its spending limit: its status, its event, a turn's error code
BUDGET_REACHED = "budget_reached"
BUDGET_EVENT = "agent.session.budget_reached"
BUDGET_CODE = "session_budget_exceeded"
TURN_ENDED = ("completed", "failed", "cancelled")
# turn status -> the run status scripts name (`status:` keeps its Assistants meaning)
_STATUS = {"completed": "completed", "failed": "failed", "cancelled": "cancelled"}
# The transport as httpx defines it, even when a cassette has patched the class: an event
# stream stays open until the client leaves, and the cassette's patch reads a response to
# its end before handing it over.
_SEND = inspect.unwrap(httpx2.HTTPTransport.handle_request)


def _functions(agent: Mapping[str, Json]) -> dict[str, Json]:
    """Function name -> parameters schema, from the agent's persisted tools (flat shape)."""
    return {
        t["name"]: t.get("parameters") or {"type": "object"}
        for t in agent.get("tools") or ()
        if t.get("type") == "function"
    }


def environment(agent: Mapping[str, Json]) -> dict[str, Json]:
    """The session environment: the hosted template the agent's metadata names, else none."""
    template = (agent.get("metadata") or {}).get(identity.TEMPLATE_KEY)
    return hosted(str(template)) if template else {"type": "none"}


def hosted(template_id: str) -> dict[str, Json]:
    return {"type": "openai_hosted", "environment_template_id": template_id}


def vaults(agent: Mapping[str, Json]) -> list[str]:
    """The vaults a session of the agent needs: those of its mcp tools' credentials, which
    the agent's metadata names (an agent holds no vaults; a session does)."""
    named = (agent.get("metadata") or {}).get(identity.VAULTS_KEY)
    return [v for v in str(named).split(",") if v] if named else []


@dataclass
class _Seen:
    """What a turn's events or polls told: the turn, its items, the session's last state."""

    session_id: str
    timeout: float  # the turn's, in seconds
    turn: dict[str, Json] = field(default_factory=dict)
    items: list[dict[str, Json]] = field(default_factory=list)
    session: dict[str, Json] = field(default_factory=dict)
    overdue: bool = False  # the turn ran past its deadline and was cancelled
    refused: str | None = None  # why a session paused at its budget refused the input

    @property
    def budget(self) -> bool:
        return self.session.get("status") == BUDGET_REACHED

    def rested(self, kind: str) -> bool:
        """Whether the session event `kind` ends the turn's wait, as the SDK's own stream
        helper decides: a failure at once; idle once the turn was seen; a pause at the
        budget once the turn ended (or when the input started none)."""
        if kind == "agent.session.failed":
            return True
        if kind == "agent.session.idle":
            return bool(self.turn)
        if self.budget and kind in (BUDGET_EVENT, *(f"agent.session.turn.{e}" for e in TURN_ENDED)):
            return not self.turn or self.turn.get("status") in TURN_ENDED
        return False


class _Tee(httpx2.SyncByteStream):
    """A response body passed through as it is read, its bytes kept for the recorder."""

    def __init__(self, inner: Any, done: Callable[[bytes], None]) -> None:
        self.inner = inner
        self.done = done
        self.read: list[bytes] = []

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.read.append(chunk)
            yield chunk

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.done(b"".join(self.read))


class _RecordingTransport(httpx2.HTTPTransport):
    """Event streams read live (not through a cassette's patch), then told to the recorder."""

    def __init__(self, recorder: StreamRecorder) -> None:
        super().__init__()
        self.recorder = recorder

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response: httpx2.Response = _SEND(self, request)

        def done(body: bytes) -> None:
            self.recorder(
                request.method,
                str(request.url),
                dict(request.headers),
                response.status_code,
                dict(response.headers),
                body,
            )

        response.stream = _Tee(response.stream, done)
        return response


class AgentsDriver(DriverCore):
    """One session per conversation; a turn is an input.message event, function calls are
    answered with tool_result events, and the turn is read from the session's event stream
    (streaming) or by polling the session, then its turn and items."""

    api = "agents"
    cassette_folder = "agents"
    spec_form = staticmethod(agent_form)
    not_applicable: Mapping[str, str] = {
        "citations": "the Agents API has no file_search, so replies cite no files",
    }

    deprecated = True  # the Agents API is a beta

    def __init__(self, client: openai.OpenAI, options: DriverOptions) -> None:
        super().__init__(client, options)
        self.settle = options.settle_timeout
        self.spend_limit = options.session_spend_limit_cents
        self.place = options.session or SessionPlace()
        self._streams = client
        if options.record_stream is not None:
            http = httpx2.Client(transport=_RecordingTransport(options.record_stream))
            self._streams = client.with_options(http_client=http)

    # --- the agent ----------------------------------------------------------------------

    def find(self, project: str, key: str, target: str) -> Deployed:
        with self._calls(0, "listing agents"):
            found = find_managed(AgentsBackend(self.client), "agent", project, key)
        if found is not None:
            return Deployed(found.id, dict(found.data), _functions(dict(found.data)))
        raise AssistantNotFound(
            f"assistant '{key}' of project '{project}' is not deployed as an agent on target "
            f"'{target}'; run `asst-deploy apply` first"
        )

    def get(self, remote_id: str) -> Deployed:
        with self._calls(0, "reading the agent"):
            found = wire(self.client.beta.agents.retrieve(remote_id))
        return Deployed(remote_id, found, _functions(found))

    # --- a conversation -----------------------------------------------------------------

    def start(self, deployed: Deployed, conversation: Conversation) -> Transcript:
        with self._calls(1, "creating the session"):
            # the script's `environment:` and `vaults:` replace the agent's own
            template = self.place.environment_template_id
            place: Any = environment(deployed.object) if template is None else hosted(template)
            given = self.place.vault_ids
            vault_ids = vaults(deployed.object) if given is None else list(given)
            limit: Any = openai.omit if self.spend_limit is None else {"limit": self.spend_limit}
            session = self.client.beta.agents.sessions.create(
                agent_id=deployed.id,
                environment=place,
                spend_control=limit,
                vault_ids=vault_ids or openai.omit,
            )
        return Transcript(conversation.name, session.id, deployed.id)

    def finish(self, transcript: Transcript) -> None:
        with self._calls(len(transcript.turns), "deleting the session"):
            self.client.beta.agents.sessions.delete(transcript.thread_id)

    def turn(self, transcript: Transcript, turn: Turn, conversation: Conversation) -> TurnResult:
        refuse_assistants_only(
            turn,
            conversation,
            "on agents, files come with the agent's environment template "
            "(code_interpreter files in the spec)",
            ", which agent turns do not take; move them into the spec, or run this "
            "conversation on an assistants environment",
        )
        result = TurnResult(turn.index, turn.user)
        reported = {t.run_id for t in transcript.turns if t.run_id}
        transcript.turns.append(result)
        start = self.clock()
        deadline = start + conversation.timeout
        message: Any = {
            "type": "agent.session.input.message",
            "input": [{"role": "user", "content": [{"type": "input_text", "text": turn.user}]}],
        }
        session_id = transcript.thread_id
        seen = _Seen(session_id, conversation.timeout)
        if conversation.streaming:
            self._streamed(turn, result, seen, message, deadline, reported)
        else:
            self._polled(turn, result, seen, message, deadline, reported)
        result.latency = self.clock() - start
        self._fill(result, seen)
        return result

    # --- streaming ----------------------------------------------------------------------

    def _streamed(
        self,
        turn: Turn,
        result: TurnResult,
        seen: _Seen,
        message: Any,
        deadline: float,
        reported: set[str],
    ) -> None:
        session_id = seen.session_id
        # the events the turn, its items and the session were last told by, kept untyped
        # while the stream is read (its decisions need a few fields) and typed at its end
        told: dict[str, dict[str, Json]] = {}
        items: dict[str, dict[str, Json]] = {}
        pending: list[dict[str, Json]] = []
        rested = False
        due = [deadline]  # shortened once the session pauses at its budget
        with self._calls(turn.index, "streaming the turn"):
            # subscribe first: the stream is live from now on, so nothing the input causes
            # is missed
            stream = self._streams.beta.agents.sessions.events.stream(
                session_id, timeout=self._left(deadline)
            )
            with RawEvents(stream) as events:
                bound(stream, lambda: self.clock() > due[0])
                if not self._send(seen, message):
                    return
                try:
                    for data in events:
                        kind = str(data.get("type"))
                        if kind.startswith("agent.session.turn.") and isinstance(
                            data.get("turn"), Mapping
                        ):
                            seen.turn = dict(data["turn"])
                            told["turn"] = data
                        elif kind == "agent.session.turn.item.done":
                            item = dict(data["item"])
                            items[str(item["id"])] = data
                            if item.get("type") == "function_call":
                                pending.append(item)
                        elif kind == "agent.session.turn.item.added":
                            items.setdefault(str(data["item"]["id"]), data)
                        elif kind == "agent.session.requires_action" and pending:
                            self._answer(turn, result, session_id, pending)
                            pending = []
                        elif kind == "error":
                            raise TurnError(
                                turn.index,
                                f"the session's stream reported an error: {events.typed(data)}",
                            )
                        snapshot = data.get("session")
                        if isinstance(snapshot, Mapping) and snapshot.get("id") == session_id:
                            seen.session = dict(snapshot)
                            told["session"] = data
                        if kind == BUDGET_EVENT and seen.session.get("status") == BUDGET_REACHED:
                            # the turn's end may still follow: waited for a short while only
                            due[0] = min(due[0], self.clock() + self.settle)
                        if seen.rested(kind):
                            rested = True
                            break
                        if self.clock() > due[0]:
                            break
                except (Overdue, httpx2.TimeoutException, openai.APITimeoutError):
                    pass  # a deadline passed while the stream said nothing (more)
                if "turn" in told:
                    seen.turn = dict(events.typed(told["turn"])["turn"])
                if "session" in told:
                    seen.session = dict(events.typed(told["session"])["session"])
                seen.items = [dict(events.typed(e)["item"]) for e in items.values()]
        if rested:
            return
        if seen.budget:
            self._stop_paused(turn.index, seen)
        elif self.clock() > deadline:
            self._stop(turn.index, seen)
        else:
            # the stream ended early (a dropped connection): finish by polling the session
            with self._calls(turn.index, "polling the session"):
                self._rest(turn, result, seen, deadline)
            if seen.overdue:
                self._stop(turn.index, seen)
            self._read(turn.index, seen, reported)

    # --- polling ------------------------------------------------------------------------

    def _polled(
        self,
        turn: Turn,
        result: TurnResult,
        seen: _Seen,
        message: Any,
        deadline: float,
        reported: set[str],
    ) -> None:
        with self._calls(turn.index, "sending the user message"):
            if not self._send(seen, message):
                return
        with self._calls(turn.index, "polling the session"):
            self._rest(turn, result, seen, deadline)
        if seen.overdue:
            self._stop(turn.index, seen)
        self._read(turn.index, seen, reported)

    def _send(self, seen: _Seen, message: Any) -> bool:
        """Send the user message; False when the session, paused at its budget, refuses it
        (the turn's outcome then, not an error)."""
        sessions = self.client.beta.agents.sessions
        try:
            sessions.events.create(seen.session_id, events=[message])
        except openai.APIStatusError as exc:
            if getattr(exc, "code", None) != BUDGET_CODE:
                raise
            seen.refused = exc.message
            seen.session = wire(sessions.retrieve(seen.session_id))
            return False
        return True

    def _rest(self, turn: Turn, result: TurnResult, seen: _Seen, deadline: float) -> None:
        """Poll the session until it rests (idle, failed, paused at its budget), answering
        its function calls; at the turn's deadline, note it overdue and return."""
        sessions = self.client.beta.agents.sessions
        answered: set[str] = set()
        while True:
            seen.session = wire(sessions.retrieve(seen.session_id))
            status = seen.session.get("status")
            if status not in ("in_progress", "requires_action"):
                return
            if self.clock() > deadline:
                seen.overdue = True
                return
            if status == "requires_action":
                calls = [
                    a
                    for a in seen.session.get("required_actions") or ()
                    if a["type"] == "function_call" and a["call_id"] not in answered
                ]
                if calls:
                    self._answer(turn, result, seen.session_id, calls)
                    answered.update(str(c["call_id"]) for c in calls)
                    continue
                # answered already (or nothing a script answers): the session moves on, or
                # the deadline ends the wait
            self.sleep(min(_POLL, self._left(deadline)))

    def _read(self, index: int, seen: _Seen, reported: set[str]) -> None:
        """The session's newest turn and its items, unless the input started none."""
        sessions = self.client.beta.agents.sessions
        with self._calls(index, "reading the turn and its items"):
            turns = sessions.turns.list(seen.session_id, order="desc", limit=1)
            newest = wire(turns.data[0]) if turns.data else None
            if seen.budget and (newest is None or newest["id"] in reported):
                return  # a session paused at its budget starts no turn for the input
            if newest is None:
                raise TurnError(index, "the session has no turn after the user message")
            seen.turn = newest
            page = sessions.turns.items.list(
                newest["id"], session_id=seen.session_id, order="asc", limit=_PAGE
            )
            seen.items = [wire(i) for i in page.data]
        if seen.budget and seen.turn.get("status") not in TURN_ENDED:
            self._stop_paused(index, seen)

    # --- stopping a turn ----------------------------------------------------------------

    def _stop(self, index: int, seen: _Seen) -> None:
        """Cancel a turn past its deadline, then wait (`settle_timeout` at most) for the
        session to rest: it takes no input for the next turn while one is active."""
        seen.overdue = True
        sessions = self.client.beta.agents.sessions
        with self._calls(index, "cancelling the turn"):
            self._cancel(seen.session_id)
            limit = self.clock() + self.settle
            while True:
                session = wire(sessions.retrieve(seen.session_id))
                status = session.get("status")
                if status not in ("in_progress", "requires_action"):
                    seen.session = session
                    return
                if self.clock() > limit:
                    raise TurnError(
                        index,
                        f"session {seen.session_id} did not come to rest (idle, failed or "
                        f"budget_reached) within {self.settle:g} s of cancelling its turn, "
                        f"which had run past the turn's {seen.timeout:g} s timeout; the "
                        f"session is still {status}",
                    )
                self.sleep(min(_POLL, max(limit - self.clock(), 0.001)))

    def _stop_paused(self, index: int, seen: _Seen) -> None:
        """A session paused at its budget whose turn did not end: cancel the turn, so no
        turn is left open on the session."""
        with self._calls(index, "cancelling the turn paused at its budget"):
            self._cancel(seen.session_id)

    # --- function calls ---------------------------------------------------------------

    def _answer(
        self, turn: Turn, result: TurnResult, session_id: str, calls: list[dict[str, Json]]
    ) -> None:
        """Answer every pending call of the turn at once, as tool_result events."""
        result.rounds += 1
        events: list[Any] = []
        for call in calls:
            raw_args = str(call.get("arguments") or "")
            text = answered(turn, result, str(call["call_id"]), str(call["name"]), raw_args)
            events.append(
                {
                    "type": "agent.session.input.tool_result",
                    "call_id": call["call_id"],
                    "turn_id": call["turn_id"],
                    "success": True,
                    "output": text,
                }
            )
        with self._calls(turn.index, "sending tool results"):
            self.client.beta.agents.sessions.events.create(session_id, events=events)

    def _cancel(self, session_id: str) -> None:
        with contextlib.suppress(openai.BadRequestError):  # the turn ended since
            self.client.beta.agents.sessions.events.create(
                session_id, events=[{"type": "agent.session.input.cancel"}]
            )

    def _left(self, deadline: float) -> float:
        return max(deadline - self.clock(), 0.001)

    # --- the transcript -----------------------------------------------------------------

    def _fill(self, result: TurnResult, seen: _Seen) -> None:
        turn, items = seen.turn, seen.items
        result.run_id = str(turn.get("id") or "")
        status = str(turn.get("status") or "unknown")
        messages = [i for i in items if i.get("type") == "message" and i.get("role") == "assistant"]
        result.status = _STATUS.get(status, status)
        if result.status == "completed" and any(m.get("status") == "incomplete" for m in messages):
            result.status = "incomplete"
        error = turn.get("error") or {}
        result.error = error.get("message") if isinstance(error, Mapping) else None
        spend = seen.session.get("spend_control")
        if isinstance(spend, Mapping) and isinstance(spend.get("limit"), int):
            result.spend = {k: v for k, v in spend.items() if isinstance(v, int)}
        budget_error = isinstance(error, Mapping) and error.get("code") == BUDGET_CODE
        if seen.budget or seen.refused is not None or budget_error:
            # its own outcome, whatever the turn's status: the session takes no more input
            # until its limit is raised
            result.status = BUDGET_REACHED
            result.error = (
                result.error
                or seen.refused
                or f"session {seen.session_id} reached its spending limit"
            )
        elif seen.overdue:
            result.status = "timed_out"
            result.error = (
                f"session {seen.session_id} did not come to rest (idle, failed or "
                f"budget_reached) within the turn's {seen.timeout:g} s timeout; the turn was "
                "cancelled"
            )
        spent = turn.get("usage") or {}
        result.usage = {
            name: spent[key]
            for name, key in (
                ("prompt_tokens", "input_tokens"),
                ("completion_tokens", "output_tokens"),
                ("total_tokens", "total_tokens"),
            )
            if isinstance(spent.get(key), int)
        }
        cached = (spent.get("input_tokens_details") or {}).get("cached_tokens")
        if isinstance(cached, int) and cached:
            result.usage["cached_tokens"] = cached
        result.messages = messages
        result.steps = items
        result.reply = "\n".join(
            str(part.get("text") or "")
            for m in messages
            for part in m.get("content") or ()
            if part.get("type") == "output_text"
        )
        answered = {c.id: c for c in result.tool_calls}
        ordered: list[ToolCall] = []
        for item in items:
            kind = item.get("type")
            if kind == "function_call":
                ordered.append(function_call(item, answered))
            elif kind == "command_execution":
                # code runs in the agent's environment: what code_interpreter was on assistants
                ordered.append(
                    ToolCall(
                        str(item["id"]),
                        "code_interpreter",
                        "code_interpreter",
                        input=item.get("command"),
                        logs=item.get("output") or None,
                    )
                )
            elif kind not in ("message", "function_call_output", "reasoning"):
                ordered.append(ToolCall(str(item["id"]), str(kind), str(kind)))
        result.tool_calls = ordered + list(answered.values())
