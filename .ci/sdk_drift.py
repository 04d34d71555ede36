"""SDK drift report: what the installed openai SDK declares that the sandbox never emits or refuses."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import types
import typing
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import typing_extensions

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the sandbox package lives in the checkout
    sys.path.insert(0, str(REPO))

BASELINE = Path(__file__).with_name("sdk_drift_baseline.txt")
KINDS = ("type", "field", "value", "param")
UNREVIEWED = "UNREVIEWED: say why the sandbox does not serve this, or fix the sandbox"

Gap = tuple[str, str]  # (kind, "Type.field[=value]" or "METHOD /route: field")


# --- the type walker ----------------------------------------------------------------------


_REQUIRED = {getattr(module, "Required", None) for module in (typing, typing_extensions)}
_WRAPPERS = {
    getattr(module, name, None)
    for module in (typing, typing_extensions)
    for name in ("Required", "NotRequired", "ReadOnly")
} - {None}


def _strip(tp: Any) -> Any:
    """The annotation without Annotated / Required / NotRequired / ReadOnly wrappers."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated or origin in _WRAPPERS:
            tp = typing.get_args(tp)[0]
        else:
            return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def _json_name(name: str, info: pydantic.fields.FieldInfo) -> str:
    return info.alias or name


def _fields(cls: type[pydantic.BaseModel]) -> dict[str, Any]:
    """JSON name -> annotation of a model's declared fields."""
    return {_json_name(n, i): i.annotation for n, i in cls.model_fields.items()}


def _camel(stem: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in stem.split("_"))


def type_name(cls: type) -> str:
    """A stable, readable name: the SDK package, the module's main type, the class.

    SDK class names repeat across packages (beta.FunctionTool, responses.FunctionTool) and
    helper classes are named within their module (AgentSession's `Agent`), hence all three.
    """
    module = cls.__module__.removeprefix("openai.types.")
    package, _, stem = module.rpartition(".")
    main = _camel(stem)
    name = main if cls.__name__ == main else f"{main}.{cls.__name__}"
    return f"{package}.{name}" if package else name


def _literal_values(tp: Any) -> list[Any]:
    """Every Literal value in an annotation, not looking inside models."""
    tp = _strip(tp)
    if typing.get_origin(tp) is typing.Literal:
        return list(typing.get_args(tp))
    if _is_model(tp) or (_is_union(tp) and str in typing.get_args(tp)):
        return []  # Union[str, Literal[...]] (model names): the values are examples, not an enum
    return [v for arg in typing.get_args(tp) for v in _literal_values(arg)]


def _models(tp: Any) -> Iterator[type[pydantic.BaseModel]]:
    """The model classes an annotation can hold directly (through unions and containers)."""
    tp = _strip(tp)
    if _is_model(tp):
        yield tp
    elif typing.get_origin(tp) is not typing.Literal:
        for arg in typing.get_args(tp):
            yield from _models(arg)


@dataclass
class Coverage:
    """What was emitted, keyed by model class: objects, their fields and Literal values."""

    types: set[type] = field(default_factory=set)
    fields: set[tuple[type, str]] = field(default_factory=set)
    values: set[tuple[type, str, Any]] = field(default_factory=set)
    # emitted objects no member of their declared union matches: conformance, not coverage
    unmatched: list[str] = field(default_factory=list)

    def observe(self, tp: Any, value: Any, where: str = "", owner: Any = None) -> None:
        """Tick off what `value` (decoded JSON) shows of the SDK type `tp`."""
        tp = _strip(tp)
        origin = typing.get_origin(tp)
        if value is None or tp is Any or tp is object:
            return
        if origin is typing.Literal:
            if owner is not None and value in typing.get_args(tp):
                self.values.add((owner[0], owner[1], value))
        elif _is_model(tp) or _is_union(tp):
            self._observe_union(tp, value, where, owner)
        elif origin is not None and isinstance(value, list):
            for item in value:
                self.observe(typing.get_args(tp)[0], item, where, owner)
        elif origin is not None and isinstance(value, dict) and len(typing.get_args(tp)) == 2:
            for item in value.values():
                self.observe(typing.get_args(tp)[1], item, where, owner)

    def _observe_union(self, tp: Any, value: Any, where: str, owner: Any) -> None:
        members = [_strip(m) for m in (typing.get_args(tp) if _is_union(tp) else (tp,))]
        if isinstance(value, dict):
            models = [m for m in members if _is_model(m)]
            if models:
                picked = _pick(models, value)
                if picked is None:
                    # walk it as the nearest member anyway: a renamed enum value must not
                    # hide the rest of the object (the value itself stays a gap)
                    picked = _pick(models, value, strict=False)
                    names = ", ".join(type_name(m) for m in models)
                    self.unmatched.append(f"{where}: {_brief(value)} is none of {names}")
                self._observe_model(picked, value, where)
                return
        for member in members:
            if not _is_model(member):
                self.observe(member, value, where, owner)

    def _observe_model(
        self, cls: type[pydantic.BaseModel], value: dict[str, Any], where: str
    ) -> None:
        self.types.add(cls)
        for key, annotation in _fields(cls).items():
            if key in value:
                self.fields.add((cls, key))
                self.observe(annotation, value[key], f"{where}.{key}", (cls, key))


def _brief(value: dict[str, Any]) -> str:
    return f"an object with type={value['type']!r}" if "type" in value else "an object"


def _pick(
    models: list[type[pydantic.BaseModel]], value: dict[str, Any], strict: bool = True
) -> Any:
    """The union member `value` is: no Literal field contradicts it, most keys in common."""
    best, best_score = None, None
    for cls in models:
        declared = _fields(cls)
        contradicted = strict and any(
            key in value
            and (allowed := _pure_literals(annotation)) is not None
            and value[key] not in allowed
            for key, annotation in declared.items()
        )
        if contradicted:
            continue
        required = {_json_name(n, i) for n, i in cls.model_fields.items() if i.is_required()}
        score = len(value.keys() & declared.keys()) - len(value.keys() - declared.keys())
        score -= 2 * len(required - value.keys())
        if best_score is None or score > best_score:
            best, best_score = cls, score
    return best


def _pure_literals(tp: Any) -> set[Any] | None:
    """The values a Literal (or Optional Literal) annotation allows; None for anything else."""
    tp = _strip(tp)
    if typing.get_origin(tp) is typing.Literal:
        return set(typing.get_args(tp))
    if _is_union(tp):
        arms = [_strip(a) for a in typing.get_args(tp) if a is not type(None)]
        if arms and all(typing.get_origin(a) is typing.Literal for a in arms):
            return {v for a in arms for v in typing.get_args(a)} | {None}
    return None


