"""Responses API answers: context from previous responses or conversations, output items, events.

A response is computed whole when it is created (nothing is left to settle): its context
is the chain of `previous_response_id` (each response's input items, then its output
items) or the items of its `conversation`, followed by the request's own input. The
scripted model answers the latest user message; when the input ends with
`function_call_output` items for calls a rule made, that rule's reply is rendered with
the outputs, as runs do after submit_tool_outputs. Streamed answers are the same
response told as the official event sequence, each event with its `sequence_number`.
`compact` folds a context into one compaction item (the sandbox's own sealed form of the
items); wherever such an item comes back (input, previous responses, a conversation) it
stands for the items it holds.

Rules that name an `assistant` apply when the request's metadata names it: under
`asst_deploy.key` (matched as the assistant id) or `assistant` or `asst_deploy.name`
(matched as its name; asst_deploy.runtime's requests carry the spec's name there).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asst_deploy import grading
from asst_deploy.request_template import NAME_KEY
from asst_deploy.sandbox import turns, vectorstores
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.filestore import get_file
from asst_deploy.sandbox.model import Reply, Rule, Turn, chunks, tokens
from asst_deploy.sandbox.store import new_id
from asst_deploy.templating import RuleTemplateError

RESPONSE = "response"
INPUT_ITEM = "response.input_item"  # parent: the response id
STATE = "response.state"  # private per response (the matched rule), never served
CALL = "response.call"  # call_id -> the response whose rule made the call
CONVERSATION = "conversation"
MODEL_ROLE = "assistant"  # the role of the model's own messages (a message role, no kind)
CONVERSATION_ITEM = "conversation.item"  # parent: the conversation id

ASSISTANT_ID_KEY = "asst_deploy.key"
ASSISTANT_NAME_KEY = "assistant"
SPEC_NAME_KEY = NAME_KEY
DEFAULT_MAX_RESULTS = 3  # the same default as runs, so both APIs cite alike
INCLUDE_RESULTS = "file_search_call.results"
INCLUDE_OUTPUTS = "code_interpreter_call.outputs"

Event = dict[str, Any]

_ITEM_PREFIX = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "file_search_call": "fs",
    "code_interpreter_call": "ci",
    "compaction": "cmp",
}
# What a compaction item's encrypted_content starts with: the sandbox's own format, the
# compacted items as base64 JSON (the real one is opaque and sealed; this one only has to
# come back to the sandbox that made it).
COMPACTED = "sbx_cmp1."


def response_not_found(response_id: str) -> APIError:
    return APIError(404, f"Response with id '{response_id}' not found.")


def conversation_not_found(conversation_id: str, *, param: str | None = None) -> APIError:
    return APIError(404, f"Conversation with id '{conversation_id}' not found.", param=param)


def item_not_found(item_id: str) -> APIError:
    return APIError(404, f"Item with id '{item_id}' not found.")


# --- items -----------------------------------------------------------------------------


def _part(role: str, part: Mapping[str, Any]) -> dict[str, Any]:
    if part["type"] == "output_text":
        return {
            "type": "output_text",
            "text": part["text"],
            "annotations": list(part.get("annotations") or []),
            "logprobs": list(part.get("logprobs") or []),
        }
    return dict(part)


def stored_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """A validated input item as the API lists it afterwards (an ItemResource): typed,
    with an id and a status, string content turned into parts."""
    kind = item.get("type", "message")
    # Fresh ids: a client that sends earlier items back must not collide with them.
    obj: dict[str, Any] = {"id": new_id(_ITEM_PREFIX[kind]), "type": kind}
    if kind == "message":
        role = item["role"]
        raw = item["content"]
        text_type = "output_text" if role == MODEL_ROLE else "input_text"
        parts = [{"type": text_type, "text": raw}] if isinstance(raw, str) else raw
        obj |= {
            "status": item.get("status") or "completed",
            "role": role,
            "content": [_part(role, p) for p in parts],
        }
    elif kind == "function_call":
        obj |= {
            "status": item.get("status") or "completed",
            "call_id": item["call_id"],
            "name": item["name"],
            "arguments": item["arguments"],
        }
    elif kind == "compaction":
        obj["encrypted_content"] = item["encrypted_content"]
    else:
        obj |= {
            "status": item.get("status") or "completed",
            "call_id": item["call_id"],
            "output": item["output"],
        }
    return obj


def item_text(item: Mapping[str, Any]) -> str:
    """The words an item puts before the model (for matching and token counts)."""
    if item["type"] == "message":
        return "\n".join(
            p.get("text") or p.get("refusal") or ""
            for p in item["content"]
            if p["type"] in ("input_text", "output_text", "refusal")
        )
    if item["type"] == "function_call":
        return str(item["arguments"])
    if item["type"] == "function_call_output":
        output = item["output"]
        if isinstance(output, str):
            return output
        return "\n".join(p.get("text", "") for p in output if isinstance(p, dict))
    return ""


def seal(items: Sequence[Mapping[str, Any]]) -> str:
    """The encrypted_content of a compaction item that stands for `items`."""
    data = json.dumps(list(items), separators=(",", ":"), sort_keys=True).encode()
    return COMPACTED + base64.urlsafe_b64encode(data).decode()


def _unseal(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    content = str(item["encrypted_content"])
    try:
        if not content.startswith(COMPACTED):
            raise ValueError(content)
        items = json.loads(base64.urlsafe_b64decode(content.removeprefix(COMPACTED)))
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and i.get("type") in _ITEM_PREFIX and "id" in i for i in items
        ):
            raise ValueError(content)
    except (ValueError, binascii.Error) as exc:
        raise APIError(
            400,
            f"The encrypted content for item {item['id']} could not be verified.",
            param="input",
            code="invalid_encrypted_content",
        ) from exc
    return items


def expand(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items with each compaction item replaced by the items it compacted."""
    found: list[dict[str, Any]] = []
    for item in items:
        found.extend(_unseal(item) if item["type"] == "compaction" else [item])
    return found


