"""The Agents API conversation driver: a session per conversation, input events, the event stream or polling."""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx2
import openai

from asst_deploy import identity
from asst_deploy.remote.agents_backend import AgentsBackend
from asst_deploy.remote.base import RemoteError
from asst_deploy.remote.drivers.base import (
    Deployed,
    DriverOptions,
    NotDeployed,
    StreamRecorder,
    TurnError,
    agent_form,
    answer,
    find_managed,
    function_call,
    refuse_assistants_only,
    wire,
)
from asst_deploy.remote.openai_backend import translated
from asst_deploy.replay.script import Conversation, Turn
from asst_deploy.replay.transcript import ToolCall, Transcript, TurnResult
from asst_deploy.types import Json

_PAGE = 100
_POLL = 0.05  # seconds between polls of a session: the Agents API sends no poll hint
RESTING = ("agent.session.idle", "agent.session.failed")
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
    if template:
        return {"type": "openai_hosted", "environment_template_id": template}
    return {"type": "none"}


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


class AgentsDriver:
    """One session per conversation; a turn is an input.message event, function calls are
    answered with tool_result events, and the turn is read from the session's event stream
    (streaming) or by polling the session, then its turn and items."""

    api = "agents"
    cassette_folder = "agents"
    spec_form = staticmethod(agent_form)
    not_applicable: Mapping[str, str] = {
        "citations": "the Agents API has no file_search, so replies cite no files",
    }

    def __init__(self, client: openai.OpenAI, options: DriverOptions) -> None:
        self.client = client
        self.transport_errors = options.transport_errors
        self.sleep = options.sleep
        self.clock = options.clock
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
        raise NotDeployed(
            f"assistant '{key}' of project '{project}' is not deployed as an agent on target "
            f"'{target}'; run `asst-deploy apply` first"
        )

    def get(self, remote_id: str) -> Deployed:
        with self._calls(0, "reading the agent"):
            found = wire(self.client.beta.agents.retrieve(remote_id))
        return Deployed(remote_id, found, _functions(found))

    def find_vector_store(self, project: str, key: str) -> Mapping[str, Json] | None:
        return None  # agents search no vector stores (validate refuses file_search there)

    # --- a conversation -----------------------------------------------------------------

    def start(self, deployed: Deployed, conversation: Conversation) -> Transcript:
        with self._calls(1, "creating the session"):
            place: Any = environment(deployed.object)
            session = self.client.beta.agents.sessions.create(
                agent_id=deployed.id, environment=place
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
        transcript.turns.append(result)
        start = self.clock()
        deadline = start + conversation.timeout
        message: Any = {
            "type": "agent.session.input.message",
            "input": [{"role": "user", "content": [{"type": "input_text", "text": turn.user}]}],
        }
        session_id = transcript.thread_id
        if conversation.streaming:
            turn_obj, items = self._streamed(turn, result, session_id, message, deadline)
        else:
            turn_obj, items = self._polled(turn, result, session_id, message, deadline)
        result.latency = self.clock() - start
        self._fill(result, turn_obj, items)
        return result

    # --- streaming ----------------------------------------------------------------------

    def _streamed(
        self,
        turn: Turn,
        result: TurnResult,
        session_id: str,
        message: Any,
        deadline: float,
    ) -> tuple[dict[str, Json], list[dict[str, Json]]]:
        sessions = self.client.beta.agents.sessions
        turn_obj: dict[str, Json] = {}
        items: dict[str, dict[str, Json]] = {}
        pending: list[dict[str, Json]] = []
        with self._calls(turn.index, "streaming the turn"):
            # subscribe first: the stream is live from now on, so nothing the input causes
            # is missed
            stream = self._streams.beta.agents.sessions.events.stream(
                session_id, timeout=self._left(deadline)
            )
            with stream:
                sessions.events.create(session_id, events=[message])
                for event in stream:
                    data = wire(event)
                    kind = str(data.get("type"))
                    if kind.startswith("agent.session.turn.") and isinstance(
                        data.get("turn"), Mapping
                    ):
                        turn_obj = dict(data["turn"])
                    elif kind == "agent.session.turn.item.done":
                        item = dict(data["item"])
                        items[str(item["id"])] = item
                        if item.get("type") == "function_call":
                            pending.append(item)
                    elif kind == "agent.session.turn.item.added":
                        item = dict(data["item"])
                        items.setdefault(str(item["id"]), item)
                    elif kind == "agent.session.requires_action" and pending:
                        self._answer(turn, result, session_id, pending)
                        pending = []
                    elif kind == "error":
                        raise TurnError(
                            turn.index, f"the session's stream reported an error: {data}"
                        )
                    if kind in RESTING and turn_obj:
                        break
                    if self.clock() > deadline:
                        self._cancel(session_id)
                        turn_obj = {**turn_obj, "status": "timed_out"}
                        break
        return turn_obj, list(items.values())

    # --- polling ------------------------------------------------------------------------

    def _polled(
        self,
        turn: Turn,
        result: TurnResult,
        session_id: str,
        message: Any,
        deadline: float,
    ) -> tuple[dict[str, Json], list[dict[str, Json]]]:
        sessions = self.client.beta.agents.sessions
        with self._calls(turn.index, "sending the user message"):
            sessions.events.create(session_id, events=[message])
        timed_out = False
        with self._calls(turn.index, "polling the session"):
            while True:
                session = wire(sessions.retrieve(session_id))
                status = session.get("status")
                if status == "requires_action":
                    calls = [
                        a
                        for a in session.get("required_actions") or ()
                        if a["type"] == "function_call"
                    ]
                    self._answer(turn, result, session_id, calls)
                    continue
                if status != "in_progress":
                    break
                if self.clock() > deadline:
                    self._cancel(session_id)
                    timed_out = True
                    break
                self.sleep(min(_POLL, self._left(deadline)))
        with self._calls(turn.index, "reading the turn and its items"):
            turns = sessions.turns.list(session_id, order="desc", limit=1)
            if not turns.data:
                raise TurnError(turn.index, "the session has no turn after the user message")
            turn_obj = wire(turns.data[0])
            page = sessions.turns.items.list(
                turn_obj["id"], session_id=session_id, order="asc", limit=_PAGE
            )
            items = [wire(i) for i in page.data]
        if timed_out:
            turn_obj["status"] = "timed_out"
        return turn_obj, items

    # --- function calls ---------------------------------------------------------------

    def _answer(
        self, turn: Turn, result: TurnResult, session_id: str, calls: list[dict[str, Json]]
    ) -> None:
        """Answer every pending call of the turn at once, as tool_result events."""
        result.rounds += 1
        events: list[Any] = []
        for call in calls:
            raw_args = str(call.get("arguments") or "")
            parsed, text = answer(turn, str(call["name"]), raw_args)
            result.tool_calls.append(
                ToolCall(
                    str(call["call_id"]), "function", str(call["name"]), parsed, raw_args, text
                )
            )
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

    def _fill(
        self, result: TurnResult, turn: Mapping[str, Json], items: list[dict[str, Json]]
    ) -> None:
        result.run_id = str(turn.get("id") or "")
        status = str(turn.get("status") or "unknown")
        messages = [i for i in items if i.get("type") == "message" and i.get("role") == "assistant"]
        result.status = _STATUS.get(status, status)
        if result.status == "completed" and any(m.get("status") == "incomplete" for m in messages):
            result.status = "incomplete"
        error = turn.get("error") or {}
        result.error = error.get("message") if isinstance(error, Mapping) else None
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

    @contextmanager
    def _calls(self, index: int, doing: str) -> Iterator[None]:
        """The remote layer's errors as TurnErrors naming the turn (the cause kept)."""
        try:
            with warnings.catch_warnings(), translated(doing):
                warnings.simplefilter("ignore", DeprecationWarning)
                yield
        except RemoteError as exc:
            raise TurnError(index, str(exc)) from exc
        except self.transport_errors as exc:
            raise TurnError(index, f"{doing} failed: {type(exc).__name__}") from exc