def response_gaps(roots: Iterable[Any], seen: Coverage) -> set[Gap]:
    """Declared but never emitted, walking out from the roots along what was emitted.

    A type never emitted is one gap (its fields are not listed); a field never emitted
    is one gap (its type is not entered). So a new union member, field or enum value
    in an SDK release shows up as exactly one line.
    """
    gaps: set[Gap] = set()
    visited: set[type] = set()

    def visit(tp: Any) -> None:
        for cls in _models(tp):
            if cls in visited:
                continue
            visited.add(cls)
            name = type_name(cls)
            if cls not in seen.types:
                gaps.add(("type", name))
                continue
            for key, annotation in _fields(cls).items():
                if (cls, key) not in seen.fields:
                    gaps.add(("field", f"{name}.{key}"))
                    continue
                for v in _literal_values(annotation):
                    if (cls, key, v) not in seen.values:
                        gaps.add(("value", f"{name}.{key}={v}"))
                visit(annotation)

    for root in roots:
        visit(root)
    return gaps


# --- what the sandbox serves, route by route ----------------------------------------------


def _sdk_types() -> dict[str, Any]:
    from openai.types import FileDeleted, FileObject, VectorStore, VectorStoreDeleted
    from openai.types.beta import (
        Agent,
        AgentDeleted,
        AgentSession,
        AgentSessionDeleted,
        Assistant,
        AssistantDeleted,
        AssistantStreamEvent,
        Thread,
        ThreadDeleted,
    )
    from openai.types.beta.agent_session_event import AgentSessionEvent
    from openai.types.beta.agent_session_item import AgentSessionItem
    from openai.types.beta.agents.environments import (
        EnvironmentTemplate,
        EnvironmentTemplateDeleted,
    )
    from openai.types.beta.agents.sessions import Turn
    from openai.types.beta.threads import Message, MessageDeleted, Run
    from openai.types.beta.threads.runs import RunStep
    from openai.types.conversations import (
        Conversation,
        ConversationDeletedResource,
        ConversationItem,
    )
    from openai.types.responses import (
        CompactedResponse,
        Response,
        ResponseItem,
        ResponseStreamEvent,
    )
    from openai.types.vector_store_search_response import VectorStoreSearchResponse
    from openai.types.vector_stores import (
        FileContentResponse,
        VectorStoreFile,
        VectorStoreFileBatch,
        VectorStoreFileDeleted,
    )

    return {
        t.__name__ if isinstance(t, type) else name: t
        for name, t in (
            ("Agent", Agent),
            ("AgentDeleted", AgentDeleted),
            ("AgentSession", AgentSession),
            ("AgentSessionDeleted", AgentSessionDeleted),
            ("AgentSessionEvent", AgentSessionEvent),
            ("AgentSessionItem", AgentSessionItem),
            ("EnvironmentTemplate", EnvironmentTemplate),
            ("EnvironmentTemplateDeleted", EnvironmentTemplateDeleted),
            ("Turn", Turn),
            ("Response", Response),
            ("CompactedResponse", CompactedResponse),
            ("ResponseItem", ResponseItem),
            ("ResponseStreamEvent", ResponseStreamEvent),
            ("Conversation", Conversation),
            ("ConversationDeletedResource", ConversationDeletedResource),
            ("ConversationItem", ConversationItem),
            ("Assistant", Assistant),
            ("AssistantDeleted", AssistantDeleted),
            ("AssistantStreamEvent", AssistantStreamEvent),
            ("Thread", Thread),
            ("ThreadDeleted", ThreadDeleted),
            ("Message", Message),
            ("MessageDeleted", MessageDeleted),
            ("Run", Run),
            ("RunStep", RunStep),
            ("FileObject", FileObject),
            ("FileDeleted", FileDeleted),
            ("VectorStore", VectorStore),
            ("VectorStoreDeleted", VectorStoreDeleted),
            ("VectorStoreSearchResponse", VectorStoreSearchResponse),
            ("VectorStoreFile", VectorStoreFile),
            ("VectorStoreFileDeleted", VectorStoreFileDeleted),
            ("VectorStoreFileBatch", VectorStoreFileBatch),
            ("FileContentResponse", FileContentResponse),
        )
    }


def route_types() -> list[tuple[str, str, Any, bool]]:
    """(method, route template under /v1, SDK type, is a list page) for every JSON answer.

    A route answering SSE is looked up as ("SSE", template); the type is then the event
    union. File bodies, DELETE /responses/{id} (the SDK discards its body) and 202s are
    not listed: they have no SDK type.
    """
    t = _sdk_types()
    agent, session, template = "/agents/{id}", "/agents/sessions/{id}", "/agents/environments"
    thread, run = "/threads/{id}", "/threads/{id}/runs/{id}"
    store, conv = "/vector_stores/{id}", "/conversations/{id}"
    rows: list[tuple[str, str, str, bool]] = [
        ("POST", "/agents", "Agent", False),
        ("GET", "/agents", "Agent", True),
        ("GET", agent, "Agent", False),
        ("POST", agent, "Agent", False),
        ("DELETE", agent, "AgentDeleted", False),
        ("POST", f"{template}/templates", "EnvironmentTemplate", False),
        ("GET", f"{template}/templates", "EnvironmentTemplate", True),
        ("GET", f"{template}/templates/{{id}}", "EnvironmentTemplate", False),
        ("POST", f"{template}/templates/{{id}}", "EnvironmentTemplate", False),
        ("DELETE", f"{template}/templates/{{id}}", "EnvironmentTemplateDeleted", False),
        ("POST", "/agents/sessions", "AgentSession", False),
        ("GET", "/agents/sessions", "AgentSession", True),
        ("GET", session, "AgentSession", False),
        ("POST", session, "AgentSession", False),
        ("DELETE", session, "AgentSessionDeleted", False),
        ("GET", f"{session}/items", "AgentSessionItem", True),
        ("GET", f"{session}/turns", "Turn", True),
        ("GET", f"{session}/turns/{{id}}", "Turn", False),
        ("GET", f"{session}/turns/{{id}}/items", "AgentSessionItem", True),
        ("SSE", "/agents/sessions", "AgentSessionEvent", False),
        ("SSE", f"{session}/events", "AgentSessionEvent", False),
        ("POST", "/responses", "Response", False),
        ("GET", "/responses/{id}", "Response", False),
        ("POST", "/responses/{id}/cancel", "Response", False),
        ("POST", "/responses/compact", "CompactedResponse", False),
        ("GET", "/responses/{id}/input_items", "ResponseItem", True),
        ("SSE", "/responses", "ResponseStreamEvent", False),
        ("POST", "/conversations", "Conversation", False),
        ("GET", conv, "Conversation", False),
        ("POST", conv, "Conversation", False),
        ("DELETE", conv, "ConversationDeletedResource", False),
        ("GET", f"{conv}/items", "ConversationItem", True),
        ("POST", f"{conv}/items", "ConversationItem", True),
        ("GET", f"{conv}/items/{{id}}", "ConversationItem", False),
        ("DELETE", f"{conv}/items/{{id}}", "Conversation", False),
        ("POST", "/assistants", "Assistant", False),
        ("GET", "/assistants", "Assistant", True),
        ("GET", "/assistants/{id}", "Assistant", False),
        ("POST", "/assistants/{id}", "Assistant", False),
        ("DELETE", "/assistants/{id}", "AssistantDeleted", False),
        ("POST", "/threads", "Thread", False),
        ("GET", thread, "Thread", False),
        ("POST", thread, "Thread", False),
        ("DELETE", thread, "ThreadDeleted", False),
        ("POST", f"{thread}/messages", "Message", False),
        ("GET", f"{thread}/messages", "Message", True),
        ("GET", f"{thread}/messages/{{id}}", "Message", False),
        ("POST", f"{thread}/messages/{{id}}", "Message", False),
        ("DELETE", f"{thread}/messages/{{id}}", "MessageDeleted", False),
        ("POST", "/threads/runs", "Run", False),
        ("POST", f"{thread}/runs", "Run", False),
        ("GET", f"{thread}/runs", "Run", True),
        ("GET", run, "Run", False),
        ("POST", run, "Run", False),
        ("POST", f"{run}/cancel", "Run", False),
        ("POST", f"{run}/submit_tool_outputs", "Run", False),
        ("GET", f"{run}/steps", "RunStep", True),
        ("GET", f"{run}/steps/{{id}}", "RunStep", False),
        ("SSE", "/threads/runs", "AssistantStreamEvent", False),
        ("SSE", f"{thread}/runs", "AssistantStreamEvent", False),
        ("SSE", f"{run}/submit_tool_outputs", "AssistantStreamEvent", False),
        ("POST", "/files", "FileObject", False),
        ("GET", "/files", "FileObject", True),
        ("GET", "/files/{id}", "FileObject", False),
        ("DELETE", "/files/{id}", "FileDeleted", False),
        ("POST", "/vector_stores", "VectorStore", False),
        ("GET", "/vector_stores", "VectorStore", True),
        ("GET", store, "VectorStore", False),
        ("POST", store, "VectorStore", False),
        ("DELETE", store, "VectorStoreDeleted", False),
        ("POST", f"{store}/search", "VectorStoreSearchResponse", True),
        ("POST", f"{store}/files", "VectorStoreFile", False),
        ("GET", f"{store}/files", "VectorStoreFile", True),
        ("GET", f"{store}/files/{{id}}", "VectorStoreFile", False),
        ("POST", f"{store}/files/{{id}}", "VectorStoreFile", False),
        ("DELETE", f"{store}/files/{{id}}", "VectorStoreFileDeleted", False),
        ("GET", f"{store}/files/{{id}}/content", "FileContentResponse", True),
        ("POST", f"{store}/file_batches", "VectorStoreFileBatch", False),
        ("GET", f"{store}/file_batches/{{id}}", "VectorStoreFileBatch", False),
        ("POST", f"{store}/file_batches/{{id}}/cancel", "VectorStoreFileBatch", False),
        ("GET", f"{store}/file_batches/{{id}}/files", "VectorStoreFile", True),
    ]
    return [(m, tpl, t[name], page) for m, tpl, name, page in rows]