# --- context ---------------------------------------------------------------------------


def get_response(sandbox: Sandbox, response_id: str) -> dict[str, Any]:
    obj = sandbox.store.get(RESPONSE, response_id)
    if obj is None:
        raise response_not_found(response_id)
    return obj


def get_conversation(
    sandbox: Sandbox, conversation_id: str, *, param: str | None = None
) -> dict[str, Any]:
    obj = sandbox.store.get(CONVERSATION, conversation_id)
    if obj is None:
        raise conversation_not_found(conversation_id, param=param)
    return obj


def chain_items(sandbox: Sandbox, response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Everything a response saw and said, oldest first, following previous_response_id."""
    store = sandbox.store
    chain: list[Mapping[str, Any]] = []
    current: Mapping[str, Any] | None = response
    while current is not None:
        chain.append(current)
        previous = current.get("previous_response_id")
        current = store.get(RESPONSE, previous) if previous else None
    items: list[dict[str, Any]] = []
    for link in reversed(chain):
        items.extend(store.list(INPUT_ITEM, parent=link["id"]))
        items.extend(link["output"])
    return items


def check_calls(context: Sequence[Mapping[str, Any]], start: int) -> None:
    """Every function_call_output answers a call, and every call has its output."""
    calls = [i["call_id"] for i in context if i["type"] == "function_call"]
    answered = {i["call_id"] for i in context if i["type"] == "function_call_output"}
    for item in context[start:]:
        if item["type"] == "function_call_output" and item["call_id"] not in calls:
            raise APIError(
                400,
                f"No tool call found for function call output with call_id {item['call_id']}.",
                param="input",
            )
    for call_id in calls:
        if call_id not in answered:
            raise APIError(400, f"No tool output found for function call {call_id}.", param="input")


# --- the response object -----------------------------------------------------------------


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool as the response echoes it, defaults filled in."""
    kind = tool["type"]
    if kind == "function":
        echoed = {
            "type": "function",
            "name": tool["name"],
            "description": tool.get("description"),
            "parameters": tool.get("parameters"),
            "strict": tool.get("strict") is not False,
        }
        if tool.get("output_schema") is not None:
            echoed["output_schema"] = tool["output_schema"]  # only described, never checked
        return echoed
    if kind == "file_search":
        ranking = {"ranker": "auto", "score_threshold": 0.0, **(tool.get("ranking_options") or {})}
        return {
            "type": "file_search",
            "vector_store_ids": list(tool["vector_store_ids"]),
            "filters": tool.get("filters"),
            # the real service's default, echoed; unset, the search itself still stops
            # at DEFAULT_MAX_RESULTS so that both APIs cite the same passages
            "max_num_results": tool.get("max_num_results") or 20,
            "ranking_options": ranking,
        }
    container = tool["container"]
    if isinstance(container, Mapping):
        container = {"type": "auto", "file_ids": [], **container}
    return {"type": "code_interpreter", "container": container}


def _text_config(text: Mapping[str, Any] | None) -> dict[str, Any]:
    text = text or {}
    fmt = dict(text.get("format") or {"type": "text"})
    if fmt["type"] == "json_schema":
        fmt = {"strict": False, **fmt}
        fmt["strict"] = bool(fmt["strict"])
    return {"format": fmt, "verbosity": text.get("verbosity") or "medium"}


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _reasoning(reasoning: Mapping[str, Any]) -> dict[str, Any]:
    """effort and summary always (null when unset); the newer keys only when sent, as the
    scripted model has no effective value of its own to report for them."""
    echoed = {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")}
    for key in ("generate_summary", "context", "mode"):
        if reasoning.get(key) is not None:
            echoed[key] = reasoning[key]
    return echoed


def _cache_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options applied, as a response's field: the request's, with the documented
    defaults filled in; no field when the request set none."""
    if options is None:
        return {}
    applied = {"mode": options.get("mode", "implicit"), "ttl": options.get("ttl", "30m")}
    if options.get("comparison_response_id") is not None:
        applied["comparison_response_id"] = options["comparison_response_id"]
    return {"prompt_cache_options": applied}


def response_object(
    body: Mapping[str, Any], created_at: int, conversation_id: str | None
) -> dict[str, Any]:
    """A new response, in progress, with the request's settings echoed as the real one does."""

    def pick(key: str, default: Any) -> Any:
        value = body.get(key)
        return default if value is None else value

    reasoning = body.get("reasoning") or {}
    return {
        "id": new_id("resp"),
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "background": bool(body.get("background")),
        "completed_at": None,
        "conversation": {"id": conversation_id} if conversation_id else None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": body["model"],
        "output": [],
        "parallel_tool_calls": pick("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "prompt_cache_retention": body.get("prompt_cache_retention"),
        "reasoning": _reasoning(reasoning),
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "temperature": pick("temperature", 1.0),
        "text": _text_config(body.get("text")),
        "tool_choice": pick("tool_choice", "auto"),
        "tools": [_tool(t) for t in body.get("tools") or []],
        "top_logprobs": pick("top_logprobs", 0),
        "top_p": pick("top_p", 1.0),
        "truncation": pick("truncation", "disabled"),
        "metadata": pick("metadata", {}),
        # openapi.yaml types these two as non-null: shown only when the request set them
        **({"user": body["user"]} if body.get("user") is not None else {}),
        **_cache_options(body.get("prompt_cache_options")),
    }


# --- answering -----------------------------------------------------------------------------


@dataclass
class Answer:
    """A finished response, its stored input items, and the events that told it."""

    response: dict[str, Any]
    inputs: list[dict[str, Any]]
    events: list[Event] = field(default_factory=list)


class _Responder:
    """Runs the scripted model for one request and fills in the response's output."""

    def __init__(
        self,
        sandbox: Sandbox,
        response: dict[str, Any],
        context: list[dict[str, Any]],
        inputs: list[dict[str, Any]],
        body: Mapping[str, Any],
    ) -> None:
        self.sandbox = sandbox
        self.requested_tools: Sequence[Mapping[str, Any]] = body.get("tools") or []
        self.include: Sequence[str] = body.get("include") or []
        self.response = response
        self.context = context
        self.inputs = inputs
        self.prompt = tokens(response["instructions"] or "") + sum(
            tokens(item_text(i)) for i in context
        )
        self.completion = 0
        self.state: dict[str, Any] = {"id": response["id"], "turn": None}

    def answer(self) -> None:
        self._render(self._decide())
        self.response["usage"] = _usage(self.prompt, self.completion)

    def _decide(self) -> list[turns.Step]:
        limit = self.response["max_output_tokens"]
        resumed = self._resumed_turn()
        if resumed is not None:
            return turns.follow_up(resumed, max_tokens=limit)
        if self.response["text"]["format"].get("name") == grading.FORMAT_NAME:
            return self._grade()
        user = next(
            (
                item_text(i)
                for i in reversed(self.context)
                if i["type"] == "message" and i["role"] == "user"
            ),
            "",
        )
        metadata = self.response["metadata"] or {}
        name = metadata.get(ASSISTANT_NAME_KEY) or metadata.get(SPEC_NAME_KEY)
        who = {"id": metadata.get(ASSISTANT_ID_KEY), "name": name}
        try:
            turn = self.sandbox.model.turn(user, who)
        except RuleTemplateError as exc:  # a rule's regex ran out of time
            return [turns.Broken(str(exc))]
        self.state["turn"] = {"rule": turn.rule and turn.rule.to_dict(), "values": turn.values}
        offer = turns.Offer(
            functions={t["name"] for t in self.response["tools"] if t["type"] == "function"},
            tool_types={t["type"] for t in self.response["tools"]},
            search=self._find,
            code_logs=INCLUDE_OUTPUTS in self.include,
        )
        return turns.decide(turn, offer, max_tokens=limit)

    def _grade(self) -> list[turns.Step]:
        """A grading request (asst_deploy/grading.py): the verdict of the grader rules on
        the rubric and reply of its last user message, as the structured output."""
        message = next((item_text(i) for i in reversed(self.inputs) if i.get("role") == "user"), "")
        found = grading.sections(message)
        try:
            verdict = self.sandbox.model.grade(found.get("rubric", ""), found.get("reply", ""))
        except RuleTemplateError as exc:
            return [turns.Broken(str(exc))]
        return [Reply(json.dumps(verdict), [])]

    def _render(self, steps: list[turns.Step]) -> None:
        """The model's steps as output items; the last one ends the response."""
        for step in steps:
            match step:
                case turns.FunctionCalls():
                    self._call_functions(step)
                case turns.CodeStep():
                    self._interpret(step)
                case turns.FileSearch():
                    self._search(step)
                case Reply():
                    self._reply(step)
                case turns.Ended():
                    self._fail(
                        step.error or f"[sandbox] the rule ends this response {step.status}."
                    )
                case turns.Lacks():
                    self._fail(
                        f"[sandbox] the matched rule uses {step.tool}, which this request lacks."
                    )
                case turns.Broken():
                    self.completion += step.spent
                    self.response["output"] = []  # nothing half-said survives a broken rule
                    self._fail(f"[sandbox] rule template error: {step.error}")

    def _resumed_turn(self) -> Turn | None:
        """The rule that made the calls the input answers, with their outputs as values."""
        if not self.inputs or self.inputs[-1]["type"] != "function_call_output":
            return None
        store = self.sandbox.store
        link = store.get(CALL, self.inputs[-1]["call_id"])
        state = link and store.get(STATE, link["response_id"])
        if not state or not state["turn"] or not state["turn"]["rule"]:
            return None
        outputs = {i["call_id"]: i for i in self.context if i["type"] == "function_call_output"}
        answered = [
            turns.Answered(
                c["call_id"], c["name"], c["arguments"], item_text(outputs[c["call_id"]])
            )
            for c in self.context
            if c["type"] == "function_call" and c["call_id"] in outputs
        ]
        values = turns.with_outputs(state["turn"]["values"], answered)
        self.state["turn"] = {"rule": state["turn"]["rule"], "values": values}
        return Turn(Rule.from_dict(state["turn"]["rule"]), values)

    def _fail(self, message: str) -> None:
        self.response.update(status="failed", error={"code": "server_error", "message": message})

    def _finish(self) -> None:
        self.response.update(status="completed", completed_at=self.response["created_at"])

    def _add(self, item: dict[str, Any]) -> dict[str, Any]:
        self.response["output"].append(item)
        return item

    def _call_functions(self, step: turns.FunctionCalls) -> None:
        for call in step.calls:
            self.completion += tokens(call.arguments)
            self._add(
                {
                    "id": new_id("fc"),
                    "type": "function_call",
                    "status": "completed",
                    "arguments": call.arguments,
                    "call_id": new_id("call"),
                    "name": call.name,
                }
            )
        self._finish()

    def _interpret(self, code: turns.CodeStep) -> None:
        self.completion += tokens(code.code)
        outputs = None
        if INCLUDE_OUTPUTS in self.include:
            outputs = [] if code.logs is None else [{"type": "logs", "logs": code.logs}]
        tool = next(t for t in self.response["tools"] if t["type"] == "code_interpreter")
        container = tool["container"]
        self._add(
            {
                "id": new_id("ci"),
                "type": "code_interpreter_call",
                "status": "completed",
                "code": code.code,
                "container_id": container if isinstance(container, str) else _container_id(),
                "outputs": outputs,
            }
        )

    def _find(self, query: str) -> list[dict[str, Any]]:
        """File search over the vector stores the request's file_search tools name."""
        tools = [t for t in self.response["tools"] if t["type"] == "file_search"]
        store_ids = [i for t in tools for i in t["vector_store_ids"]]
        tool = tools[0]
        requested = next(t for t in self.requested_tools if t["type"] == "file_search")
        return vectorstores.search(
            self.sandbox.store,
            store_ids,
            [query],
            now=self.sandbox.clock(),
            max_num_results=requested.get("max_num_results") or DEFAULT_MAX_RESULTS,
            filters=tool["filters"],
            score_threshold=tool["ranking_options"].get("score_threshold", 0.0),
        )

    def _search(self, search: turns.FileSearch) -> None:
        self.completion += tokens(search.query)
        found = None
        if INCLUDE_RESULTS in self.include:
            found = [
                {
                    "attributes": dict(hit.attributes),
                    "file_id": hit.file_id,
                    "filename": hit.filename,
                    "score": hit.score,
                    "text": hit.passage,
                }
                for hit in search.hits
            ]
        self._add(
            {
                "id": new_id("fs"),
                "type": "file_search_call",
                "status": "completed",
                "queries": [search.query],
                "results": found,
            }
        )

    def _reply(self, reply: Reply) -> None:
        # The Assistants API marks citations in the text; the Responses API puts each
        # annotation at an index in the plain text instead.
        text = reply.body
        annotations = [
            {
                "type": "file_citation",
                "file_id": hit.file_id,
                "filename": hit.filename,
                "index": len(text),
            }
            for hit in reply.cited
        ]
        self.completion += tokens(text)
        self._add(
            {
                "id": new_id("msg"),
                "type": "message",
                "status": reply.status,
                "content": [
                    {
                        "type": "output_text",
                        "annotations": annotations,
                        "logprobs": [],
                        "text": text,
                    }
                ],
                "role": "assistant",
            }
        )
        if reply.status == "incomplete":
            self.response.update(
                status="incomplete", incomplete_details={"reason": "max_output_tokens"}
            )
        else:
            self._finish()


def _container_id() -> str:
    return "cntr_" + secrets.token_hex(24)


def check_resources(sandbox: Sandbox, tools: Sequence[Mapping[str, Any]]) -> None:
    """The vector stores and files the tools name exist (the real 404 otherwise)."""
    for tool in tools:
        if tool["type"] == "file_search":
            for vector_store_id in tool["vector_store_ids"]:
                vectorstores.get_store(sandbox.store, vector_store_id)
        elif tool["type"] == "code_interpreter" and isinstance(tool["container"], Mapping):
            for file_id in tool["container"].get("file_ids") or []:
                get_file(sandbox.store, file_id)


def _previous_items(sandbox: Sandbox, previous_id: str) -> list[dict[str, Any]]:
    previous = sandbox.store.get(RESPONSE, previous_id)
    if previous is None:
        raise APIError(
            400,
            f"Previous response with id '{previous_id}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    return chain_items(sandbox, previous)


def _input_items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("input")
    if raw is None:
        raw = []
    if isinstance(raw, str):
        raw = [{"type": "message", "role": "user", "content": raw}]
    return [stored_item(i) for i in raw]


def create(sandbox: Sandbox, body: Mapping[str, Any]) -> Answer:
    """Answer a validated CreateResponse body; store it (and feed its conversation)."""
    store = sandbox.store
    previous_id = body.get("previous_response_id")
    conversation = body.get("conversation")
    if previous_id and conversation:
        raise APIError(
            400,
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            code="mutually_exclusive_parameters",
        )
    history: list[dict[str, Any]] = []
    conversation_id = None
    if previous_id:
        history = _previous_items(sandbox, previous_id)
    elif conversation:
        conversation_id = conversation if isinstance(conversation, str) else conversation["id"]
        get_conversation(sandbox, conversation_id, param="conversation")
        history = store.list(CONVERSATION_ITEM, parent=conversation_id)
    check_resources(sandbox, body.get("tools") or [])
    inputs = _input_items(body)
    # compaction items stand for the items they compacted, wherever they are
    history = expand(history)
    context = [*history, *expand(inputs)]
    check_calls(context, len(history))
    response = response_object(body, int(sandbox.clock()), conversation_id)
    responder = _Responder(sandbox, response, context, inputs, body)
    responder.answer()
    # The snapshot of response.created / response.in_progress: no usage before it is
    # known (the SDK's Response and openapi.yaml both let it be absent, never null).
    started = {**copy.deepcopy(response), "status": "in_progress", "output": []}
    started.update(completed_at=None, error=None, incomplete_details=None)
    del started["usage"]
    events = list(stream_events(started, response)) if body.get("stream") else []
    stored = body.get("store") is not False
    with store.transaction():
        if stored:
            store.insert(RESPONSE, response)
            for item in inputs:
                store.insert(INPUT_ITEM, item, parent=response["id"])
        if conversation_id:
            for item in [*inputs, *response["output"]]:
                store.insert(CONVERSATION_ITEM, item, parent=conversation_id)
        if stored or conversation_id:
            # what a later request needs to resume the rule once the calls are answered
            store.insert(STATE, {"id": response["id"], "turn": responder.state["turn"]})
            for item in response["output"]:
                if item["type"] == "function_call":
                    store.insert(CALL, {"id": item["call_id"], "response_id": response["id"]})
    return Answer(response, inputs, events)


def compact(sandbox: Sandbox, body: Mapping[str, Any]) -> dict[str, Any]:
    """Answer a validated compact body: the context (previous responses, then the input)
    as one compaction item that a later request's input can carry instead. Nothing is
    stored. The SDK types `output` as ResponseOutputItem, whose messages are assistant
    messages only, so the user messages that the real service's documentation lists
    before the compaction item stay inside it."""
    previous_id = body.get("previous_response_id")
    history = _previous_items(sandbox, previous_id) if previous_id else []
    context = expand([*history, *_input_items(body)])
    carried = sum(tokens(item_text(i)) for i in context)
    prompt = tokens(body.get("instructions") or "") + carried
    return {
        "id": new_id("resp"),
        "object": "response.compaction",
        "created_at": int(sandbox.clock()),
        "output": [{"id": new_id("cmp"), "type": "compaction", "encrypted_content": seal(context)}],
        "usage": _usage(prompt, carried),
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
    }


def delete(sandbox: Sandbox, response_id: str) -> None:
    store = sandbox.store
    response = get_response(sandbox, response_id)
    with store.transaction():
        store.delete(RESPONSE, response_id)
        store.delete_children(response_id)
        store.delete(STATE, response_id)
        for item in response["output"]:
            if item["type"] == "function_call":
                store.delete(CALL, item["call_id"])


# --- streaming -------------------------------------------------------------------------------


def stream_events(started: dict[str, Any], final: dict[str, Any]) -> Iterator[Event]:
    """The official event sequence for a finished response, numbered from 0."""
    events = _events(started, final)
    for number, event in enumerate(events):
        event["sequence_number"] = number
        yield event


def _events(started: dict[str, Any], final: dict[str, Any]) -> list[Event]:
    events: list[Event] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, item in enumerate(final["output"]):
        events.extend(_item_events(index, item))
    ending = {"completed": "completed", "incomplete": "incomplete", "failed": "failed"}
    events.append({"type": f"response.{ending[final['status']]}", "response": final})
    return events


def _item_events(index: int, item: dict[str, Any]) -> list[Event]:
    kind, item_id = item["type"], item["id"]
    at = {"output_index": index, "item_id": item_id}
    events: list[Event] = []
    if kind == "message":
        added = {**item, "status": "in_progress", "content": []}
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        for content_index, part in enumerate(item["content"]):
            where = {**at, "content_index": content_index}
            empty = {**part, "text": "", "annotations": []}
            events.append({"type": "response.content_part.added", **where, "part": empty})
            for piece in chunks(part["text"]):
                events.append(
                    {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
                )
            for number, annotation in enumerate(part["annotations"]):
                events.append(
                    {
                        "type": "response.output_text.annotation.added",
                        **where,
                        "annotation_index": number,
                        "annotation": annotation,
                    }
                )
            events.append(
                {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []}
            )
            events.append({"type": "response.content_part.done", **where, "part": part})
    elif kind == "function_call":
        added = {**item, "status": "in_progress", "arguments": ""}
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        for piece in chunks(item["arguments"]):
            events.append({"type": "response.function_call_arguments.delta", **at, "delta": piece})
        events.append(
            # no `name`: the SDK's ResponseFunctionCallArgumentsDoneEvent declares none
            # (openapi.yaml requires one; no recording shows the real event)
            {"type": "response.function_call_arguments.done", **at, "arguments": item["arguments"]}
        )
    elif kind == "file_search_call":
        added = {**item, "status": "in_progress", "results": None}
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        for step in ("in_progress", "searching", "completed"):
            events.append({"type": f"response.file_search_call.{step}", **at})
    elif kind == "code_interpreter_call":
        added = {**item, "status": "in_progress", "code": "", "outputs": None}
        events.append({"type": "response.output_item.added", "output_index": index, "item": added})
        events.append({"type": "response.code_interpreter_call.in_progress", **at})
        for piece in chunks(item["code"] or ""):
            events.append(
                {"type": "response.code_interpreter_call_code.delta", **at, "delta": piece}
            )
        events.append(
            {"type": "response.code_interpreter_call_code.done", **at, "code": item["code"] or ""}
        )
        events.append({"type": "response.code_interpreter_call.interpreting", **at})
        events.append({"type": "response.code_interpreter_call.completed", **at})
    events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events
