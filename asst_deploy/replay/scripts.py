"""Conversation scripts (`*.conv.yaml`): their JSON Schema and loader, which makes the
records of asst_deploy/conversation/script.py."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from asst_deploy import limits, userregex
from asst_deploy.conversation.script import (
    DEFAULT_SIMILARITY,
    Attachment,
    Conversation,
    Expectation,
    Script,
    Session,
    SpecRef,
    Stub,
    Turn,
)
from asst_deploy.errors import Location, Problem, SpecError
from asst_deploy.reader import parse_file
from asst_deploy.spec import schemacheck
from asst_deploy.spec.schema import KEY_PATTERN, closed_object
from asst_deploy.types import Json
from asst_deploy.yamlpos import Document

SCHEMA_ID = "https://asst-deploy.dev/schema/conversation.json"
CALLABLE = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"  # module.path:function
# budget_reached: an Agents session paused at its spending limit during the turn
RUN_STATUSES = (
    "completed",
    "incomplete",
    "failed",
    "cancelled",
    "expired",
    "timed_out",
    "budget_reached",
)
TEXT_CHECKS = (
    "contains",
    "icontains",
    "regex",
    "equals",
    "not_contains",
    "not_icontains",
    "not_regex",
    "not_equals",
)


def _range(bounds: tuple[float, float]) -> dict[str, Any]:
    return {"type": "number", "minimum": bounds[0], "maximum": bounds[1]}


_STRINGS = {"type": ["string", "array"], "items": {"type": "string"}, "minItems": 1}
_CALLABLE = {"type": "string", "pattern": CALLABLE}
_COUNT = {"type": "integer", "minimum": 0}

_RUN = closed_object(
    {
        "model": {"type": "string"},
        "instructions": {"type": "string"},
        "additional_instructions": {"type": "string"},
        "temperature": _range(limits.TEMPERATURE),
        "top_p": _range(limits.TOP_P),
        "tool_choice": {"type": ["string", "object"]},
        "max_prompt_tokens": {"type": "integer", "minimum": limits.MAX_PROMPT_TOKENS_MIN},
        "max_completion_tokens": {
            "type": "integer",
            "minimum": limits.MAX_COMPLETION_TOKENS_MIN,
        },
        "response_format": {"type": ["string", "object"]},
        "parallel_tool_calls": {"type": "boolean"},
        "truncation_strategy": {"type": "object"},
    },
    description="Overrides sent with every run (the Assistants API's create-run fields).",
)

_STUB = closed_object(
    {
        "output": {"description": "A fixed output; anything but a string is sent as JSON."},
        "template": {
            "type": "string",
            "description": "str.format-like over the call: {arguments[key]}, {name}.",
        },
        "call": {**_CALLABLE, "description": "module:function(name, arguments) -> output."},
        "error": {"type": "string", "description": 'Sent as {"error": "..."}.'},
    },
    minProperties=1,
    maxProperties=1,
)

_TOOL_CALL = closed_object(
    {
        "name": {
            "type": "string",
            "description": "Function name, code_interpreter or file_search.",
        },
        "arguments": {"type": "object", "description": "A subset the arguments must contain."},
        "arguments_schema": {"type": "object", "description": "JSON Schema of the arguments."},
    },
    ("name",),
)

_SHARE = {"type": "number", "minimum": 0, "maximum": 1}
_RUBRIC = {
    "type": ["string", "object"],
    "minLength": 1,
    "description": "What the turn must do, judged by the project's grader model: the rubric "
    "itself, or {rubric, threshold (the least score, 0..1), include_tool_calls}.",
    "properties": {
        "rubric": {"type": "string", "minLength": 1},
        "threshold": _SHARE,
        "include_tool_calls": {"type": "boolean"},
    },
    "required": ["rubric"],
    "additionalProperties": False,
}
_SIMILAR = closed_object(
    {
        "to": {"type": "string", "minLength": 1},
        "threshold": {
            **_SHARE,
            "description": f"Least cosine similarity (default {DEFAULT_SIMILARITY}).",
        },
    },
    ("to",),
    description="The reply is close in meaning to `to`: the cosine similarity of their embeddings.",
)
_BUDGET = closed_object(
    {"usd": {"type": "number", "exclusiveMinimum": 0, "description": "US dollars."}},
    ("usd",),
    description="The most a conversation may cost (each run of it, live); past it, it stops "
    "and is inconclusive.",
)

_EXPECT = closed_object(
    {
        **{name: _STRINGS for name in TEXT_CHECKS},
        "json": {"type": "boolean", "description": "The reply is (or is not) JSON."},
        "json_schema": {"type": "object"},
        "tool_calls": {"type": "array", "items": _TOOL_CALL},
        "tool_calls_ordered": {"type": "boolean"},
        "tool_call_count": {
            "type": ["integer", "object"],
            "minimum": 0,
            "additionalProperties": _COUNT,
        },
        "no_tool_calls": {"const": True},
        "code_interpreter": {"type": "boolean"},
        "citations": {
            "type": ["boolean", "array"],
            "items": {"type": "string"},
            "description": "true, or the cited files by path (or base name).",
        },
        "status": {"enum": list(RUN_STATUSES)},
        "max_tokens": {
            "type": ["integer", "object"],
            "minimum": 0,
            "properties": {"prompt": _COUNT, "completion": _COUNT, "total": _COUNT},
            "additionalProperties": False,
        },
        "max_latency": {"type": "number", "exclusiveMinimum": 0},
        "predicate": {
            "type": ["string", "array"],
            "pattern": CALLABLE,
            "items": _CALLABLE,
        },
        "rubric": _RUBRIC,
        "similar": _SIMILAR,
    }
)

_ATTACHMENT = closed_object(
    {
        "file": {"type": "string", "minLength": 1},
        "tools": {
            "type": "array",
            "items": {"enum": ["code_interpreter", "file_search"]},
            "minItems": 1,
        },
    },
    ("file",),
)

_KEY = {"type": "string", "pattern": KEY_PATTERN}
_OPTIONS = {
    "environment": {
        **_KEY,
        "description": "Agents targets: the key of a `kind: environment` document whose "
        "template the conversation's session runs in (default: the agent's own).",
    },
    "vaults": {
        "type": "array",
        "items": _KEY,
        "uniqueItems": True,
        "description": "Agents targets: keys of `kind: vault` documents, the vaults the "
        "session gets (default: those of the agent's mcp credentials).",
    },
    "run": _RUN,
    "streaming": {"type": "boolean", "description": "Stream runs (default) or poll them."},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "description": "Seconds per run."},
    "repeat": {"type": "integer", "minimum": 1, "description": "Live runs: times to run."},
    "pass_rate": {"type": "number", "minimum": 0, "maximum": 1},
    "functions": {"type": "object", "additionalProperties": _STUB},
    "budget": _BUDGET,
}


@cache
def conversation_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a conversation script."""
    turn = closed_object(
        {
            "user": {"type": "string", "minLength": 1},
            "attachments": {"type": "array", "items": _ATTACHMENT},
            "functions": {"type": "object", "additionalProperties": _STUB},
            "expect": _EXPECT,
        },
        ("user",),
    )
    conversation = closed_object(
        {
            "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"},
            "description": {"type": "string"},
            "turns": {"type": "array", "items": turn, "minItems": 1},
            **_OPTIONS,
        },
        ("name", "turns"),
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "asst-deploy conversation script",
        **closed_object(
            {
                "assistant": {"type": "string", "pattern": KEY_PATTERN},
                "description": {"type": "string"},
                "env": {"type": "string"},
                "target": {"type": "string"},
                **_OPTIONS,
                "conversations": {"type": "array", "items": conversation, "minItems": 1},
            },
            ("assistant", "conversations"),
        ),
    }


