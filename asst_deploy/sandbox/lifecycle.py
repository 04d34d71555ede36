"""Runs as a lazily settled state machine: each read moves a thread's runs on by the clock.

A run is created `queued` with a schedule: `start` (-> in_progress) one step delay later,
`act` (the scripted model's turn: tool steps, then a reply or requires_action) one more
step later. Nothing runs in the background: every request touching a thread first
settles its live runs up to the model's clock, so polling sees queued -> in_progress ->
a final status, deterministically. A stream drains the whole schedule at once and sends
the events each transition emitted. submit_tool_outputs and cancel reschedule the run.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from asst_deploy.sandbox import turns, vectorstores
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.model import Reply, Rule, Turn, chunks, tokens
from asst_deploy.sandbox.store import new_id
from asst_deploy.templating import RuleTemplateError

ASSISTANT = "assistant"
THREAD = "thread"
MESSAGE = "thread.message"
RUN = "thread.run"
STEP = "thread.run.step"
STATE = "thread.run.state"  # private bookkeeping per run (schedule, matched rule), never served

ACTIVE = ("queued", "in_progress", "requires_action", "cancelling")
EXPIRES_IN = 600  # seconds, as the real service: a run left in requires_action expires
FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
_STREAM_ONLY_MESSAGE_KEYS = ("status", "incomplete_details", "incomplete_at", "completed_at")

Event = tuple[str, dict[str, Any]]


def message_object(
    thread_id: str,
    role: str,
    content: list[dict[str, Any]],
    *,
    created_at: int,
    attachments: list[dict[str, Any]] | None = None,
    metadata: dict[str, str] | None = None,
    assistant_id: str | None = None,
    run_id: str | None = None,
    status: str = "completed",
) -> dict[str, Any]:
    return {
        "id": new_id("msg"),
        "object": "thread.message",
        "created_at": created_at,
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "run_id": run_id,
        "status": status,
        "incomplete_details": None,
        "incomplete_at": None,
        "completed_at": created_at if status == "completed" else None,
        "role": role,
        "content": content,
        "attachments": attachments or [],
        "metadata": metadata or {},
    }


def public_message(message: dict[str, Any]) -> dict[str, Any]:
    """A message as JSON endpoints serve it: the real service leaves out the status fields
    there (streamed messages carry them)."""
    return {k: v for k, v in message.items() if k not in _STREAM_ONLY_MESSAGE_KEYS}


def public_step(step: dict[str, Any], include: list[str]) -> dict[str, Any]:
    """A run step; file search result content only when `include` asks for it."""
    if FILE_SEARCH_CONTENT in include:
        return step
    step = copy.deepcopy(step)
    for call in step["step_details"].get("tool_calls", []):
        for result in call.get("file_search", {}).get("results", []):
            result.pop("content", None)
    return step


def text_of(message: Mapping[str, Any]) -> str:
    return "\n".join(p["text"]["value"] for p in message["content"] if p["type"] == "text")


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    # The real service spells it "prompt_token_details" (the spec: prompt_tokens_details).
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_token_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def run_object(
    thread_id: str, assistant: Mapping[str, Any], body: Mapping[str, Any], created_at: int
) -> dict[str, Any]:
    """A new queued run: the request's overrides, else the assistant's settings."""

    def pick(key: str, default: Any) -> Any:
        value = body.get(key)
        return default if value is None else value

    instructions = pick("instructions", assistant.get("instructions") or "")
    if body.get("additional_instructions"):
        instructions = "\n".join(filter(None, [instructions, body["additional_instructions"]]))
    truncation = pick("truncation_strategy", {"type": "auto"})
    return {
        "id": new_id("run"),
        "object": "thread.run",
        "created_at": created_at,
        "assistant_id": assistant["id"],
        "thread_id": thread_id,
        "status": "queued",
        "started_at": None,
        "expires_at": created_at + EXPIRES_IN,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": pick("model", assistant.get("model")),
        "instructions": instructions,
        "tools": pick("tools", assistant.get("tools") or []),
        "tool_resources": assistant.get("tool_resources") or {},
        "metadata": pick("metadata", {}),
        "temperature": pick("temperature", assistant.get("temperature") or 1.0),
        "top_p": pick("top_p", assistant.get("top_p") or 1.0),
        "reasoning_effort": pick("reasoning_effort", assistant.get("reasoning_effort")),
        "max_completion_tokens": body.get("max_completion_tokens"),
        "max_prompt_tokens": body.get("max_prompt_tokens"),
        "truncation_strategy": {"last_messages": None, **truncation},
        "incomplete_details": None,
        "usage": None,
        "response_format": pick("response_format", assistant.get("response_format") or "auto"),
        "tool_choice": pick("tool_choice", "auto"),
        "parallel_tool_calls": pick("parallel_tool_calls", True),
    }


class _Runner:
    """One run being moved on: mutates the run, its steps and messages, and records events."""

    def __init__(self, sandbox: Sandbox, run: dict[str, Any], state: dict[str, Any]) -> None:
        self.store = sandbox.store
        self.model = sandbox.model
        self.run = run
        self.state = state
        self.thread_id: str = run["thread_id"]
        self.events: list[Event] = []

    def emit(self, event: str, obj: Mapping[str, Any]) -> None:
        self.events.append((event, copy.deepcopy(dict(obj))))

    def save(self) -> None:
        self.state["live"] = self.run["status"] in ACTIVE
        self.store.put(RUN, self.run, parent=self.thread_id)
        self.store.put(STATE, self.state, parent=self.thread_id)

    def schedule(self, at: float, *actions: str) -> None:
        delay = self.model.step_delay
        self.state["schedule"] = [[at + delay * (i + 1), a] for i, a in enumerate(actions)]

    def status(self, status: str, **fields: Any) -> None:
        self.run.update(status=status, **fields)
        if status not in ACTIVE:
            self.state["schedule"] = []
        if status in ("completed", "incomplete", "failed", "cancelled"):
            self.run["expires_at"] = None
        # A run that ends incomplete is announced as thread.run.completed by the real service.
        self.emit(f"thread.run.{'completed' if status == 'incomplete' else status}", self.run)

    def advance(self, now: float, *, drain: bool = False) -> None:
        """Apply every scheduled transition due by `now` (all of them when draining)."""
        while self.state["schedule"] and (drain or self.state["schedule"][0][0] <= now):
            at, action = self.state["schedule"].pop(0)
            getattr(self, f"_{action}")(at)
        expires_at = self.run["expires_at"]
        if self.run["status"] in ACTIVE and expires_at is not None and now >= expires_at:
            self._end_step("expired", expires_at)
            self.status("expired")

    # --- transitions ------------------------------------------------------------------

    def _start(self, at: float) -> None:
        self.status("in_progress", started_at=int(at))

    def _cancel(self, at: float) -> None:
        self._end_step("cancelled", at)
        self.status("cancelled", cancelled_at=int(at))

    def _act(self, at: float) -> None:
        messages = self.store.list(MESSAGE, parent=self.thread_id)
        prompt = tokens(self.run["instructions"] or "") + sum(tokens(text_of(m)) for m in messages)
        limit, usage = self.run["max_completion_tokens"], self.run["usage"]
        budget = None if limit is None else limit - (usage["completion_tokens"] if usage else 0)
        saved = self.state["turn"]
        if saved is not None:  # resuming after tool outputs, which only a rule asks for
            turn = Turn(Rule.from_dict(saved["rule"]), saved["values"])
            prompt += self.state["output_tokens"]
            return self._render(turns.follow_up(turn, max_tokens=budget), at, prompt)
        user = next((text_of(m) for m in reversed(messages) if m["role"] == "user"), "")
        assistant = self.store.get(ASSISTANT, self.run["assistant_id"]) or {
            "id": self.run["assistant_id"]
        }
        try:
            turn = self.model.turn(user, assistant)
        except RuleTemplateError as exc:  # a rule's regex ran out of time
            return self._render([turns.Broken(str(exc))], at, prompt)
        self.state["turn"] = {"rule": turn.rule and turn.rule.to_dict(), "values": turn.values}
        offer = turns.Offer(
            functions={t["function"]["name"] for t in self.run["tools"] if t["type"] == "function"},
            tool_types={t["type"] for t in self.run["tools"]},
            search=lambda query: self._find(query, assistant, at),
        )
        self._render(turns.decide(turn, offer, max_tokens=budget), at, prompt)

    def _render(self, steps: list[turns.Step], at: float, prompt: int) -> None:
        """The model's steps as run steps and messages; the last one ends or parks the run."""
        for step in steps:
            match step:
                case turns.FunctionCalls():
                    self._call_functions(step, at, prompt)
                case turns.CodeStep():
                    self._interpret(step, at, prompt)
                case turns.FileSearch():
                    self._search(step, at, prompt)
                case Reply():
                    self._reply(step, at, prompt)
                case turns.Ended(status="expired"):
                    self.status("expired")
                case turns.Ended():
                    self._fail(at, step.error or "[sandbox] the rule ends this run failed.")
                case turns.Lacks():
                    message = f"[sandbox] the matched rule uses {step.tool}, which this run lacks."
                    self._fail(at, message)
                case turns.Broken():
                    self._fail(at, f"[sandbox] rule template error: {step.error}")

    def _fail(self, at: float, message: str) -> None:
        self.status(
            "failed", failed_at=int(at), last_error={"code": "server_error", "message": message}
        )

    # --- steps ----------------------------------------------------------------------

    def _new_step(self, details: dict[str, Any], at: float) -> dict[str, Any]:
        step = {
            "id": new_id("step"),
            "object": "thread.run.step",
            "created_at": int(at),
            "run_id": self.run["id"],
            "assistant_id": self.run["assistant_id"],
            "thread_id": self.thread_id,
            "type": details["type"],
            "status": "in_progress",
            "cancelled_at": None,
            "completed_at": None,
            "expires_at": self.run["expires_at"],
            "failed_at": None,
            "last_error": None,
            "step_details": details,
            "usage": None,
        }
        self.store.insert(STEP, step, parent=self.run["id"])
        self.emit("thread.run.step.created", step)
        self.emit("thread.run.step.in_progress", step)
        return step

    def _step_delta(self, step: Mapping[str, Any], call: dict[str, Any]) -> None:
        delta = {"step_details": {"type": "tool_calls", "tool_calls": [call]}}
        self.emit(
            "thread.run.step.delta",
            {"id": step["id"], "object": "thread.run.step.delta", "delta": delta},
        )

    def _finish_step(self, step: dict[str, Any], at: float, usage: Mapping[str, Any]) -> None:
        self._add_usage(usage["prompt_tokens"], usage["completion_tokens"])
        step.update(status="completed", completed_at=int(at), usage=dict(usage))
        self.store.put(STEP, step, parent=self.run["id"])
        self.emit("thread.run.step.completed", step)

    def _end_step(self, status: str, at: float) -> None:
        """End the step that waits for tool outputs, if any (the run was cancelled or expired)."""
        step_id = self.state.pop("step_id", None)
        step = step_id and self.store.get(STEP, step_id, parent=self.run["id"])
        if step:
            step.update(
                status=status, **({"cancelled_at": int(at)} if status == "cancelled" else {})
            )
            self.store.put(STEP, step, parent=self.run["id"])
            self.emit(f"thread.run.step.{status}", step)

    def _add_usage(self, prompt: int, completion: int) -> None:
        used = self.run["usage"] or _usage(0, 0)
        self.run["usage"] = _usage(
            used["prompt_tokens"] + prompt, used["completion_tokens"] + completion
        )

    def _call_functions(self, step: turns.FunctionCalls, at: float, prompt: int) -> None:
        calls: list[dict[str, Any]] = [
            {
                "id": new_id("call"),
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in step.calls
        ]
        run_step = self._new_step({"type": "tool_calls", "tool_calls": []}, at)
        for i, call in enumerate(calls):
            detail = {**call, "function": {**call["function"], "output": None}}
            run_step["step_details"]["tool_calls"].append(detail)
            self._step_delta(run_step, {"index": i, **detail})
        self.store.put(STEP, run_step, parent=self.run["id"])
        self.state["step_id"] = run_step["id"]
        self.state["step_usage"] = [prompt, sum(tokens(c.arguments) for c in step.calls)]
        required = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": calls}}
        self.status("requires_action", required_action=required)

    def _interpret(self, code: turns.CodeStep, at: float, prompt: int) -> None:
        outputs = [] if code.logs is None else [{"type": "logs", "logs": code.logs}]
        call_id = new_id("call")
        step = self._new_step({"type": "tool_calls", "tool_calls": []}, at)
        start = {
            "id": call_id,
            "type": "code_interpreter",
            "code_interpreter": {"input": "", "outputs": []},
        }
        self._step_delta(step, {"index": 0, **start})
        for piece in chunks(code.code):
            self._step_delta(
                step, {"index": 0, "type": "code_interpreter", "code_interpreter": {"input": piece}}
            )
        if outputs:
            out = [{"index": 0, **outputs[0]}]
            self._step_delta(
                step, {"index": 0, "type": "code_interpreter", "code_interpreter": {"outputs": out}}
            )
        call = {
            "id": call_id,
            "type": "code_interpreter",
            "code_interpreter": {"input": code.code, "outputs": outputs},
        }
        step["step_details"]["tool_calls"] = [call]
        self._finish_step(step, at, _usage(prompt, tokens(code.code)))

    def _find(self, query: str, assistant: Mapping[str, Any], at: float) -> list[dict[str, Any]]:
        """File search over the assistant's and the thread's vector stores."""
        thread = self.store.get(THREAD, self.thread_id) or {}
        store_ids = [*_vector_store_ids(assistant), *_vector_store_ids(thread)]
        limit = next(
            (
                t.get("file_search", {}).get("max_num_results")
                for t in self.run["tools"]
                if t["type"] == "file_search"
            ),
            None,
        )
        return vectorstores.search(
            self.store, store_ids, [query], now=at, max_num_results=limit or 3
        )

    def _search(self, search: turns.FileSearch, at: float, prompt: int) -> None:
        call_id = new_id("call")
        step = self._new_step({"type": "tool_calls", "tool_calls": []}, at)
        self._step_delta(
            step, {"index": 0, "id": call_id, "type": "file_search", "file_search": {}}
        )
        found = [
            {
                "file_id": hit.file_id,
                "file_name": hit.filename,
                "score": hit.score,
                "content": [{"type": "text", "text": hit.passage}],
            }
            for hit in search.hits
        ]
        ranking = {"ranker": "default_2024_08_21", "score_threshold": 0.0}
        call = {
            "id": call_id,
            "type": "file_search",
            "file_search": {"ranking_options": ranking, "results": found},
        }
        step["step_details"]["tool_calls"] = [call]
        self._finish_step(step, at, _usage(prompt, tokens(search.query)))

    def _reply(self, reply: Reply, at: float, prompt: int) -> None:
        message = message_object(
            self.thread_id,
            "assistant",
            [],
            created_at=int(at),
            assistant_id=self.run["assistant_id"],
            run_id=self.run["id"],
            status="in_progress",
        )
        step = self._new_step(
            {"type": "message_creation", "message_creation": {"message_id": message["id"]}}, at
        )
        self.store.insert(MESSAGE, message, parent=self.thread_id)
        self.emit("thread.message.created", message)
        self.emit("thread.message.in_progress", message)
        for i, piece in enumerate(chunks(reply.body)):
            self._text_delta(
                message["id"], {"value": piece, **({"annotations": []} if i == 0 else {})}
            )
        for i, note in enumerate(reply.annotations):
            self._text_delta(
                message["id"], {"value": note["text"], "annotations": [{"index": i, **note}]}
            )
        message["content"] = [
            {"type": "text", "text": {"value": reply.text, "annotations": reply.annotations}}
        ]
        if reply.status == "incomplete":
            message.update(
                status="incomplete",
                incomplete_details={"reason": "max_tokens"},
                incomplete_at=int(at),
            )
        else:
            message.update(status="completed", completed_at=int(at))
        self.store.put(MESSAGE, message, parent=self.thread_id)
        self.emit(f"thread.message.{message['status']}", message)
        self._finish_step(step, at, _usage(prompt, tokens(reply.text)))
        if reply.status == "incomplete":
            reason = {"reason": "max_completion_tokens"}
            self.status("incomplete", completed_at=int(at), incomplete_details=reason)
        else:
            self.status("completed", completed_at=int(at))

    def _text_delta(self, message_id: str, text: dict[str, Any]) -> None:
        delta = {"content": [{"index": 0, "type": "text", "text": text}]}
        self.emit(
            "thread.message.delta",
            {"id": message_id, "object": "thread.message.delta", "delta": delta},
        )


def _vector_store_ids(owner: Mapping[str, Any]) -> list[str]:
    resources = owner.get("tool_resources") or {}
    return list((resources.get("file_search") or {}).get("vector_store_ids") or [])


# --- operations used by the routes ---------------------------------------------------------


def _runner(sandbox: Sandbox, run: dict[str, Any]) -> _Runner:
    state = sandbox.store.get(STATE, run["id"], parent=run["thread_id"])
    assert state is not None
    return _Runner(sandbox, run, state)


def settle(sandbox: Sandbox, thread_id: str) -> None:
    """Move every live run of a thread on to the model's clock."""
    store = sandbox.store
    now = sandbox.clock()
    with store.transaction():
        for state in store.list(STATE, parent=thread_id):
            run = store.get(RUN, state["id"], parent=thread_id) if state["live"] else None
            if run is not None:
                runner = _Runner(sandbox, run, state)
                runner.advance(now)
                runner.save()


def active_run(sandbox: Sandbox, thread_id: str) -> dict[str, Any] | None:
    settle(sandbox, thread_id)
    return next(
        (r for r in sandbox.store.list(RUN, parent=thread_id) if r["status"] in ACTIVE), None
    )


def start(
    sandbox: Sandbox,
    thread: Mapping[str, Any],
    assistant: Mapping[str, Any],
    body: Mapping[str, Any],
) -> tuple[dict[str, Any], list[Event]]:
    """Create a queued run; a streamed one (`stream: true`) is run to its end at once."""
    store, now = sandbox.store, sandbox.clock()
    run = run_object(thread["id"], assistant, body, int(now))
    runner = _Runner(sandbox, run, {"id": run["id"], "turn": None, "live": True, "schedule": []})
    runner.schedule(now, "start", "act")
    with store.transaction():
        store.insert(RUN, run, parent=thread["id"])
        store.insert(STATE, runner.state, parent=thread["id"])
        runner.emit("thread.run.created", run)
        runner.emit("thread.run.queued", run)
        if body.get("stream"):
            runner.advance(now, drain=True)
        runner.save()
    return run, runner.events


def submit_tool_outputs(
    sandbox: Sandbox, run: dict[str, Any], outputs: list[dict[str, Any]], *, stream: bool
) -> tuple[dict[str, Any], list[Event]]:
    """Accept the outputs of the pending function calls (all of them, at once) and requeue."""
    if run["status"] != "requires_action":
        raise APIError(400, f'Runs in status "{run["status"]}" do not accept tool outputs.')
    calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    expected = [c["id"] for c in calls]
    got = [o.get("tool_call_id") for o in outputs]
    if sorted(expected) != sorted(map(str, got)):
        raise APIError(400, f"Expected tool outputs for call_ids {expected}, got {got}")
    now = sandbox.clock()
    runner = _runner(sandbox, run)
    by_id = {o["tool_call_id"]: o.get("output", "") for o in outputs}
    runner.state["output_tokens"] = sum(tokens(o) for o in by_id.values())
    answered = [
        turns.Answered(c["id"], c["function"]["name"], c["function"]["arguments"], by_id[c["id"]])
        for c in calls
    ]
    saved = runner.state["turn"]
    saved["values"] = turns.with_outputs(saved["values"], answered)
    with sandbox.store.transaction():
        step = sandbox.store.get(STEP, runner.state.pop("step_id"), parent=run["id"])
        assert step is not None
        for detail in step["step_details"]["tool_calls"]:
            detail["function"]["output"] = by_id[detail["id"]]
        runner._finish_step(step, now, _usage(*runner.state.pop("step_usage")))
        runner.schedule(now, "start", "act")
        runner.status("queued", required_action=None)
        if stream:
            runner.advance(now, drain=True)
        runner.save()
    return run, runner.events


def cancel(sandbox: Sandbox, run: dict[str, Any]) -> dict[str, Any]:
    if run["status"] not in ("queued", "in_progress", "requires_action"):
        raise APIError(400, f"Cannot cancel run with status '{run['status']}'.")
    runner = _runner(sandbox, run)
    with sandbox.store.transaction():
        runner.schedule(sandbox.clock(), "cancel")
        runner.status("cancelling")
        runner.save()
    return run
