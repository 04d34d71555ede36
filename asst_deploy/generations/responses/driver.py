"""The Responses API conversation driver: a conversation per script conversation, a response per turn."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
import openai

from asst_deploy import identity
from asst_deploy.conversation.script import Conversation, Turn
from asst_deploy.conversation.transcript import Citation, ToolCall, Transcript, TurnResult
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations.sdk.deadline import Overdue, bound
from asst_deploy.generations.sdk.driver_base import (
    AssistantNotFound,
    Deployed,
    DriverCore,
    DriverOptions,
    TurnError,
    answered,
    function_call,
    refuse_assistants_only,
    wire,
)
from asst_deploy.generations.sdk.events import RawEvents
from asst_deploy.generations.sdk.openai_backend import OpenAIBackend
from asst_deploy.request_template import deployed_ids, request_for, request_kwargs
from asst_deploy.types import Json

_PAGE = 100
_POLL = 0.5  # seconds between retrievals of a response still in progress
UNFINISHED = ("queued", "in_progress")
# the terminal events of a streamed response, each carrying the whole response
ENDINGS = ("response.completed", "response.incomplete", "response.failed")
# what a response leaves out of its output items unless asked, by the tool that makes them
INCLUDE = {
    "code_interpreter": "code_interpreter_call.outputs",
    "file_search": "file_search_call.results",
}
# response usage -> the run usage names scripts and parity read
_USAGE = (
    ("prompt_tokens", "input_tokens"),
    ("completion_tokens", "output_tokens"),
    ("total_tokens", "total_tokens"),
)


def request_form(spec: AssistantSpec, shas: Mapping[str, str]) -> dict[str, Json]:
    """The request template with each deployed id named by what it stands for (a store's
    key, a file's path and content): what a cassette's fingerprint hashes on responses."""
    stores = {key: f"vector_store:{key}" for key in spec.vector_stores}
    files = {path: f"file:{path}#{sha}" for path, sha in shas.items()}
    return request_kwargs(spec, "", stores, files)


def _functions(kwargs: Mapping[str, Json]) -> dict[str, Json]:
    """Function name -> parameters schema, from the request's (flat) function tools."""
    return {
        t["name"]: t.get("parameters") or {"type": "object"}
        for t in kwargs.get("tools") or ()
        if t.get("type") == "function"
    }


@dataclass(frozen=True)
class TemplateId:
    """What names a request template (it has no remote id): target, environment, key."""

    target: str
    env: str | None
    key: str

    def __str__(self) -> str:
        return f"{self.target}:{self.env or ''}:{self.key}"

    @classmethod
    def parse(cls, text: str) -> TemplateId:
        target, env, key = text.split(":")
        return cls(target, env or None, key)


class ResponsesDriver(DriverCore):
    """One conversation (POST /conversations) per script conversation; a turn is one
    responses.create with the request template `asst_deploy.runtime` gives for the
    assistant, then one more per round of function calls (their outputs as input items),
    streamed or not, until the model calls nothing more."""

    api = "responses"
    cassette_folder = "responses"
    spec_form = staticmethod(request_form)
    not_applicable: Mapping[str, str] = {}

    def __init__(self, client: openai.OpenAI, options: DriverOptions) -> None:
        super().__init__(client, options)
        self.environment = options.environment
        self._projects: dict[tuple[str | None, str], Project] = {}
        self._load_project = options.load_project
        given = options.project
        if given is not None:
            self._projects[(given.environment, given.target.name)] = given
        self._requests: dict[str, dict[str, Json]] = {}  # template id -> kwargs
        self._responses: dict[str, list[str]] = {}  # conversation id -> responses made
        self._filenames: dict[str, str] = {}

    # --- the request template -----------------------------------------------------------

    def find(self, project: str, key: str, target: str) -> Deployed:
        template = TemplateId(target, self.environment, key)
        try:
            return self._deployed(template)
        except TurnError:
            raise
        except AsstDeployError as exc:
            raise AssistantNotFound(f"on target '{target}': {exc}") from None

    def get(self, remote_id: str) -> Deployed:
        try:
            return self._deployed(TemplateId.parse(remote_id))
        except TurnError:
            raise  # a call failed (or does not match the cassette): said as it is
        except (AsstDeployError, ValueError) as exc:
            raise TurnError(0, f"the request template {remote_id}: {exc}") from exc

    def _deployed(self, template: TemplateId) -> Deployed:
        """The template as asst_deploy.runtime gives it to an app, the ids listed once."""
        project = self._project(template)
        spec = next(a for a in project.assistants if a.key == template.key)
        backend = OpenAIBackend(self.client)
        with self._calls(0, "listing the deployed vector stores and files"):
            kwargs = request_for(project, spec, lambda: deployed_ids(project, backend))
        self._requests[str(template)] = kwargs
        shas = {f.path: identity.file_sha(f.abs_path) for f in project.files}
        # a template is made from the spec as it is now: stamped with its own form's hash,
        # so only its vector stores and files can be out of date (checked apart)
        stamp = identity.canonical_hash(request_form(spec, shas))
        metadata: dict[str, Json] = {**dict(kwargs["metadata"]), identity.HASH_KEY: stamp}
        found: dict[str, Json] = {"id": str(template), "request": kwargs, "metadata": metadata}
        return Deployed(str(template), found, _functions(kwargs))

    def _project(self, template: TemplateId) -> Project:
        place = (template.env, template.target)
        if place not in self._projects:
            if self._load_project is None:
                raise AsstDeployError(
                    f"the specs of environment {template.env or '(base)'} on target "
                    f"'{template.target}' are not loaded (DriverOptions.load_project)"
                )
            self._projects[place] = self._load_project(self.root, template.env, template.target)
        return self._projects[place]

    def request(self, remote_id: str) -> dict[str, Json]:
        """The kwargs the driver sends for a template found or got before (for tests)."""
        return self._requests[remote_id]

    # --- a conversation -----------------------------------------------------------------

    def start(self, deployed: Deployed, conversation: Conversation) -> Transcript:
        with self._calls(1, "creating the conversation"):
            created = self.client.conversations.create()
        self._responses[created.id] = []
        return Transcript(conversation.name, created.id, deployed.id)

    def finish(self, transcript: Transcript) -> None:
        """Delete the responses and the conversation: nothing is left behind on a target."""
        with self._calls(len(transcript.turns), "deleting the conversation"):
            for response_id in self._responses.pop(transcript.thread_id, []):
                self.client.responses.delete(response_id)
            self.client.conversations.delete(transcript.thread_id)

    def turn(self, transcript: Transcript, turn: Turn, conversation: Conversation) -> TurnResult:
        refuse_assistants_only(
            turn,
            conversation,
            "on responses, files come with the assistant (code_interpreter files or vector "
            "stores in the spec)",
            "; move them into the spec (or an environment's overrides), or run this "
            "conversation on an assistants environment",
        )
        result = TurnResult(turn.index, turn.user)
        transcript.turns.append(result)
        start = self.clock()
        deadline = start + conversation.timeout
        kwargs = self._requests.get(transcript.assistant_id)
        if kwargs is None:
            kwargs = self.request(self.get(transcript.assistant_id).id)
        extra: dict[str, Any] = {"conversation": transcript.thread_id}
        include = sorted(
            {INCLUDE[t["type"]] for t in kwargs.get("tools") or () if t.get("type") in INCLUDE}
        )
        if include:
            extra["include"] = include
        made: list[dict[str, Json]] = []
        items: Any = [{"role": "user", "content": turn.user}]
        while True:
            response = self._respond(turn, kwargs, extra, items, conversation, deadline)
            made.append(response)
            self._responses[transcript.thread_id].append(str(response["id"]))
            calls = [i for i in response.get("output") or () if i.get("type") == "function_call"]
            if not calls or response.get("status") != "completed":
                break
            if self.clock() > deadline:
                made[-1] = {**response, "status": "timed_out"}
                break
            items = self._outputs(turn, result, calls)
        result.latency = self.clock() - start
        self._fill(turn.index, result, made)
        return result

    # --- one response -------------------------------------------------------------------

    def _respond(
        self,
        turn: Turn,
        kwargs: Mapping[str, Json],
        extra: Mapping[str, Any],
        items: Any,
        conversation: Conversation,
        deadline: float,
    ) -> dict[str, Json]:
        responses = self.client.responses
        sent: Any = {**kwargs, **extra, "input": items}
        if conversation.streaming:
            with self._calls(turn.index, "streaming the response"):
                stream = responses.create(stream=True, timeout=self._left(deadline), **sent)
                response = self._consume(turn, stream, deadline)
        else:
            with self._calls(turn.index, "creating the response"):
                response = wire(responses.create(timeout=self._left(deadline), **sent))
        with self._calls(turn.index, "waiting for the response"):
            # a stream that ended early (a dropped connection, the deadline), or a response
            # still being made: read it until it ends, or the turn's time is up
            while response.get("status") in UNFINISHED:
                if self.clock() > deadline:
                    return {**response, "status": "timed_out"}
                self.sleep(min(_POLL, self._left(deadline)))
                response = wire(responses.retrieve(str(response["id"])))
        return response

    def _consume(self, turn: Turn, stream: Any, deadline: float) -> dict[str, Json]:
        """The response a stream tells: the terminal event's, else as far as it got (the
        events kept untyped until then: only the ones the result is made of are typed)."""
        started: dict[str, Json] | None = None  # the latest created/in_progress event
        output: dict[int, dict[str, Json]] = {}  # output index -> its item's done event
        bound(stream, lambda: self.clock() > deadline)
        with RawEvents(stream) as events:
            try:
                for data in events:
                    kind = str(data.get("type"))
                    if kind in ENDINGS:
                        return dict(events.typed(data)["response"])
                    if kind in ("response.created", "response.in_progress"):
                        started = data
                    elif kind == "response.output_item.done":
                        output[int(data["output_index"])] = data
                    elif kind == "error":
                        raise TurnError(
                            turn.index,
                            f"the response's stream reported an error: {events.typed(data)}",
                        )
                    if self.clock() > deadline:
                        break
            except (Overdue, httpx2.TimeoutException, openai.APITimeoutError):
                pass  # the deadline passed while the stream said nothing: polling ends it
            if started is None:
                raise TurnError(turn.index, "the response's stream ended before it began")
            response = dict(events.typed(started)["response"])
            items = [dict(events.typed(output[i])["item"]) for i in sorted(output)]
        return {**response, "output": items}

    def _left(self, deadline: float) -> float:
        return max(deadline - self.clock(), 0.001)

    # --- function calls ---------------------------------------------------------------

    def _outputs(
        self, turn: Turn, result: TurnResult, calls: list[dict[str, Json]]
    ) -> list[dict[str, Json]]:
        """Every call of a response answered at once, as function_call_output items."""
        result.rounds += 1
        outputs: list[dict[str, Json]] = []
        for call in calls:
            raw_args = str(call.get("arguments") or "")
            text = answered(turn, result, str(call["call_id"]), str(call["name"]), raw_args)
            outputs.append(
                {"type": "function_call_output", "call_id": call["call_id"], "output": text}
            )
        return outputs

    # --- the transcript -----------------------------------------------------------------

    def _fill(self, index: int, result: TurnResult, made: list[dict[str, Json]]) -> None:
        last = made[-1]
        items = [item for response in made for item in response.get("output") or ()]
        result.run_id = str(last.get("id") or "")
        result.status = str(last.get("status") or "unknown")
        error = last.get("error") or {}
        incomplete = last.get("incomplete_details") or {}
        result.error = error.get("message") or incomplete.get("reason") or None
        # a turn's usage is all its responses', as a run's covers its tool-output rounds
        result.usage = {
            name: sum(int((r.get("usage") or {}).get(key) or 0) for r in made)
            for name, key in _USAGE
            if any(isinstance((r.get("usage") or {}).get(key), int) for r in made)
        }
        cached = sum(
            int(
                ((r.get("usage") or {}).get("input_tokens_details") or {}).get("cached_tokens") or 0
            )
            for r in made
        )
        if cached:
            result.usage["cached_tokens"] = cached
        result.model = str(last.get("model") or "")
        result.messages = [
            i for i in items if i.get("type") == "message" and i.get("role") == "assistant"
        ]
        result.steps = items
        texts = []
        for message in result.messages:
            for part in message.get("content") or ():
                if part.get("type") != "output_text":
                    continue
                texts.append(str(part.get("text") or ""))
                for note in part.get("annotations") or ():
                    if note.get("type") == "file_citation":
                        result.citations.append(self._citation(index, note))
        result.reply = "\n".join(texts)
        self._merge_calls(result, items)

    def _merge_calls(self, result: TurnResult, items: list[dict[str, Json]]) -> None:
        """Built-in tool calls come from the output items; function calls were collected as
        they were answered, and are put in output order here."""
        answered = {c.id: c for c in result.tool_calls}
        ordered: list[ToolCall] = []
        for item in items:
            kind = item.get("type")
            if kind == "function_call":
                ordered.append(function_call(item, answered))
            elif kind == "code_interpreter_call":
                logs = [
                    str(o.get("logs"))
                    for o in item.get("outputs") or ()
                    if o.get("type") == "logs" and o.get("logs")
                ]
                ordered.append(
                    ToolCall(
                        str(item["id"]),
                        "code_interpreter",
                        "code_interpreter",
                        input=item.get("code"),
                        logs="\n".join(logs) or None,
                    )
                )
            elif kind == "file_search_call":
                # what it found (asked for with include): the files and scores, as output
                found = [
                    {"filename": r.get("filename"), "score": r.get("score")}
                    for r in item.get("results") or ()
                ]
                ordered.append(
                    ToolCall(
                        str(item["id"]),
                        "file_search",
                        "file_search",
                        arguments={"queries": item.get("queries") or []},
                        output=json.dumps(found) if found else None,
                    )
                )
            elif kind not in ("message", "function_call_output", "reasoning"):
                ordered.append(ToolCall(str(item["id"]), str(kind), str(kind)))
        result.tool_calls = ordered + list(answered.values())

    def _citation(self, index: int, note: Mapping[str, Json]) -> Citation:
        file_id = str(note["file_id"])
        filename = note.get("filename")
        if not filename:  # the annotation names its file; a service that did not is asked
            if file_id not in self._filenames:
                with self._calls(index, f"reading cited file {file_id}"):
                    self._filenames[file_id] = self.client.files.retrieve(file_id).filename
            filename = self._filenames[file_id]
        parsed = identity.parse_file_name(str(filename))
        return Citation(file_id, str(filename), parsed.path if parsed else str(filename))
