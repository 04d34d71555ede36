"""The Assistants v2 conversation driver: threads, messages, runs (streamed or polled), tool outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2
import openai

from asst_deploy import identity
from asst_deploy.conversation.script import Conversation, Turn
from asst_deploy.conversation.stream import RunStream
from asst_deploy.conversation.transcript import Citation, ToolCall, Transcript, TurnResult
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.generations.sdk.deadline import Overdue, bound
from asst_deploy.generations.sdk.driver_base import (
    AssistantNotFound,
    Deployed,
    DriverCore,
    DriverOptions,
    TurnError,
    answered,
    assistant_form,
    find_managed,
    wire,
)
from asst_deploy.generations.sdk.driver_base import arguments as _arguments
from asst_deploy.generations.sdk.events import RawEvents
from asst_deploy.types import Json

ACTIVE = ("queued", "in_progress", "requires_action", "cancelling")
# a run seen in one of these has ended for good: the thread takes the next message at once
ENDED = ("completed", "failed", "cancelled", "expired", "incomplete")
SETTLE_GRACE = 5.0  # seconds a previous turn's run may take to end before a turn starts
_DEFAULT_POLL = 0.5  # seconds, when the server sends no openai-poll-after-ms
_PAGE = 100


def _functions(assistant: Mapping[str, Json]) -> dict[str, Json]:
    """Function name -> parameters schema, from the deployed assistant's tools."""
    return {
        t["function"]["name"]: t["function"].get("parameters") or {"type": "object"}
        for t in assistant.get("tools") or ()
        if t.get("type") == "function"
    }