def _usd(budget: Json) -> float | None:
    return float(budget["usd"]) if isinstance(budget, Mapping) else None


def _session(doc: Document, base: tuple[str | int, ...]) -> Session | None:
    """The conversation's `environment:` and `vaults:`, each its own, else the script's."""
    found: dict[str, tuple[str | int, ...]] = {}  # name -> where it is written
    for name in ("environment", "vaults"):
        where = base if name in _at(doc, base) else ()
        if name in _at(doc, where):
            found[name] = where
    if not found:
        return None
    environment = vaults = None
    if "environment" in found:
        path = (*found["environment"], "environment")
        environment = SpecRef(_at(doc, path), doc.where(path))
    if "vaults" in found:
        path = (*found["vaults"], "vaults")
        vaults = tuple(SpecRef(key, doc.where((*path, i))) for i, key in enumerate(_at(doc, path)))
    name, where = next(iter(found.items()))
    return Session(doc.where((*where, name), key=True), environment, vaults)


def _at(doc: Document, path: tuple[str | int, ...]) -> Any:
    value: Any = doc.data
    for part in path:
        value = value[part]
    return value


def _stubs(raw: Mapping[str, Json] | None) -> dict[str, Stub]:
    return {name: Stub(*next(iter(spec.items()))) for name, spec in (raw or {}).items()}


def _turn(
    doc: Document,
    path: tuple[str | int, ...],
    raw: Mapping[str, Json],
    index: int,
    defaults: Mapping[str, Stub],
) -> Turn:
    expect = raw.get("expect") or {}
    return Turn(
        index=index,
        user=raw["user"],
        location=doc.where(path),
        attachments=tuple(
            Attachment(
                a["file"],
                tuple(a.get("tools") or ("file_search",)),
                doc.where((*path, "attachments", k, "file")),
            )
            for k, a in enumerate(raw.get("attachments") or ())
        ),
        functions={**defaults, **_stubs(raw.get("functions"))},
        expect=tuple(
            Expectation(kind, value, doc.where((*path, "expect", kind), key=True))
            for kind, value in expect.items()
        ),
    )