def _route_pattern(template: str) -> re.Pattern[str]:
    return re.compile("/v1" + re.sub(r"\{[^/}]+\}", "[^/]+", template))


class Router:
    """Finds the SDK type of a logged answer by method and concrete path."""

    def __init__(self, table: list[tuple[str, str, Any, bool]]) -> None:
        # literal segments win: /agents/sessions is not an agent id
        ordered = sorted(table, key=lambda row: row[1].count("{"))
        self._rows = [(m, _route_pattern(tpl), tpl, tp, page) for m, tpl, tp, page in ordered]
        self.roots = list(dict.fromkeys(tp for *_, tp, _ in table))

    def find(self, method: str, path: str) -> tuple[str, Any, bool] | None:
        for m, pattern, template, tp, page in self._rows:
            if m == method and pattern.fullmatch(path):
                return template, tp, page
        return None


def sse_events(body: bytes) -> Iterator[tuple[str | None, Any]]:
    """(event name, decoded data) of each event of an SSE body; [DONE] and non-JSON skipped."""
    for block in body.decode().split("\n\n"):
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data and data[0] != "[DONE]":
            try:
                yield name, json.loads("\n".join(data))
            except ValueError:
                continue


def observe_log(entries: Iterable[Any], router: Router, seen: Coverage) -> None:
    """Walk every successful answer in the sandbox's request log against its SDK type."""
    for entry in entries:
        if entry.status is None or entry.status >= 300 or not entry.body:
            continue
        streamed = entry.content_type.startswith("text/event-stream")
        found = router.find("SSE" if streamed else entry.method, entry.path)
        if found is None:
            continue
        template, tp, page = found
        where = f"{entry.method} {template}"
        if streamed:
            for name, data in sse_events(entry.body):
                # Assistants events carry the object as data and the type in `event:`;
                # the SDK's union members wrap it as {"event": ..., "data": ...}
                typed = isinstance(data, dict) and data.get("type") == name
                seen.observe(tp, data if typed else {"event": name, "data": data}, where)
            continue
        body = json.loads(entry.body)
        for item in body.get("data", []) if page else [body]:
            seen.observe(tp, as_recorded(item), where)


# What real traffic says where the SDK (and the spec) say otherwise: the sandbox answers
# as the service does, so the walk reads it as the SDK's spelling of the same value.
# (object, real value) -> the SDK's value
RECORDED = {
    # every file batch answer of jirispilka__test_vector_store_get_by_id.yaml
    ("object", "vector_store.file_batch"): "vector_store.files_batch",
}


def as_recorded(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    found = {
        k: RECORDED[k, v] for k, v in item.items() if isinstance(v, str) and (k, v) in RECORDED
    }
    return {**item, **found} if found else item


# --- the corpus: representative interactions through the SDK ------------------------------

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
POLICY = b"Refunds are paid within 30 days of the return. Shipping is free above 50 euros."


def add_rules(model: Any) -> None:
    """Scripted answers that make the sandbox show each kind of output it has."""
    model.step_delay = 0.0
    model.add_rule(
        r"weather in (?P<city>\w+)",
        function_calls=[{"name": "get_weather", "arguments": {"city": "{match[city]}"}}],
        reply="It is {outputs[get_weather]} in {arguments[get_weather][city]}.",
    )
    model.add_rule("(?i)refund", file_search=True)
    model.add_rule(
        "(?i)solve", code_interpreter={"input": "print(2 + 2)", "logs": "4"}, reply="It is 4."
    )
    model.add_rule("(?i)break", status="failed", error="The model broke.")
    model.add_rule("(?i)ramble", reply=" ".join(["word"] * 40))
    model.add_rule("(?i)stall", status="expired", error="The model stalled.")
    model.add_rule("(?i)crash the session", status="session_failed", error="The host broke.")
    model.add_rule("(?i)research", reply="Researched.", cost_cents=8)
    model.add_rule(
        "(?i)priced weather",
        function_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}],
        reply="It is {outputs[get_weather]}.",
        cost_cents=8,
    )
    model.add_rule("", reply="You said: {message}")


def _weather(args: dict[str, Any]) -> str:
    return f"sunny in {args['city']}"


