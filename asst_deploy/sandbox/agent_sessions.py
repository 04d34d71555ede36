"""Agent sessions as a lazily settled state machine: turns, items and the session event log.

A session is idle until an input message arrives; that creates a turn `queued` with a
schedule: `start` (-> in_progress) one step delay later, `act` (the scripted model: a
reply, function calls that park the turn `waiting` and the session `requires_action`,
or a command execution in a hosted environment, then a reply) one more step later.
Tool results for every pending call schedule `answer` (the reply, using the outputs).
Nothing runs in the background: every request touching a session, and every open event
stream, first settles it up to the sandbox clock. Each transition appends its events
(with event_id) to the session's event log, which `GET .../events` streams and
`POST /agents/sessions` with `stream` drains.

A turn ends `completed`, `cancelled` or `failed`, and the session rests again: `idle`, or
`budget_reached` when its spend has reached its limit. A failed turn leaves the session
usable (the SDK's Turn.error is "Non-null only for a failed turn"; its stream helper ends
a turn at `agent.session.idle` after `turn.failed`); only a session-level failure (a rule's
`status: session_failed`) makes the session `failed`, which takes no more input.

Spending (`spend_control`, USD cents). SpendControl.consumed is "best-effort recorded
spend": a model call is paid for once it ran, so the limit is checked before each model
call (the turn's first, `act`, and the one after tool results, `answer`), never in the
middle of one. A rule's `cost_cents` is spent by the turn's first model call. Hence:
- a turn whose cost passes the limit still publishes that call's work; if the turn is
  done it completes, and the session then rests `budget_reached` instead of `idle` (the
  SDK's result collector accepts a completed turn before `agent.session.budget_reached`);
- if it needs another model call (its function calls were answered), that call is refused:
  the turn fails with `session_budget_exceeded` ("The session has reached its usage
  budget", a SessionTurnError code), then the session is `budget_reached`;
- `budget_reached` is a pause ("paused because its spending limit was reached"), not a
  failure: new input answers 409 until an update raises or removes the limit ("null or a
  null limit removes it without resetting spend"), which makes the session `idle` again
  with `agent.session.idle`; an update that lowers the limit to the spend so far pauses an
  idle session at once.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from asst_deploy.sandbox import automations, turns
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.model import AUTOMATIONS, Reply, Rule, Turn, chunks, tokens
from asst_deploy.sandbox.store import new_id

SESSION = "agent.session"
STATE = "agent.session.state"  # private per session (schedule, rule, calls, env secrets)
EVENT = "agent.session.event"
ITEM = "agent.session.item"
TURN = "agent.session.turn"
IDEMPOTENCY = "agent.session.idempotency"

RESTING = ("agent.session.idle", "agent.session.failed", "agent.session.budget_reached")


def usage(input_tokens: int = 0, output_tokens: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _add_usage(total: Mapping[str, Any] | None, more: Mapping[str, Any]) -> dict[str, Any]:
    if total is None:
        return copy.deepcopy(dict(more))
    return usage(
        total["input_tokens"] + more["input_tokens"], total["output_tokens"] + more["output_tokens"]
    )


def input_text(content: Sequence[Mapping[str, Any]] | str | None) -> str:
    """The text of input content parts (tool outputs may be a plain string)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in content if p.get("type") == "input_text")