def _semantics(doc: Document, problems: list[Problem]) -> None:
    """What the schema cannot say: unique names, regexes and schemas that are sound."""
    seen: dict[str, int] = {}
    for i, conv in enumerate(doc.data["conversations"]):
        name = conv["name"]
        if name in seen:
            problems.append(
                Problem(
                    doc.where(("conversations", i, "name")),
                    f"duplicate conversation name '{name}'",
                    f"the first is conversation {seen[name] + 1}; names must be unique",
                )
            )
        seen.setdefault(name, i)
        for t, turn in enumerate(conv["turns"]):
            _check_expect(doc, ("conversations", i, "turns", t, "expect"), turn, problems)
            for k, attachment in enumerate(turn.get("attachments") or ()):
                if escapes(attachment["file"]):
                    problems.append(
                        Problem(
                            doc.where(("conversations", i, "turns", t, "attachments", k, "file")),
                            f"attachment '{attachment['file']}' is outside the project directory",
                            "attachments are paths relative to the project directory; move "
                            "the file into the project",
                        )
                    )


def escapes(name: str) -> bool:
    """An absolute path, or one whose `..` climbs above the directory it is relative to
    (symbolic links are resolved where the file is read)."""
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute():
        return True
    return posixpath.normpath(name.replace("\\", "/")).split("/")[0] == ".."


def _check_expect(
    doc: Document, path: tuple[str | int, ...], turn: Mapping[str, Json], problems: list[Problem]
) -> None:
    """Regexes that compile and cannot backtrack without bound; schemas that are schemas."""
    expect = turn.get("expect") or {}
    for kind in ("regex", "not_regex"):
        patterns = expect.get(kind)
        for pattern in [patterns] if isinstance(patterns, str) else patterns or ():
            try:
                userregex.check(pattern)
            except userregex.PatternError as exc:
                problems.append(Problem(doc.where((*path, kind)), str(exc), exc.hint))
    schemas: list[tuple[tuple[str | int, ...], Json]] = []
    if "json_schema" in expect:
        schemas.append(((*path, "json_schema"), expect["json_schema"]))
    for c, call in enumerate(expect.get("tool_calls") or ()):
        if "arguments_schema" in call:
            schemas.append(((*path, "tool_calls", c, "arguments_schema"), call["arguments_schema"]))
    for where, schema in schemas:
        error = _schema_error(schema)
        if error:
            problems.append(
                Problem(
                    doc.where(where),
                    f"invalid JSON Schema: {error}",
                    "the expectation takes a JSON Schema, draft 2020-12 (json-schema.org)",
                )
            )


def _schema_error(schema: Json) -> str | None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        at = "/".join(map(str, exc.absolute_path))
        return exc.message + (f" at {at}" if at else "")
    return None


def _validate(doc: Document, problems: list[Problem]) -> bool:
    validator = _validator()
    before = len(problems)
    for error in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.path))):
        path, at_key, message, hint = schemacheck.describe(error)
        problems.append(Problem(doc.where(path, key=at_key), message, hint))
    return len(problems) == before


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(conversation_schema())


def load_script(path: Path, display: str | None = None) -> Script:
    """Read and check one script; every problem is reported at once as a SpecError."""
    display = display or str(path)
    problems: list[Problem] = []
    docs = parse_file(path, display, problems)
    if len(docs) != 1 and not problems:
        problems.append(
            Problem(Location(display, 1, 1), "a conversation script is one YAML document")
        )
    if problems:
        raise SpecError(problems)
    doc = docs[0]
    if not _validate(doc, problems):
        raise SpecError(problems)
    _semantics(doc, problems)
    if problems:
        raise SpecError(problems)
    data = doc.data
    defaults = _stubs(data.get("functions"))
    conversations = []
    for i, conv in enumerate(data["conversations"]):
        base = ("conversations", i)

        def option(name: str, default: Json, conv: Mapping[str, Json] = conv) -> Json:
            return conv.get(name, data.get(name, default))

        stubs = {**defaults, **_stubs(conv.get("functions"))}
        conversations.append(
            Conversation(
                name=conv["name"],
                location=doc.where(base),
                turns=tuple(
                    _turn(doc, (*base, "turns", t), turn, t + 1, stubs)
                    for t, turn in enumerate(conv["turns"])
                ),
                run={**(data.get("run") or {}), **(conv.get("run") or {})},
                streaming=bool(option("streaming", True)),
                timeout=float(option("timeout", 60)),
                repeat=int(option("repeat", 1)),
                pass_rate=float(option("pass_rate", 1.0)),
                budget_usd=_usd(option("budget", None)),
                session=_session(doc, base),
            )
        )
    return Script(
        path=path,
        display=display,
        assistant=data["assistant"],
        env=data.get("env"),
        target=data.get("target"),
        conversations=tuple(conversations),
        location=doc.where(("assistant",)),
    )