def drive_agents(client: Any) -> None:
    agents = client.beta.agents
    agent = agents.create(
        model="gpt-5", name="Weather agent", instructions="Help.", tools=[WEATHER_TOOL]
    )
    agents.update(agent.id, metadata={"team": "drift"})
    agents.list(limit=5)
    file = client.files.create(file=("data.csv", b"a\nb\n"), purpose="assistants")
    templates = agents.environments.templates
    template = templates.create(
        name="shell", files=[{"type": "file_id", "file_id": file.id, "path": "/w/data.csv"}]
    )
    templates.update(template.id, name="shell2")
    templates.list()
    templates.retrieve(template.id)
    hosted = {"type": "openai_hosted", "environment_template_id": template.id}
    session = agents.sessions.create(agent_id=agent.id, environment=hosted)
    with agents.sessions.stream(session.id, input="solve it") as stream:
        stream.until_done()
    with agents.sessions.stream(
        session.id, input="weather in Oslo", tool_handlers={"get_weather": _weather}
    ) as stream:
        stream.until_done()
    for event in agents.sessions.create(
        agent={"model": "gpt-5"}, environment={"type": "none"}, input="break it", stream=True
    ):
        del event  # the log keeps the stream; reading it through is what matters
    waiting = agents.sessions.create(
        agent_id=agent.id, environment={"type": "none"}, input="weather in Kyiv"
    )
    deadline = time.monotonic() + 5
    while agents.sessions.retrieve(waiting.id).status != "requires_action":
        if time.monotonic() > deadline:
            raise TimeoutError(f"session {waiting.id} never asked for its function call")
        time.sleep(0.01)
    agents.sessions.events.create(waiting.id, events=[{"type": "agent.session.input.cancel"}])
    agents.sessions.update(session.id, metadata={"k": "v"})
    agents.sessions.list(agent_id=agent.id)
    turns = agents.sessions.turns.list(session.id).data
    agents.sessions.turns.retrieve(turns[0].id, session_id=session.id)
    agents.sessions.turns.items.list(turns[0].id, session_id=session.id)
    agents.sessions.items.list(session.id)
    agents.sessions.delete(waiting.id)
    templates.delete(template.id)
    agents.delete(agent.id)


def _message(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "agent.session.input.message", "input": [{"role": "user", "content": content}]}


def _text(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


PIXEL = "data:image/png;base64,iVBORw0KGgo="


def _wait_for(client: Any, session_id: str, status: str) -> None:
    deadline = time.monotonic() + 5
    while client.beta.agents.sessions.retrieve(session_id).status != status:
        if time.monotonic() > deadline:
            raise TimeoutError(f"session {session_id} never became {status}")
        time.sleep(0.01)


def _until(stream: Any, last: str) -> None:
    for event in stream:
        if event.type == last:
            return
    raise RuntimeError(f"the event stream ended before {last}")


def drive_agent_settings(client: Any) -> None:
    """Every setting the sandbox validates and echoes, each value once."""
    agents, sessions = client.beta.agents, client.beta.agents.sessions
    schema = {"type": "object", "properties": {}}
    tools = [
        {**WEATHER_TOOL, "async": True, "defer_loading": True},
        {"type": "programmatic_tool_calling", "enabled": True},
        {"type": "mcp", "server_label": "docs", "transport": {"type": "http", "server_url": "u"}},
        {
            "type": "mcp",
            "server_label": "local",
            "transport": {"type": "stdio", "command": "serve", "cwd": "/w"},
            "connection_origin": "environment",
        },
        {"type": "web_search", "context_size": "low", "mode": "cached"},
        {
            "type": "web_search",
            "context_size": "high",
            "mode": "disabled",
            "location": {"city": "Oslo", "country": "NO", "region": "Oslo", "timezone": "CET"},
        },
        {"type": "web_search"},
        {"type": "computer_use", "include_screenshots": False},
    ]
    agent = agents.create(
        model="gpt-5",
        tools=[*tools, {"type": "tool_search"}],
        text={"format": {"type": "json_schema", "schema": schema}, "verbosity": "high"},
    )
    for effort, summary, tier in (
        ("minimal", "auto", "default"),
        ("low", "detailed", "flex"),
        ("high", "concise", "priority"),
        ("xhigh", None, "fast"),
        ("max", None, "ultrafast"),
    ):
        reasoning = {"effort": effort, "summary": summary}
        agents.update(agent.id, reasoning=reasoning, service_tier=tier)
        inline = {"model": "gpt-5", "reasoning": reasoning, "service_tier": tier, "tools": tools}
        sessions.create(agent=inline, environment={"type": "none"})
    file = client.files.create(file=("data.csv", b"a\nb\n"), purpose="assistants")
    inline_file = {"type": "inline", "data": "x", "path": "/w/x.txt"}
    skills = [
        {"type": "skill_reference", "skill_id": "skill_1", "version": "latest"},
        {"type": "inline", "name": "s", "description": "d", "source": _skill_zip()},
    ]
    templates = agents.environments.templates
    for access, size, ttl in (("disabled", "medium", "12h"), ("restricted", "large", "30m")):
        template = templates.create(
            name=access,
            files=[inline_file, {"type": "file_id", "file_id": file.id, "path": "/w/d.csv"}],
            skills=skills,
            network={"access": access},
        )
        environment = {
            "type": "openai_hosted",
            "environment_template_id": template.id,
            "container_size": size,
            "desktop": {"enabled": True},
            "network": {"access": access},
        }
        session = sessions.create(
            agent_id=agent.id,
            environment=environment,
            review="auto_review",
            prompt_cache_options={"ttl": ttl},
            input="hi",
        )
        sessions.turns.list(session.id)


def _skill_zip() -> dict[str, str]:
    """An inline skill's source as InlineCapabilitySourceParam wants it: a base64 zip."""
    import base64
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("SKILL.md", "---\nname: s\ndescription: d\n---\nDo it.\n")
    data = base64.b64encode(buffer.getvalue()).decode()
    return {"type": "base64", "media_type": "application/zip", "data": data}


def drive_agent_endings(client: Any) -> None:
    """Every way a turn and a session end: budget, failures, cancel, tool errors."""
    agent = client.beta.agents.create(model="gpt-5", tools=[WEATHER_TOOL])
    sessions = client.beta.agents.sessions
    none = {"type": "none"}
    # a turn that spends past the limit completes; the session rests budget_reached
    paused = sessions.create(agent_id=agent.id, environment=none, spend_control={"limit": 5})
    with sessions.stream(paused.id, input="research this") as stream:
        stream.until_done()
    # a second model call past the limit fails the turn with session_budget_exceeded
    priced = sessions.create(agent_id=agent.id, environment=none, spend_control={"limit": 5})
    with sessions.events.stream(priced.id) as stream:
        sessions.events.create(priced.id, events=[_message(_text("priced weather"))])
        _until(stream, "agent.session.requires_action")
        turn = sessions.turns.list(priced.id).data[0]  # waiting, listed as such
        call = sessions.retrieve(priced.id).required_actions[0]
        output = [_text("sunny"), {"type": "input_image", "image_url": PIXEL}]
        result = {
            "type": "agent.session.input.tool_result",
            "call_id": call.call_id,
            "turn_id": turn.id,
            "success": True,
            "output": output,
        }
        sessions.events.create(priced.id, events=[result])
        _until(stream, "agent.session.budget_reached")
    # a tool that failed: its output item says so
    failing = sessions.create(agent_id=agent.id, environment=none)
    with sessions.events.stream(failing.id) as stream:
        sessions.events.create(failing.id, events=[_message(_text("weather in Bergen"))])
        _until(stream, "agent.session.requires_action")
        call = sessions.retrieve(failing.id).required_actions[0]
        result = {
            "type": "agent.session.input.tool_result",
            "call_id": call.call_id,
            "turn_id": sessions.turns.list(failing.id).data[0].id,
            "success": False,
            "error": "no signal",
        }
        sessions.events.create(failing.id, events=[result])
        _until(stream, "agent.session.idle")
    sessions.items.list(failing.id)
    sessions.items.list(priced.id)
    # cancel a waiting turn while subscribed
    waiting = sessions.create(agent_id=agent.id, environment=none)
    with sessions.events.stream(waiting.id) as stream:
        message = _message(_text("weather in Kyiv"), {"type": "input_image", "image_url": PIXEL})
        sessions.events.create(waiting.id, events=[message])
        _until(stream, "agent.session.requires_action")
        sessions.events.create(waiting.id, events=[{"type": "agent.session.input.cancel"}])
        _until(stream, "agent.session.idle")
    # failed turns: each code the scripted model has, then a failed session
    for text, environment in (
        ("stall", none),  # request_timeout
        ("solve it", none),  # sandbox_error: a command without a hosted environment
        ("crash the session", none),  # internal_error, and the session fails
    ):
        with sessions.stream(
            sessions.create(agent_id=agent.id, environment=environment).id, input=text
        ) as stream:
            stream.until_done()
    sessions.items.list(waiting.id)
    sessions.list(agent_id=agent.id)


def drive_responses(client: Any) -> None:
    file = client.files.create(file=("policy.txt", POLICY), purpose="assistants")
    store = client.vector_stores.create(name="policies", file_ids=[file.id])
    first = client.responses.create(
        model="gpt-4o", input="weather in Paris", tools=[WEATHER_TOOL], metadata={"k": "v"}
    )
    call = first.output[0]
    client.responses.create(
        model="gpt-4o",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER_TOOL],
    )
    search = {"type": "file_search", "vector_store_ids": [store.id]}
    interpreter = {"type": "code_interpreter", "container": {"type": "auto"}}
    for text, tools, include in (
        ("are refunds paid?", [search], ["file_search_call.results"]),
        ("solve 2+2", [interpreter], ["code_interpreter_call.outputs"]),
        ("weather in Rome", [WEATHER_TOOL], []),
        ("break it", [], []),
    ):
        with client.responses.stream(
            model="gpt-4o", input=text, tools=tools, include=include
        ) as stream:
            stream.until_done()
    client.responses.create(model="gpt-4o", input="ramble on", max_output_tokens=16)
    text = client.responses.create(
        model="gpt-4o", input="hi", text={"format": {"type": "json_object"}}, reasoning={}
    )
    client.responses.retrieve(text.id)
    client.responses.input_items.list(text.id)
    client.responses.cancel(client.responses.create(model="gpt-4o", input="hi", background=True).id)
    conversation = client.conversations.create(
        items=[{"role": "user", "content": "hello"}], metadata={"k": "v"}
    )
    client.responses.create(model="gpt-4o", input="hi again", conversation=conversation.id)
    client.conversations.update(conversation.id, metadata={"k": "w"})
    added = client.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user", "content": "more"}]
    )
    client.conversations.items.retrieve(added.data[0].id, conversation_id=conversation.id)
    client.conversations.items.list(conversation.id)
    client.conversations.items.delete(added.data[0].id, conversation_id=conversation.id)
    client.conversations.retrieve(conversation.id)
    client.conversations.delete(conversation.id)
    client.responses.delete(text.id)