class AssistantsDriver(DriverCore):
    """One thread per conversation, its runs streamed or polled like a careful client."""

    api = "assistants"
    cassette_folder = ""
    spec_form = staticmethod(assistant_form)
    not_applicable: Mapping[str, str] = {}

    deprecated = True  # the SDK marks all of Assistants v2 deprecated

    def __init__(self, client: openai.OpenAI, options: DriverOptions) -> None:
        super().__init__(client, options)
        self._filenames: dict[str, str] = {}

    # --- the assistant ------------------------------------------------------------------

    def find(self, project: str, key: str, target: str) -> Deployed:
        found = self._find("assistant", project, key)
        if found is None:
            raise AssistantNotFound(
                f"assistant '{key}' of project '{project}' is not deployed on target "
                f"'{target}'; run `asst-deploy apply` first"
            )
        return Deployed(str(found["id"]), found, _functions(found))

    def get(self, remote_id: str) -> Deployed:
        """One assistant by id: what a recorded conversation needs of the assistant list."""
        with self._calls(0, "reading the assistant"):
            found = wire(self.client.beta.assistants.retrieve(remote_id))
        return Deployed(remote_id, found, _functions(found))

    def _find(self, kind: str, project: str, key: str) -> dict[str, Json] | None:
        with self._calls(0, f"listing {kind.replace('_', ' ')}s"):
            found = find_managed(AssistantsBackend(self.client), kind, project, key)
        return dict(found.data) if found is not None else None

    # --- a conversation -----------------------------------------------------------------

    def start(self, deployed: Deployed, conversation: Conversation) -> Transcript:
        with self._calls(1, "creating the thread"):
            thread = self.client.beta.threads.create()
        return Transcript(conversation.name, thread.id, deployed.id)

    def finish(self, transcript: Transcript) -> None:
        """Delete the thread: a careful client leaves nothing behind on a live target."""
        with self._calls(len(transcript.turns), "deleting the thread"):
            self.client.beta.threads.delete(transcript.thread_id)

    def turn(self, transcript: Transcript, turn: Turn, conversation: Conversation) -> TurnResult:
        result = TurnResult(turn.index, turn.user)
        transcript.turns.append(result)
        thread_id = transcript.thread_id
        previous = transcript.turns[-2] if len(transcript.turns) > 1 else None
        if turn.index > 1 and (previous is None or previous.status not in ENDED):
            # the previous turn's run may still be winding down (a cancelled one takes a
            # step): that wait is bounded on its own, not charged to this turn's timeout
            grace = max(conversation.timeout, SETTLE_GRACE)
            self._settle(turn.index, thread_id, self.clock() + grace)
        start = self.clock()
        deadline = start + conversation.timeout
        uploaded = self._upload(turn)
        attachments: list[Any] = [
            {"file_id": file_id, "tools": [{"type": t} for t in tools]}
            for file_id, tools in uploaded
        ]
        with self._calls(turn.index, "adding the user message"):
            self.client.beta.threads.messages.create(
                thread_id,
                role="user",
                content=turn.user,
                attachments=attachments or openai.omit,
            )
        run_args = {"assistant_id": transcript.assistant_id, **conversation.run}
        if conversation.streaming:
            stream = self._run_streaming(turn, result, thread_id, run_args, deadline)
            run, messages, steps = stream.run or {}, stream.message_list(), stream.step_list()
        else:
            run = self._run_polling(turn, result, thread_id, run_args, deadline)
            messages, steps = self._collected(turn.index, thread_id, run)
        result.latency = self.clock() - start
        self._fill(turn.index, result, run, messages, steps)
        with self._calls(turn.index, "deleting attached files"):
            for file_id, _ in uploaded:
                self.client.files.delete(file_id)
        return result

    # --- runs ---------------------------------------------------------------------------

    def _run_streaming(
        self,
        turn: Turn,
        result: TurnResult,
        thread_id: str,
        run_args: Mapping[str, Json],
        deadline: float,
    ) -> RunStream:
        folded = RunStream()
        runs = self.client.beta.threads.runs
        with self._calls(turn.index, "streaming the run"):
            self._consume(
                runs.create(thread_id, stream=True, timeout=self._left(deadline), **run_args),
                folded,
                deadline,
            )
            # past the deadline, the polling below cancels the run (as timed out)
            while (
                folded.status == "requires_action" and folded.run and self._left(deadline) > 0.001
            ):
                outputs = self._outputs(turn, result, folded.run)
                self._consume(
                    runs.submit_tool_outputs(
                        folded.run["id"],
                        thread_id=thread_id,
                        tool_outputs=outputs,
                        stream=True,
                        timeout=self._left(deadline),
                    ),
                    folded,
                    deadline,
                )
        if folded.error and not folded.run:
            raise TurnError(turn.index, f"the run's stream reported an error: {folded.error}")
        if folded.run and folded.status in ACTIVE:
            # the stream ended early (a dropped connection, the deadline): finish by polling
            folded.run = self._poll(turn, result, thread_id, folded.run, deadline)
            folded.steps.clear()
            messages, steps = self._collected(turn.index, thread_id, folded.run)
            folded.messages = {m["id"]: m for m in messages}
            folded.steps = {s["id"]: s for s in steps}
        return folded

    def _consume(self, stream: Any, folded: RunStream, deadline: float) -> None:
        """Fold the stream's events untyped (the fold reads a few fields of each), then
        type the objects it kept, each as the last event that carried it."""
        carried: dict[str, str] = {}  # object id -> the name of its last full event
        bound(stream, lambda: self.clock() > deadline)
        with RawEvents(stream) as events:
            try:
                for event in events:
                    name, data = str(event.get("event")), event.get("data")
                    folded.feed(name, data if isinstance(data, Mapping) else None)
                    if isinstance(data, Mapping) and "id" in data and not name.endswith(".delta"):
                        carried[str(data["id"])] = name
                    if self.clock() > deadline:
                        break
            except (Overdue, httpx2.TimeoutException, openai.APITimeoutError):
                pass  # the deadline passed while the stream said nothing: polling ends it

            def typed(data: Mapping[str, Json]) -> dict[str, Json]:
                name = carried.get(str(data.get("id")))
                if name is None:  # typed by an earlier stream of the turn
                    return dict(data)
                return dict(events.typed({"data": dict(data), "event": name})["data"])

            if folded.run is not None:
                folded.run = typed(folded.run)
            folded.steps = {key: typed(step) for key, step in folded.steps.items()}
            folded.messages = {key: typed(message) for key, message in folded.messages.items()}

    def _run_polling(
        self,
        turn: Turn,
        result: TurnResult,
        thread_id: str,
        run_args: Mapping[str, Json],
        deadline: float,
    ) -> dict[str, Json]:
        with self._calls(turn.index, "creating the run"):
            raw = self.client.beta.threads.runs.with_raw_response.create(thread_id, **run_args)
        run = wire(raw.parse())
        self._wait(raw, deadline)
        return self._poll(turn, result, thread_id, run, deadline)

    def _poll(
        self,
        turn: Turn,
        result: TurnResult,
        thread_id: str,
        run: dict[str, Json],
        deadline: float,
    ) -> dict[str, Json]:
        runs = self.client.beta.threads.runs.with_raw_response
        with self._calls(turn.index, "polling the run"):
            while run["status"] in ACTIVE:
                if self.clock() > deadline:
                    try:
                        self.client.beta.threads.runs.cancel(run["id"], thread_id=thread_id)
                    except openai.BadRequestError:  # it ended since the last poll
                        run = wire(runs.retrieve(run["id"], thread_id=thread_id).parse())
                        if run["status"] not in ACTIVE:
                            return run
                    return {**run, "status": "timed_out"}
                if run["status"] == "requires_action":
                    outputs = self._outputs(turn, result, run)
                    raw = runs.submit_tool_outputs(
                        run["id"], thread_id=thread_id, tool_outputs=outputs
                    )
                else:
                    raw = runs.retrieve(run["id"], thread_id=thread_id)
                run = wire(raw.parse())
                if run["status"] in ACTIVE:
                    self._wait(raw, deadline)
        return run

    def _wait(self, raw: Any, deadline: float | None = None) -> None:
        header = raw.headers.get("openai-poll-after-ms")
        interval = int(header) / 1000 if header and header.isdigit() else _DEFAULT_POLL
        # a turn's own run is polled no later than its deadline, then cancelled as timed out
        self.sleep(interval if deadline is None else min(interval, self._left(deadline)))

    def _left(self, deadline: float) -> float:
        return max(deadline - self.clock(), 0.001)

    def _settle(self, index: int, thread_id: str, deadline: float) -> None:
        """A thread accepts no message while a run is active: cancel one left waiting for
        outputs (a previous turn that timed out), and wait for any other to end."""
        with self._calls(index, "checking the thread for an active run"):
            page = self.client.beta.threads.runs.list(thread_id, limit=1)
            if not page.data or page.data[0].status not in ACTIVE:
                return
            run = page.data[0]
            if run.status == "requires_action":
                self.client.beta.threads.runs.cancel(run.id, thread_id=thread_id)
            while True:
                raw = self.client.beta.threads.runs.with_raw_response.retrieve(
                    run.id, thread_id=thread_id
                )
                if raw.parse().status not in ACTIVE:
                    return
                if self.clock() > deadline:
                    raise TurnError(index, f"run {run.id} of the previous turn is still active")
                self._wait(raw)

    # --- function calls ---------------------------------------------------------------

    def _outputs(self, turn: Turn, result: TurnResult, run: Mapping[str, Json]) -> list[Any]:
        """Answer every call of a requires_action round (parallel calls all at once)."""
        result.rounds += 1
        calls = ((run.get("required_action") or {}).get("submit_tool_outputs") or {}).get(
            "tool_calls"
        ) or []
        outputs: list[Any] = []
        for call in calls:
            name = call["function"]["name"]
            raw_args = call["function"].get("arguments") or ""
            text = answered(turn, result, call["id"], name, raw_args)
            outputs.append({"tool_call_id": call["id"], "output": text})
        return outputs

    # --- the transcript -----------------------------------------------------------------

    def _collected(
        self, index: int, thread_id: str, run: Mapping[str, Json]
    ) -> tuple[list[dict[str, Json]], list[dict[str, Json]]]:
        if not run.get("id"):
            return [], []
        with self._calls(index, "reading the run's messages and steps"):
            messages = self.client.beta.threads.messages.list(
                thread_id, run_id=run["id"], order="asc", limit=_PAGE
            )
            steps = self.client.beta.threads.runs.steps.list(
                run["id"], thread_id=thread_id, order="asc", limit=_PAGE
            )
        return [wire(m) for m in messages.data], [wire(s) for s in steps.data]

    def _fill(
        self,
        index: int,
        result: TurnResult,
        run: Mapping[str, Json],
        messages: list[dict[str, Json]],
        steps: list[dict[str, Json]],
    ) -> None:
        result.run_id = str(run.get("id") or "")
        result.status = str(run.get("status") or "unknown")
        error = run.get("last_error") or {}
        incomplete = run.get("incomplete_details") or {}
        result.error = error.get("message") or incomplete.get("reason") or None
        usage = run.get("usage") or {}
        result.usage = {k: v for k, v in usage.items() if isinstance(v, int)}
        cached = (usage.get("prompt_token_details") or {}).get("cached_tokens")
        if isinstance(cached, int) and cached:
            result.usage["cached_tokens"] = cached
        result.model = str(run.get("model") or "")
        result.messages = [m for m in messages if m.get("role") == "assistant"]
        result.steps = steps
        texts = []
        for message in result.messages:
            for part in message.get("content") or ():
                if part.get("type") != "text":
                    continue
                texts.append(part["text"]["value"])
                for note in part["text"].get("annotations") or ():
                    if note.get("type") == "file_citation":
                        file_id = note["file_citation"]["file_id"]
                        result.citations.append(self._citation(index, file_id, note))
        result.reply = "\n".join(texts)
        self._merge_steps(result, steps)

    def _merge_steps(self, result: TurnResult, steps: list[dict[str, Json]]) -> None:
        """Built-in tool calls come from the run steps; function calls were collected as
        they were answered, and are put in step order here."""
        answered = {c.id: c for c in result.tool_calls}
        ordered: list[ToolCall] = []
        for step in steps:
            details = step.get("step_details") or {}
            for call in details.get("tool_calls") or ():
                if call["type"] == "function":
                    known = answered.pop(call["id"], None)
                    if known is None:
                        raw = call["function"].get("arguments") or ""
                        known = ToolCall(
                            call["id"],
                            "function",
                            call["function"]["name"],
                            _arguments(raw),
                            raw,
                            call["function"].get("output"),
                        )
                    ordered.append(known)
                elif call["type"] == "code_interpreter":
                    ci = call.get("code_interpreter") or {}
                    logs = [o.get("logs") for o in ci.get("outputs") or () if o.get("logs")]
                    ordered.append(
                        ToolCall(
                            call["id"],
                            "code_interpreter",
                            "code_interpreter",
                            input=ci.get("input"),
                            logs="\n".join(logs) or None,
                        )
                    )
                else:
                    ordered.append(ToolCall(call["id"], call["type"], call["type"]))
        result.tool_calls = ordered + list(answered.values())

    def _citation(self, index: int, file_id: str, note: Mapping[str, Json]) -> Citation:
        if file_id not in self._filenames:
            with self._calls(index, f"reading cited file {file_id}"):
                self._filenames[file_id] = self.client.files.retrieve(file_id).filename
        filename = self._filenames[file_id]
        parsed = identity.parse_file_name(filename)
        return Citation(
            file_id, filename, parsed.path if parsed else filename, str(note.get("text") or "")
        )

    def _upload(self, turn: Turn) -> list[tuple[str, tuple[str, ...]]]:
        uploaded = []
        with self._calls(turn.index, "uploading attachments"):
            for attachment in turn.attachments:
                path = (self.root / attachment.file).resolve()
                if not path.is_relative_to(self.root.resolve()):  # a link out of the project
                    raise TurnError(
                        turn.index,
                        f"attachment {attachment.file} is outside the project directory "
                        f"({path}); move the file into the project",
                    )
                try:
                    content = path.read_bytes()
                except OSError as exc:
                    raise TurnError(
                        turn.index, f"cannot read attachment {attachment.file}: {exc.strerror}"
                    ) from None
                created = self.client.files.create(file=(path.name, content), purpose="assistants")
                uploaded.append((created.id, attachment.tools))
        return uploaded