def messages_of(value: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Session `input`: a string is one user message of one input_text part."""
    if isinstance(value, str):
        return [{"role": "user", "content": [{"type": "input_text", "text": value}]}]
    return value


class _Runner:
    """One session being moved on: mutates it, its turn and items, and logs events."""

    def __init__(self, sandbox: Sandbox, session: dict[str, Any], state: dict[str, Any]) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self.session = session
        self.state = state
        self.id: str = session["id"]

    # --- bookkeeping ------------------------------------------------------------------

    def save(self) -> None:
        self.store.put(SESSION, self.session)
        self.store.put(STATE, self.state, parent=self.id)

    def emit(self, type: str, **fields: Any) -> None:
        event = {"event_id": new_id("event"), "type": type, **copy.deepcopy(fields)}
        self.store.insert(EVENT, {"id": event["event_id"], **event}, parent=self.id)

    def emit_session(self, status: str) -> None:
        self.session["status"] = status
        self.emit(f"agent.session.{status}", session=self.session)

    def turn(self) -> dict[str, Any]:
        found = self.store.get(TURN, self.state["turn_id"], parent=self.id)
        assert found is not None
        return found

    def emit_turn(self, turn: dict[str, Any], type: str, **fields: Any) -> None:
        self.store.put(TURN, turn, parent=self.id)
        self.emit(
            f"agent.session.turn.{type}",
            session_id=self.id,
            turn=turn,
            turn_id=turn["id"],
            **fields,
        )

    def add_item(self, item: dict[str, Any], *, output: bool) -> int | None:
        """Store an item and announce it; output items get the turn's next output_index."""
        index = None
        if output:
            index = self.state["output_index"]
            self.state["output_index"] += 1
        self.store.insert(ITEM, item, parent=self.id)
        self.emit(
            "agent.session.turn.item.added",
            session_id=self.id,
            turn_id=item["turn_id"],
            item=item,
            output_index=index,
        )
        return index

    def finish_item(self, item: dict[str, Any], index: int | None) -> None:
        self.store.put(ITEM, item, parent=self.id)
        self.emit(
            "agent.session.turn.item.done",
            session_id=self.id,
            turn_id=item["turn_id"],
            item=item,
            output_index=index,
        )

    def over_budget(self) -> bool:
        spend = self.session["spend_control"]
        return spend["limit"] is not None and spend["consumed"] >= spend["limit"]

    def schedule(self, at: float, *phases: str) -> None:
        delay = self.sandbox.model.step_delay
        self.state["schedule"] = [[at + delay * (i + 1), p] for i, p in enumerate(phases)]

    def advance(self, now: float) -> None:
        while self.state["schedule"] and self.state["schedule"][0][0] <= now:
            at, phase = self.state["schedule"].pop(0)
            getattr(self, f"_{phase}")(at)

    # --- transitions ------------------------------------------------------------------

    def begin(self, messages: list[dict[str, Any]], at: float) -> dict[str, Any]:
        turn = {
            "id": new_id("turn"),
            "object": "agent.session.turn",
            "agent_id": self.session["agent"]["id"],
            "session_id": self.id,
            "created_at": int(at),
            "started_at": None,
            "completed_at": None,
            "status": "queued",
            "error": None,
            "subagent_id": None,
            "usage": None,
            "prompt_cache_options": self.session.get("prompt_cache_options"),
        }
        self.store.insert(TURN, turn, parent=self.id)
        self.state.update(turn_id=turn["id"], output_index=0, calls=[], tokens_in=0)
        self.emit_turn(turn, "created")
        for message in messages:
            item = {
                "id": new_id("msg"),
                "type": "message",
                "role": "user",
                "content": message["content"],
                "status": "completed",
                "phase": None,
                "turn_id": turn["id"],
            }
            self.add_item(item, output=False)
        text = input_text(messages[-1]["content"])
        self.state["tokens_in"] = sum(tokens(input_text(m["content"])) for m in messages)
        decided = self.sandbox.model.turn(text, self.session["agent"])
        self.state["rule"] = decided.rule.to_dict() if decided.rule else None
        self.state["values"] = decided.values
        self.session["last_active_at"] = int(at)
        self.emit_session("in_progress")
        self.schedule(at, "start", "act")
        return turn

    def _start(self, at: float) -> None:
        turn = self.turn()
        turn.update(status="in_progress", started_at=int(at))
        self.emit_turn(turn, "in_progress")

    def _act(self, at: float) -> None:
        if self.over_budget():
            self._fail_budget(at)
            return
        rule = Rule.from_dict(self.state["rule"]) if self.state["rule"] else None
        if rule is not None:
            self.session["spend_control"]["consumed"] += rule.cost_cents
        tools = (
            {"code_interpreter"}
            if self.session["environment"]["type"] == "openai_hosted"
            else set()
        )
        if any(t.get("type") == AUTOMATIONS for t in self.session["agent"].get("tools") or ()):
            tools.add(AUTOMATIONS)
        offer = turns.Offer(functions=None, tool_types=tools)
        self._render(turns.decide(Turn(rule, self.state["values"]), offer), at)

    def _render(self, steps: list[turns.Step], at: float) -> None:
        """The model's steps as turn items and events; the last one ends or parks the turn."""
        for step in steps:
            match step:
                case turns.FunctionCalls():
                    self._call_functions(step, at)
                case turns.CodeStep():
                    self._command(step)
                case turns.AutomationStep():
                    if not self._automate(step, at):
                        return
                case Reply():
                    self._reply(step, at)
                case turns.Ended(session=True):
                    message = step.error or "The scripted session failed."
                    self._fail(at, "internal_error", message, session=True)
                case turns.Ended():
                    code = "server_error" if step.status == "failed" else "request_timeout"
                    self._fail(at, code, step.error or f"The scripted turn ended {step.status}.")
                case turns.Lacks() if step.tool == AUTOMATIONS:
                    message = (
                        "The rule creates an automation, but the agent has no automations tool."
                    )
                    self._fail(at, "sandbox_error", message)
                case turns.Lacks():  # else only a command can lack: functions go unchecked here
                    message = "The rule runs a command, but the session has no hosted environment."
                    self._fail(at, "sandbox_error", message)
                case turns.Broken():
                    self._fail(at, "server_error", f"sandbox rule error: {step.error}")

    def _call_functions(self, step: turns.FunctionCalls, at: float) -> None:
        turn = self.turn()
        calls = []
        for call in step.calls:
            item = {
                "id": new_id("fc"),
                "type": "function_call",
                "call_id": new_id("call"),
                "name": call.name,
                "arguments": call.arguments,
                "status": "in_progress",
                "turn_id": turn["id"],
            }
            index = self.add_item(dict(item), output=True)
            item["status"] = "completed"
            self.finish_item(item, index)
            calls.append({"call_id": item["call_id"], "name": call.name, "result": None})
            self.session["required_actions"].append(
                {
                    "type": "function_call",
                    "call_id": item["call_id"],
                    "name": call.name,
                    "arguments": item["arguments"],
                    "turn_id": turn["id"],
                }
            )
        self.state["calls"] = calls
        turn["status"] = "waiting"
        self.store.put(TURN, turn, parent=self.id)
        self.emit_session("requires_action")

    def _command(self, code: turns.CodeStep) -> None:
        logs = code.logs or ""
        item = {
            "id": new_id("cmd"),
            "type": "command_execution",
            "command": code.code,
            "cwd": "/workspace",
            "duration_ms": None,
            "exit_code": None,
            "output": None,
            "status": "in_progress",
            "turn_id": self.state["turn_id"],
        }
        index = self.add_item(dict(item), output=True)
        assert index is not None
        for piece in chunks(logs):
            self.emit(
                "agent.output.command_execution_output.delta",
                session_id=self.id,
                turn_id=item["turn_id"],
                item_id=item["id"],
                output_index=index,
                delta=piece,
            )
        item.update(status="completed", output=logs, exit_code=0, duration_ms=0)
        self.finish_item(item, index)

    def _automate(self, step: turns.AutomationStep, at: float) -> bool:
        """The automations tool's call: the automation made, with this session as its
        creator and target; a call the service would refuse fails the turn (False)."""
        try:
            made = automations.by_agent(step.arguments, self.id, new_id("call"), at)
        except (APIError, KeyError) as exc:
            why = exc.message if isinstance(exc, APIError) else f"no {exc}"
            self._fail(at, "server_error", f"sandbox rule error: automations tool: {why}")
            return False
        self.store.insert(automations.AUTOMATION, made)
        return True

    def _reply(self, reply: Reply, at: float) -> None:
        turn = self.turn()
        item = {
            "id": new_id("msg"),
            "type": "message",
            "role": "assistant",
            "content": [],
            "status": "in_progress",
            "phase": "final_answer",
            "turn_id": turn["id"],
        }
        index = self.add_item(dict(item), output=True)
        where = {"session_id": self.id, "turn_id": turn["id"], "item_id": item["id"]}
        part = {"type": "output_text", "text": ""}
        self.emit(
            "agent.session.turn.content_part.added",
            **where,
            output_index=index,
            content_index=0,
            part=part,
        )
        for piece in chunks(reply.text):
            self.emit(
                "agent.session.turn.output_text.delta",
                **where,
                output_index=index,
                content_index=0,
                delta=piece,
            )
        part = {"type": "output_text", "text": reply.text}
        self.emit(
            "agent.session.turn.output_text.done",
            **where,
            output_index=index,
            content_index=0,
            text=reply.text,
        )
        self.emit(
            "agent.session.turn.content_part.done",
            **where,
            output_index=index,
            content_index=0,
            part=part,
        )
        item.update(content=[part], status=reply.status)
        self.finish_item(item, index)
        spent = usage(self.state["tokens_in"], tokens(reply.text))
        turn.update(status="completed", completed_at=int(at), usage=spent)
        self.emit_turn(turn, "completed", usage=spent)
        self._rest(at, spent)

    def _rest(self, at: float, spent: Mapping[str, Any] | None) -> None:
        if spent is not None:
            self.session["usage"] = _add_usage(self.session.get("usage"), spent)
        self.session.update(required_actions=[], last_active_at=int(at))
        self.state.update(turn_id=None, schedule=[], calls=[])
        self.emit_session("budget_reached" if self.over_budget() else "idle")

    def _fail(self, at: float, code: str, message: str, *, session: bool = False) -> None:
        """Fail the turn; the session rests usable unless the failure is the session's."""
        turn = self.turn()
        turn.update(status="failed", completed_at=int(at), error={"code": code, "message": message})
        self.emit_turn(turn, "failed", usage=None)
        if not session:
            self._rest(at, None)
            return
        self.session.update(required_actions=[], error=message, last_active_at=int(at))
        self.state.update(turn_id=None, schedule=[], calls=[])
        self.emit_session("failed")

    def _fail_budget(self, at: float) -> None:
        spend = self.session["spend_control"]
        self._fail(
            at,
            "session_budget_exceeded",
            f"The session has reached its spending limit of {spend['limit']} cents "
            f"({spend['consumed']} cents spent); raise the limit to continue.",
        )

    def tool_result(self, event: Mapping[str, Any], at: float) -> None:
        pending = {c["call_id"]: c for c in self.state.get("calls", []) if c["result"] is None}
        call = pending.get(event["call_id"])
        if call is None or event["turn_id"] != self.state.get("turn_id"):
            # The SDK's tool dispatcher recognises exactly this body (a registration race).
            raise APIError(
                400,
                f"Unknown pending tool call: {event['call_id']}",
                param="events",
                code="invalid_request_error",
            )
        success = event["success"]
        output = event.get("output") if success else None
        error = None if success else event.get("error") or "The tool call failed."
        call["result"] = input_text(output) if success else error
        item = {
            "id": new_id("fco"),
            "type": "function_call_output",
            "call_id": call["call_id"],
            "output": output,
            "error": error,
            "status": "completed" if success else "failed",
            "turn_id": self.state["turn_id"],
        }
        self.add_item(item, output=False)
        self.session["required_actions"] = [
            a for a in self.session["required_actions"] if a.get("call_id") != call["call_id"]
        ]
        if any(c["result"] is None for c in self.state["calls"]):
            return
        answered = [
            turns.Answered(c["call_id"], c["name"], self._arguments(c["call_id"]), c["result"])
            for c in self.state["calls"]
        ]
        self.state["values"] = turns.with_outputs(self.state["values"], answered)
        self.state["tokens_in"] += sum(tokens(c["result"]) for c in self.state["calls"])
        turn = self.turn()
        turn["status"] = "in_progress"
        self.emit_turn(turn, "in_progress")
        self.emit_session("in_progress")
        self.schedule(at, "answer")

    def _arguments(self, call_id: str) -> str:
        for item in self.store.list(ITEM, parent=self.id):
            if item.get("call_id") == call_id and item["type"] == "function_call":
                return str(item["arguments"])
        return "{}"

    def _answer(self, at: float) -> None:
        if self.over_budget():
            self._fail_budget(at)
            return
        rule = Rule.from_dict(self.state["rule"]) if self.state["rule"] else None
        self._render(turns.follow_up(Turn(rule, self.state["values"])), at)

    def cancel(self, at: float) -> None:
        turn = self.turn()
        turn.update(status="cancelled", completed_at=int(at))
        self.emit_turn(turn, "cancelled", usage=None)
        self._rest(at, None)


def _runner(sandbox: Sandbox, session: dict[str, Any]) -> _Runner:
    state = sandbox.store.get(STATE, session["id"], parent=session["id"])
    assert state is not None
    return _Runner(sandbox, session, state)


def settle(sandbox: Sandbox, session: dict[str, Any]) -> dict[str, Any]:
    """Apply every transition due by now; returns the session as it stands."""
    runner = _runner(sandbox, session)
    if not runner.state["schedule"] or runner.state["schedule"][0][0] > sandbox.clock():
        return session
    with sandbox.store.transaction():
        runner.advance(sandbox.clock())
        runner.save()
    return runner.session


def create(
    sandbox: Sandbox,
    session: dict[str, Any],
    private_environment: dict[str, Any],
    messages: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """Store a new session (and start its first turn when it came with input)."""
    state = {
        "id": session["id"],
        "turn_id": None,
        "schedule": [],
        "calls": [],
        "environment": private_environment,
    }
    with sandbox.store.transaction():
        sandbox.store.insert(SESSION, session)
        sandbox.store.insert(STATE, state, parent=session["id"])
        runner = _Runner(sandbox, session, state)
        runner.emit("agent.session.created", session=session)
        if messages:
            runner.begin(messages, sandbox.clock())
        else:
            runner.emit_session("idle")
        runner.save()
    return settle(sandbox, runner.session)


def apply_events(sandbox: Sandbox, session: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """Apply input events in order, all or nothing (a bad one rolls back those before it)."""
    runner = _runner(sandbox, session)
    now = sandbox.clock()
    with sandbox.store.transaction():
        for i, event in enumerate(events):
            kind = event["type"]
            status = runner.session["status"]
            # 409 where the input conflicts with the session's state (the Agents OpenAPI:
            # "The request conflicted with the current session state").
            if kind == "agent.session.input.message":
                if status == "failed":
                    raise APIError(
                        409,
                        f"Session {runner.id} has failed and accepts no more input: "
                        f"{runner.session.get('error')}",
                        param=f"events[{i}]",
                        code="session_failed",
                    )
                if status == "budget_reached":
                    spend = runner.session["spend_control"]
                    raise APIError(
                        409,
                        f"Session {runner.id} reached its spending limit of {spend['limit']} "
                        f"cents ({spend['consumed']} cents spent); raise or remove "
                        "spend_control.limit to continue.",
                        param=f"events[{i}]",
                        code="session_budget_exceeded",
                    )
                if runner.state["turn_id"] is not None:
                    raise APIError(
                        409,
                        f"Session {runner.id} already has an active turn "
                        f"{runner.state['turn_id']}; wait for it to end or cancel it.",
                        param=f"events[{i}]",
                        code="active_turn",
                    )
                runner.begin(event["input"], now)
            elif kind == "agent.session.input.tool_result":
                runner.tool_result(event, now)
            elif kind == "agent.session.input.cancel":
                if runner.state["turn_id"] is None:
                    raise APIError(
                        409,
                        f"Session {runner.id} has no active turn to cancel.",
                        param=f"events[{i}]",
                        code="no_active_turn",
                    )
                runner.cancel(now)
            else:
                # approval results: the scripted model never asks for an approval
                raise APIError(
                    400,
                    f"Unknown pending approval request: {event['request_id']}",
                    param=f"events[{i}].request_id",
                    code="invalid_request_error",
                )
        runner.save()
    settle(sandbox, runner.session)


def updated(sandbox: Sandbox, session: dict[str, Any]) -> dict[str, Any]:
    """Store a session after an update; a new spending limit may pause or resume it."""
    runner = _runner(sandbox, session)
    with sandbox.store.transaction():
        if runner.state["turn_id"] is None and session["status"] in ("idle", "budget_reached"):
            resting = "budget_reached" if runner.over_budget() else "idle"
            if resting != session["status"]:
                runner.emit_session(resting)
        runner.save()
    return runner.session


def events_since(sandbox: Sandbox, session_id: str, cursor: int) -> list[dict[str, Any]]:
    """The session's logged events after the first `cursor`, as the stream sends them."""
    logged = sandbox.store.list(EVENT, parent=session_id)[cursor:]
    return [{k: v for k, v in e.items() if k != "id"} for e in logged]


def event_count(sandbox: Sandbox, session_id: str) -> int:
    return len(sandbox.store.list(EVENT, parent=session_id))