def drive_assistants(client: Any) -> None:
    file = client.files.create(file=("policy.txt", POLICY), purpose="assistants")
    client.files.retrieve(file.id)
    client.files.list()
    store = client.vector_stores.create(name="kb", metadata={"k": "v"})
    client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=file.id)
    client.vector_stores.files.update(file.id, vector_store_id=store.id, attributes={"a": "b"})
    client.vector_stores.files.list(vector_store_id=store.id)
    client.vector_stores.files.content(file.id, vector_store_id=store.id)
    client.vector_stores.search(store.id, query="Refunds paid within 30 days")
    other = client.files.create(file=("b.txt", b"more text"), purpose="assistants")
    batch = client.vector_stores.file_batches.create_and_poll(store.id, file_ids=[other.id])
    client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    client.vector_stores.update(store.id, name="kb2", expires_after=None)
    client.vector_stores.list()
    beta, params = client.beta, WEATHER_TOOL["parameters"]
    assistant = beta.assistants.create(
        model="gpt-4o",
        name="Helper",
        tools=[
            {"type": "function", "function": {"name": "get_weather", "parameters": params}},
            {"type": "file_search"},
            {"type": "code_interpreter"},
        ],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        response_format={"type": "json_object"},
    )
    beta.assistants.update(assistant.id, metadata={"k": "v"})
    beta.assistants.list()
    thread = beta.threads.create(messages=[{"role": "user", "content": "are refunds paid?"}])
    beta.threads.update(thread.id, metadata={"k": "v"})
    beta.threads.retrieve(thread.id)
    run = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    steps = beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread.id, run_id=run.id)
    beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"k": "v"})
    for text in ("solve 2+2", "break it"):
        beta.threads.messages.create(thread.id, role="user", content=text)
        with beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
            s.until_done()
    beta.threads.messages.create(thread.id, role="user", content="weather in Lima")
    with beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
        s.until_done()
    waiting = s.current_run
    if waiting is not None and waiting.required_action is not None:
        outputs = [
            {"tool_call_id": c.id, "output": "warm"}
            for c in waiting.required_action.submit_tool_outputs.tool_calls
        ]
        with beta.threads.runs.submit_tool_outputs_stream(
            run_id=waiting.id, thread_id=thread.id, tool_outputs=outputs
        ) as s:
            s.until_done()
    messages = beta.threads.messages.list(thread.id).data
    beta.threads.messages.update(messages[0].id, thread_id=thread.id, metadata={"k": "v"})
    beta.threads.messages.retrieve(messages[0].id, thread_id=thread.id)
    beta.threads.runs.list(thread.id)
    beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "ramble"}]}
    )
    beta.threads.messages.delete(messages[-1].id, thread_id=thread.id)
    beta.threads.delete(thread.id)
    beta.assistants.delete(assistant.id)
    client.vector_stores.files.delete(file.id, vector_store_id=store.id)
    client.vector_stores.delete(store.id)
    client.files.delete(other.id)


def drive_run_endings(client: Any) -> None:
    """Runs that end incomplete, expired, failed or cancelled, streamed."""
    beta, params = client.beta, WEATHER_TOOL["parameters"]
    file = client.files.create(file=("policy.txt", POLICY), purpose="assistants")
    store = client.vector_stores.create(name="kb", file_ids=[file.id])
    schema = {"name": "out", "schema": {"type": "object", "properties": {}}}
    assistant = beta.assistants.create(
        model="gpt-4o",
        tools=[
            {"type": "function", "function": {"name": "get_weather", "parameters": params}},
            {"type": "file_search"},
        ],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        response_format={"type": "json_schema", "json_schema": schema},
    )
    thread = beta.threads.create()
    runs = beta.threads.runs
    for text, options in (
        ("ramble on", {"max_completion_tokens": 5}),
        ("stall", {}),
        ("weather in Lima", {"tool_choice": "required"}),
        (
            "are refunds paid?",
            {
                "include": ["step_details.tool_calls[*].file_search.results[*].content"],
                "truncation_strategy": {"type": "last_messages", "last_messages": 5},
            },
        ),
    ):
        beta.threads.messages.create(
            thread.id,
            role="user",
            content=text,
            attachments=[{"file_id": file.id, "tools": [{"type": "file_search"}]}],
        )
        with runs.stream(thread_id=thread.id, assistant_id=assistant.id, **options) as s:
            s.until_done()
        run = s.current_run
        if run is not None and run.status == "requires_action":
            runs.cancel(run.id, thread_id=thread.id)
        if run is not None:
            runs.retrieve(run.id, thread_id=thread.id)
            steps = runs.steps.list(
                run.id,
                thread_id=thread.id,
                include=["step_details.tool_calls[*].file_search.results[*].content"],
            )
            del steps
    beta.threads.messages.list(thread.id)


def drive_compact(client: Any) -> None:
    compacted = client.responses.compact(model="gpt-4o", input="hello")
    # the compaction item carried into a later request, and listed as its input
    later = client.responses.create(
        model="gpt-4o",
        input=[
            *[i.model_dump(exclude_none=True) for i in compacted.output],
            {"role": "user", "content": "on"},
        ],
    )
    client.responses.input_items.list(later.id)


def drive_response_settings(client: Any) -> None:
    """The request settings the sandbox validates and echoes, each value once."""
    client.files.create(file=("a.jsonl", b"{}"), purpose="batch")
    client.files.create(file=("b.jsonl", b"{}"), purpose="fine-tune")
    client.files.create(file=("c.png", b"png"), purpose="vision")
    client.files.create(file=("d.txt", b"text"), purpose="user_data")
    client.files.create(
        file=("e.txt", b"text"),
        purpose="assistants",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    client.vector_stores.create(name="described", description="for the drift report")
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    store = client.vector_stores.create(name="ranked")
    search = {
        "type": "file_search",
        "vector_store_ids": [store.id],
        "ranking_options": {"ranker": "default-2024-11-15"},
        "filters": {
            "type": "and",
            "filters": [{"type": "eq", "key": "a", "value": "b"}],
        },
    }
    interpreter = {"type": "code_interpreter", "container": {"type": "auto", "memory_limit": "4g"}}
    efforts = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
    summaries = ("auto", "concise", "detailed", None, None, None, None)
    for effort, summary in zip(efforts, summaries, strict=True):
        client.responses.create(
            model="gpt-4o",
            input=[
                {"role": "developer", "content": "be brief"},
                {"role": "system", "content": "ok"},
            ],
            reasoning={
                "effort": effort,
                "summary": summary,
                "generate_summary": summary,
                "context": "all_turns",
                "mode": "pro",
            },
            text={"verbosity": "high"},
            user="user-1",
            prompt_cache_retention="24h",
            prompt_cache_options={"mode": "explicit", "ttl": "12h"},
        )
    ops = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
    limits = ("1g", "4g", "16g", "64g", "1g", "4g", "16g", "64g")
    contexts = ("auto", "current_turn", "all_turns", "auto", "auto", "auto", "auto", "auto")
    for op, limit, context in zip(ops, limits, contexts, strict=True):
        value = ["b"] if op in ("in", "nin") else "b"
        compared = {"type": op, "key": "a", "value": value}
        tools = [
            {**search, "filters": {"type": "or", "filters": [compared]}},
            {"type": "code_interpreter", "container": {"type": "auto", "memory_limit": limit}},
        ]
        client.responses.create(
            model="gpt-4o", input="hello", tools=tools, reasoning={"context": context}
        )
    weather = {**WEATHER_TOOL, "output_schema": schema}
    for choice in (
        "required",
        {"type": "function", "name": "get_weather"},
        {"type": "file_search"},
        {"type": "code_interpreter"},
    ):
        client.responses.create(
            model="gpt-4o",
            input="hello",
            tools=[weather, search, interpreter],
            tool_choice=choice,
            text={
                "format": {
                    "type": "json_schema",
                    "name": "out",
                    "schema": schema,
                    "description": "d",
                }
            },
        )


CORPUS: dict[str, Callable[[Any], None]] = {
    "agents": drive_agents,
    "agent_settings": drive_agent_settings,
    "agent_endings": drive_agent_endings,
    "responses": drive_responses,
    "compact": drive_compact,
    "response_settings": drive_response_settings,
    "assistants": drive_assistants,
    "run_endings": drive_run_endings,
}


# --- request fields: which params the sandbox refuses -------------------------------------


@dataclass(frozen=True)
class Probe:
    """One endpoint: its params TypedDict, its route, and a minimal valid body."""

    params: Any
    method: str
    route: str  # under /v1, "{id}" where an id goes
    base: Mapping[str, Any]
    ids: tuple[str, ...] = ()
    query_fields: tuple[str, ...] = ()  # params the SDK sends in the query string

    @property
    def path(self) -> str:
        path = self.route
        for value in self.ids:
            path = path.replace("{id}", value, 1)
        return path


def _hints(td: Any) -> dict[str, tuple[Any, bool]]:
    """JSON name -> (annotation, required) of a TypedDict's fields (aliases applied)."""
    out = {}
    required_keys = getattr(td, "__required_keys__", frozenset())
    for name, hint in typing_extensions.get_type_hints(td, include_extras=True).items():
        # with postponed annotations, __required_keys__ can miss a Required[...]
        required = name in required_keys or typing.get_origin(_unannotate(hint)) in _REQUIRED
        aliases = [getattr(m, "alias", None) for m in getattr(hint, "__metadata__", ())]
        out[next((a for a in aliases if a), name)] = (hint, required)
    return out


def _unannotate(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _query(key: str, value: Any) -> dict[str, str]:
    """A value in the query string the way the SDK writes it (metadata[k]=v, a,b, true)."""
    if isinstance(value, dict):
        return {f"{key}[{k}]": str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {key: ",".join(map(str, value))}
    return {key: json.dumps(value).strip('"')}


def sample(tp: Any, depth: int = 0) -> Any:
    """A plausible value of a params annotation: enough that a known field gets past the
    unknown-parameter check (a value the sandbox then refuses still proves it knows it)."""
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return typing.get_args(tp)[0]
    if _is_union(tp):
        arms = [a for a in typing.get_args(tp) if a is not type(None)]
        simple = [a for a in arms if _strip(a) in (str, int, float, bool)]
        return sample((simple or arms)[0], depth)
    if typing_extensions.is_typeddict(tp):
        hints = _hints(tp).items()
        return {k: sample(h, depth + 1) for k, (h, req) in hints if req} if depth < 6 else {}
    if tp is str:
        return "x"
    if tp is bool:
        return True
    if tp in (int, float):
        return 1
    if origin in (dict, Mapping) or tp is dict:
        return {"k": "v"}
    if origin is not None and typing.get_args(tp):  # Iterable, List, SequenceNotStr, ...
        return [sample(typing.get_args(tp)[0], depth + 1)]
    return {}


def _typeddict(tp: Any) -> Any:
    """The TypedDict an annotation holds directly (through Optional), else None."""
    tp = _strip(tp)
    if _is_union(tp):
        found = [
            _strip(a) for a in typing.get_args(tp) if typing_extensions.is_typeddict(_strip(a))
        ]
        return found[0] if len(found) == 1 else None
    return tp if typing_extensions.is_typeddict(tp) else None


def probe_bodies(probe: Probe) -> Iterator[tuple[str, dict[str, Any], dict[str, str]]]:
    """(param path, body, query) for each top-level field and each field of a TypedDict
    field, the probed key placed first so that the sandbox meets it first."""
    for key, (hint, required) in _hints(probe.params).items():
        in_path = required and key.endswith("_id") and "{id}" in probe.route
        if "-" in key or (in_path and key not in probe.base):
            continue  # a header (Idempotency-Key), or a parent's id the SDK puts in the path
        if key in probe.query_fields or probe.method == "GET":
            yield key, dict(probe.base), _query(key, sample(hint))
            continue
        if key not in probe.base:
            yield key, {key: sample(hint), **probe.base}, {}
        nested = _typeddict(hint)
        if nested is not None:
            required = sample(nested)
            for sub, (sub_hint, _) in _hints(nested).items():
                if sub in required:
                    continue
                value = {sub: sample(sub_hint), **required}
                yield f"{key}.{sub}", {**probe.base, key: value}, {}


def _request(
    base_url: str, method: str, path: str, body: dict[str, Any] | None, query: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    url = base_url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
    headers = {
        "Authorization": "Bearer sk-drift",
        "Content-Type": "application/json",
        "OpenAI-Beta": "agents=v1" if path.startswith("/agents") else "assistants=v2",
    }
    data = json.dumps(body).encode() if body is not None and method != "GET" else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
            status = answer.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        decoded = json.loads(raw) if raw else {}
    except ValueError:
        decoded = {}  # a stream: accepted
    return status, decoded if isinstance(decoded, dict) else {}


def refused_params(base_url: str, probes: Iterable[Probe]) -> set[Gap]:
    """Param fields the sandbox answers with 400 unknown_parameter for."""
    gaps: set[Gap] = set()
    for probe in probes:
        for param, body, query in probe_bodies(probe):
            status, answer = _request(base_url, probe.method, probe.path, body, query)
            error = answer.get("error") or {}
            # a refused parent (prompt) is one gap, not one per field (prompt.version)
            if status == 400 and (error.get("code"), error.get("param")) == (
                "unknown_parameter",
                param,
            ):
                gaps.add(("param", f"{probe.method} {probe.route}: {param}"))
    return gaps


def probes(client: Any) -> list[Probe]:
    """The create/update/list endpoints, on fresh objects made through the SDK."""
    from openai.types import vector_store_create_params, vector_store_update_params
    from openai.types.beta import (
        agent_create_params,
        agent_list_params,
        agent_update_params,
        assistant_create_params,
        assistant_update_params,
        thread_create_and_run_params,
        thread_create_params,
        thread_update_params,
    )
    from openai.types.beta.agents import (
        session_create_params,
        session_list_params,
        session_update_params,
    )
    from openai.types.beta.agents.environments import (
        template_create_params,
        template_update_params,
    )
    from openai.types.beta.agents.sessions import (
        event_create_params,
        item_list_params,
        turn_list_params,
    )
    from openai.types.beta.threads import (
        message_create_params,
        message_update_params,
        run_create_params,
        run_update_params,
    )
    from openai.types.conversations import (
        conversation_create_params,
        conversation_update_params,
        item_create_params,
    )
    from openai.types.responses import response_compact_params, response_create_params
    from openai.types.vector_stores import (
        file_batch_create_params,
        file_create_params,
        file_update_params,
    )

    agent = client.beta.agents.create(model="gpt-5", name="Probe agent")
    template = client.beta.agents.environments.templates.create(name="probe")
    none = {"type": "none"}
    session = client.beta.agents.sessions.create(agent_id=agent.id, environment=none)
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(thread.id, role="user", content="hi")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    conversation = client.conversations.create()
    file = client.files.create(file=("a.txt", b"some text"), purpose="assistants")
    store = client.vector_stores.create(name="probe", file_ids=[file.id])
    user = [{"type": "input_text", "text": "hi"}]
    event = {"type": "agent.session.input.message", "input": [{"role": "user", "content": user}]}
    sess, thr, vs, conv = (
        "/agents/sessions/{id}",
        "/threads/{id}",
        "/vector_stores/{id}",
        "/conversations/{id}",
    )
    item = {"type": "message", "role": "user", "content": "hi"}
    p = Probe
    return [
        p(agent_create_params.AgentCreateParams, "POST", "/agents", {"model": "gpt-5"}),
        p(agent_update_params.AgentUpdateParams, "POST", "/agents/{id}", {}, (agent.id,)),
        p(agent_list_params.AgentListParams, "GET", "/agents", {}),
        p(
            template_create_params.TemplateCreateParams,
            "POST",
            "/agents/environments/templates",
            {"name": "t"},
        ),
        p(
            template_update_params.TemplateUpdateParams,
            "POST",
            "/agents/environments/templates/{id}",
            {},
            (template.id,),
        ),
        p(
            session_create_params.SessionCreateParamsNonStreaming,
            "POST",
            "/agents/sessions",
            {"agent_id": agent.id, "environment": none},
        ),
        p(session_update_params.SessionUpdateParams, "POST", sess, {}, (session.id,)),
        p(session_list_params.SessionListParams, "GET", "/agents/sessions", {}),
        p(
            event_create_params.EventCreateParams,
            "POST",
            f"{sess}/events",
            {"events": [event]},
            (session.id,),
        ),
        p(item_list_params.ItemListParams, "GET", f"{sess}/items", {}, (session.id,)),
        p(turn_list_params.TurnListParams, "GET", f"{sess}/turns", {}, (session.id,)),
        p(
            response_create_params.ResponseCreateParamsNonStreaming,
            "POST",
            "/responses",
            {"model": "gpt-4o", "input": "hi"},
        ),
        p(
            response_compact_params.ResponseCompactParams,
            "POST",
            "/responses/compact",
            {"model": "gpt-4o", "input": "hi"},
        ),
        p(conversation_create_params.ConversationCreateParams, "POST", "/conversations", {}),
        p(
            conversation_update_params.ConversationUpdateParams,
            "POST",
            conv,
            {"metadata": {"k": "v"}},
            (conversation.id,),
        ),
        p(
            item_create_params.ItemCreateParams,
            "POST",
            f"{conv}/items",
            {"items": [item]},
            (conversation.id,),
            query_fields=("include",),
        ),
        p(
            assistant_create_params.AssistantCreateParams,
            "POST",
            "/assistants",
            {"model": "gpt-4o"},
        ),
        p(
            assistant_update_params.AssistantUpdateParams,
            "POST",
            "/assistants/{id}",
            {},
            (assistant.id,),
        ),
        p(thread_create_params.ThreadCreateParams, "POST", "/threads", {}),
        p(thread_update_params.ThreadUpdateParams, "POST", thr, {}, (thread.id,)),
        p(
            message_create_params.MessageCreateParams,
            "POST",
            f"{thr}/messages",
            {"role": "user", "content": "hi"},
            (thread.id,),
        ),
        p(
            message_update_params.MessageUpdateParams,
            "POST",
            f"{thr}/messages/{{id}}",
            {},
            (thread.id, message.id),
        ),
        p(
            run_create_params.RunCreateParamsNonStreaming,
            "POST",
            f"{thr}/runs",
            {"assistant_id": assistant.id},
            (thread.id,),
            query_fields=("include",),
        ),
        p(run_update_params.RunUpdateParams, "POST", f"{thr}/runs/{{id}}", {}, (thread.id, run.id)),
        p(
            thread_create_and_run_params.ThreadCreateAndRunParamsNonStreaming,
            "POST",
            "/threads/runs",
            {"assistant_id": assistant.id},
        ),
        p(vector_store_create_params.VectorStoreCreateParams, "POST", "/vector_stores", {}),
        p(vector_store_update_params.VectorStoreUpdateParams, "POST", vs, {}, (store.id,)),
        p(
            file_create_params.FileCreateParams,
            "POST",
            f"{vs}/files",
            {"file_id": file.id},
            (store.id,),
        ),
        p(
            file_update_params.FileUpdateParams,
            "POST",
            f"{vs}/files/{{id}}",
            {"attributes": {"a": "b"}},
            (store.id, file.id),
        ),
        p(
            file_batch_create_params.FileBatchCreateParams,
            "POST",
            f"{vs}/file_batches",
            {"file_ids": [file.id]},
            (store.id,),
        ),
    ]


# --- running it all -----------------------------------------------------------------------


@dataclass
class Report:
    gaps: set[Gap]
    unmatched: list[str]
    failures: list[str]  # corpus steps that raised: their answers are missing from the walk


def collect(families: Iterable[str] = tuple(CORPUS), *, probe: bool = True) -> Report:
    """Start an in-process sandbox, drive the corpus and the probes, and list every gap."""
    import openai

    from asst_deploy.sandbox.app import Sandbox
    from asst_deploy.sandbox.faults import RequestLog
    from asst_deploy.sandbox.server import start_server
    from asst_deploy.sandbox.store import Store

    state = Sandbox(store=Store(), log=RequestLog(capture_bodies=True))
    add_rules(state.model)
    failures: list[str] = []
    with (
        start_server(state) as server,
        openai.OpenAI(base_url=server.base_url, api_key="sk-drift", max_retries=0) as client,
    ):
        for name in families:
            try:
                CORPUS[name](client)
            except Exception as error:  # the report must still come out, with the cause
                failures.append(f"corpus {name}: {type(error).__name__}: {error}")
        gaps: set[Gap] = set()
        if probe:
            try:
                gaps |= refused_params(server.base_url, probes(client))
            except Exception as error:
                failures.append(f"probes: {type(error).__name__}: {error}")
        entries = server.log.entries()
    router = Router(route_types())
    seen = Coverage()
    observe_log(entries, router, seen)
    gaps |= response_gaps(router.roots, seen)
    return Report(gaps, sorted(set(seen.unmatched)), failures)


def read_baseline(path: Path) -> dict[Gap, str]:
    """The reviewed gaps: `kind<TAB>key<TAB>reason` lines; # comments and blanks skipped."""
    entries: dict[Gap, str] = {}
    if not path.exists():
        return entries
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in KINDS or not parts[2].strip():
            raise ValueError(f"{path}:{number}: expected kind<TAB>key<TAB>reason: {line!r}")
        entries[(parts[0], parts[1])] = parts[2]
    return entries


def write_baseline(path: Path, gaps: set[Gap], old: Mapping[Gap, str]) -> None:
    header = (
        "# Reviewed gaps between the openai SDK and the sandbox (.ci/sdk_drift.py).\n"
        "# kind<TAB>key<TAB>why the sandbox deliberately does not serve it; sorted.\n"
    )
    lines = [f"{k}\t{key}\t{old.get((k, key), UNREVIEWED)}" for k, key in sorted(gaps)]
    path.write_text(header + "".join(f"{line}\n" for line in lines), encoding="utf-8")


def compare(gaps: set[Gap], baseline: Mapping[Gap, str]) -> tuple[list[Gap], list[Gap]]:
    """(new gaps: the drift, baseline entries that are no longer gaps: stale)."""
    return sorted(gaps - baseline.keys()), sorted(baseline.keys() - gaps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--all", action="store_true", help="print every gap, baselined too")
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help="rewrite the baseline to today's gaps (keeps reasons; new lines say UNREVIEWED)",
    )
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--no-probe", action="store_true", help="skip the request-field probes")
    args = parser.parse_args(argv)
    # the corpus drives the Assistants API on purpose; the SDK warns at every call of it
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"__main__|sdk_drift")

    import openai

    report = collect(probe=not args.no_probe)
    baseline = read_baseline(args.baseline)
    new, stale = compare(report.gaps, baseline)
    print(f"openai {openai.__version__}: {len(report.gaps)} gaps, {len(baseline)} baselined")
    for failure in report.failures:
        print(f"WARNING {failure}")
    for problem in report.unmatched:
        print(f"WARNING unparsed answer: {problem}")
    if args.all:
        print("\nall gaps:")
        for kind, key in sorted(report.gaps):
            print(f"  {kind}\t{key}\t{baseline.get((kind, key), '(new)')}")
    print(f"\nnew gaps (drift): {len(new)}")
    for kind, key in new:
        print(f"  {kind}\t{key}")
    print(f"\nstale baseline entries (no longer gaps): {len(stale)}")
    for kind, key in stale:
        print(f"  {kind}\t{key}")
    if args.update_baseline:
        write_baseline(args.baseline, report.gaps, baseline)
        print(f"\nrewrote {args.baseline}")
        return 0
    return 1 if new or report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
