"""The sandbox's deterministic, scriptable model: rules map a user message to replies, tool calls.

Rules are tried in order against the latest user message; the first match wins (a rule
without `match` matches everything). A rules file is YAML (a list, or a mapping with a
`rules` list)::

    rules:
      - match: '(?i)weather in (?P<city>\\w+)'    # regex (re.search), single-quoted
        assistant: Weather bot                     # optional: assistant (or agent) id or name
        function_calls:                            # parallel calls -> run requires_action
          - name: get_weather
            arguments: {city: "{match[city]}"}     # mapping (strings templated) or a string
        reply: "It is {outputs[get_weather]} in {arguments[get_weather][city]}."
      - match: "(?i)solve"
        code_interpreter: {input: "print(2 + 2)", logs: "4"}   # a step; nothing is executed
        reply: "The answer is 4."
      - match: "(?i)refund"
        file_search: "refund policy"               # query template, or true for the message
        reply: "Our policy: {quote}"               # citations are appended as annotations
      - match: "(?i)break"
        status: failed                             # or incomplete / expired / session_failed
        error: "The model broke."                  # last_error.message when failed
      - match: "(?i)research"
        cost_cents: 5                              # what the turn spends (Agents sessions)
        reply: "Done."
      - match: '(?i)remind me at (?P<hour>\\d+)'
        automation:                                # the agent's automations tool (sessions)
          name: "Reminder"
          expression: "0 {match[hour]} * * *"      # periodic (default), in `timezone` (UTC);
          timezone: Europe/Berlin                  #   or type: once with run_at (ISO 8601)
          instructions: "Remind me."               # posted to the session when it runs
          metadata: {team: data}                   #   (default: the user message)
        reply: "I will remind you."

Rules serve the Agents API too: `agent:` is another spelling of `assistant:` (either one
matches an assistant's or an agent's id or name), and a code_interpreter step becomes a
command execution (input: the command, logs: its output) in a session's hosted environment.
Grader rules answer the grading requests of rubric expectations (a Responses request whose
text.format is the json_schema `asst_deploy_grade`, see asst_deploy/grading.py), and only
those; ordinary rules never answer them::

      - rubric: '(?i)refund policy'                # regex over the rubric
        match: '(?i)14 days'                       # optional: regex over the graded reply
        verdict: {pass: true, score: 0.9, reason: "Names the {match[0]} limit."}

`verdict` is {pass (required), score 0..1 (default 1 or 0 by pass), reason (templated:
{rubric}, {reply}, {match[...]} of `match`)}. With no grader rule matching, the sandbox
scores the reply by the share of the rubric's words it contains (pass at 0.5 or more).

Two keys act on sessions only: `cost_cents` (an integer >= 0, default 0) is what the turn
spends, in USD cents, counted in the session's `spend_control.consumed` against its limit;
`status: session_failed` fails the turn and the whole session (`failed` fails the turn and
leaves the session usable), and is `failed` for runs and responses, which have no session.

A mapping may also set `step_delay: 0.1`, the seconds each run transition takes (queued
-> in_progress -> the model's turn); 0 ends a run by the first poll.

`automation` acts in Agents sessions only, whose agent has the `automations` tool: the
agent creates an automation (its strings templated) targeting its own session, with
`created_by: {type: agent, session_id, tool_call_id}`; the 3.60 SDK has no output item for
that tool's call, so the turn shows only the reply. A rule gives at most one of
function_calls / code_interpreter / file_search / automation, then a reply
(default: "{quotes}" after a file search, else "[sandbox] rule matched: {message}").

Templates are str.format-like with item access only (no attributes, no eval):
{message} the user message; {match[1]} / {match[name]} regex groups; after function
calls {outputs[name]} and {arguments[name][key]} (name: function name or call id);
after a file search {query}, {quote} (best passage) and {quotes} (all, one per line).

Without a matching rule the reply is "[sandbox] no rule matched: <message>". Tokens are
counted deterministically (words and punctuation marks), for usage and for
max_completion_tokens, which truncates the reply and ends the run incomplete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from asst_deploy import (
    userregex,
    yamlpos,  # bounded: an alias bomb fails fast
)
from asst_deploy.templating import Groups, RuleTemplateError, render, render_tree

Ending = Literal["completed", "failed", "incomplete", "expired"]
_ENDINGS = ("completed", "failed", "incomplete", "expired")
# A rules-file spelling, not an Ending: the turn fails as `failed` does, and so does its session.
SESSION_FAILED = "session_failed"
_TOKEN = re.compile(r"\w+|[^\w\s]")
_CHUNK = re.compile(r"\s*\S+")
# The most one rule's regex may take on one message (the `regex` package overshoots it by
# up to 3x under load): the run fails rather than stalling every other request.
RULE_MATCH_SECONDS = 0.1


class RuleError(ValueError):
    """A rule (from YAML or the Python API) is malformed."""


def tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def truncate(text: str, limit: int) -> str:
    """The first `limit` tokens of `text`."""
    for i, match in enumerate(_TOKEN.finditer(text)):
        if i == limit:
            return text[: match.start()].rstrip()
    return text


def chunks(text: str) -> list[str]:
    """Word-sized pieces that concatenate back to `text`, like a model's stream deltas."""
    pieces = _CHUNK.findall(text)
    rest = text[sum(map(len, pieces)) :]
    return [*pieces[:-1], pieces[-1] + rest] if pieces else ([text] if text else [])


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: Any = field(default_factory=dict)

    def render_arguments(self, values: Mapping[str, Any]) -> str:
        rendered = render_tree(self.arguments, values)
        return (
            rendered if isinstance(rendered, str) else json.dumps(rendered, separators=(",", ":"))
        )


@dataclass(frozen=True)
class CodeInterpreter:
    input: str
    logs: str | None = None


AUTOMATIONS = "automations"  # the agent tool a rule's `automation` calls
_AUTOMATION_KEYS = {"name", "type", "expression", "timezone", "run_at", "instructions", "metadata"}


def _check_automation(spec: Any) -> None:
    """A rule's `automation`: the automations tool's arguments, whole enough to create one."""
    if not isinstance(spec, Mapping):
        raise RuleError("a rule's automation is a mapping (name, expression, timezone, ...)")
    unknown = set(spec) - _AUTOMATION_KEYS
    if unknown:
        raise RuleError(f"unknown automation keys: {', '.join(sorted(unknown))}")
    kind = spec.get("type", "periodic")
    if kind not in ("periodic", "once"):
        raise RuleError(f"an automation's type is periodic or once, not {kind!r}")
    needed = "expression" if kind == "periodic" else "run_at"
    if needed not in spec:
        raise RuleError(f"a {kind} automation needs `{needed}`")
    if not isinstance(spec.get("metadata", {}), Mapping):
        raise RuleError("an automation's metadata is a mapping")


@dataclass(frozen=True)
class Rule:
    match: str = ""
    assistant: str | None = None
    reply: str | None = None
    function_calls: tuple[FunctionCall, ...] = ()
    code_interpreter: CodeInterpreter | None = None
    file_search: str | None = None
    status: Ending = "completed"
    error: str | None = None
    cost_cents: int = 0
    fails_session: bool = False
    rubric: str | None = None  # grader rules: a regex over the rubric
    verdict: Mapping[str, Any] | None = None  # grader rules: what the grader answers
    automation: Mapping[str, Any] | None = None  # the automations tool's arguments

    def __post_init__(self) -> None:
        for pattern in (self.match, self.rubric or ""):
            try:
                userregex.check(pattern)
            except userregex.PatternError as exc:
                raise RuleError(f"{exc} ({exc.hint})") from None
        if self.rubric is not None or self.verdict is not None:
            self._check_grader()
        tools = [
            bool(self.function_calls),
            self.code_interpreter is not None,
            self.file_search is not None,
            self.automation is not None,
        ]
        if sum(tools) > 1:
            raise RuleError(
                "a rule gives at most one of function_calls, code_interpreter, file_search, "
                "automation"
            )
        if self.automation is not None:
            _check_automation(self.automation)
        if self.status not in _ENDINGS:
            allowed = ", ".join((*_ENDINGS, SESSION_FAILED))
            raise RuleError(f"status must be one of {allowed}, not {self.status!r}")
        if self.fails_session and self.status != "failed":
            raise RuleError("a rule that fails its session has status failed")
        cost = self.cost_cents
        if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
            raise RuleError(f"cost_cents must be an integer >= 0 (USD cents), not {cost!r}")

    @property
    def grades(self) -> bool:
        """A grader rule: it answers grading requests, and nothing else."""
        return self.verdict is not None

    def _check_grader(self) -> None:
        verdict = self.verdict
        if not isinstance(verdict, Mapping):
            raise RuleError("a grader rule (rubric:) gives a `verdict:` mapping")
        unknown = set(verdict) - {"pass", "score", "reason"}
        if unknown:
            raise RuleError(f"unknown verdict keys: {', '.join(sorted(unknown))}")
        if not isinstance(verdict.get("pass"), bool):
            raise RuleError("a verdict says `pass: true` or `pass: false`")
        score = verdict.get("score", 0.0)
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            raise RuleError(f"a verdict's score is a number from 0 to 1, not {score!r}")
        if not isinstance(verdict.get("reason", ""), str):
            raise RuleError("a verdict's reason is a string")
        if (
            self.reply is not None
            or self.function_calls
            or self.code_interpreter is not None
            or self.file_search is not None
            or self.automation is not None
            or self.assistant is not None
            or self.cost_cents
            or self.status != "completed"
        ):
            raise RuleError(
                "a grader rule gives only rubric, match and verdict (it answers graders, "
                "not assistants)"
            )

    def lacking_tool(self, functions: Collection[str], tool_types: Collection[str]) -> str | None:
        """What the rule would use that the request did not declare (a function by name, a
        tool by type), or None: the model may only call tools it was given."""
        for call in self.function_calls:
            if call.name not in functions:
                return f"function {call.name!r}"
        if self.code_interpreter is not None and "code_interpreter" not in tool_types:
            return "code_interpreter"
        if self.file_search is not None and "file_search" not in tool_types:
            return "file_search"
        if self.automation is not None and AUTOMATIONS not in tool_types:
            return AUTOMATIONS
        return None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Rule:
        known = {
            "match",
            "assistant",
            "agent",
            "reply",
            "function_calls",
            "code_interpreter",
            "file_search",
            "status",
            "error",
            "cost_cents",
            "rubric",
            "verdict",
            "automation",
        }
        unknown = set(raw) - known
        if unknown:
            raise RuleError(f"unknown rule keys: {', '.join(sorted(unknown))}")
        calls = raw.get("function_calls") or ()
        if isinstance(calls, Mapping):
            calls = [calls]
        ci = raw.get("code_interpreter")
        search = raw.get("file_search")
        status = raw.get("status", "completed")
        fails_session = status == SESSION_FAILED
        try:
            return cls(
                match=str(raw.get("match") or ""),
                assistant=raw.get("assistant", raw.get("agent")),
                reply=raw.get("reply"),
                function_calls=tuple(
                    FunctionCall(c["name"], c.get("arguments", {})) for c in calls
                ),
                code_interpreter=CodeInterpreter(**ci) if isinstance(ci, Mapping) else None,
                file_search="{message}" if search is True else search or None,
                status="failed" if fails_session else status,
                error=raw.get("error"),
                cost_cents=raw.get("cost_cents", 0),
                fails_session=fails_session,
                rubric=None if raw.get("rubric") is None else str(raw["rubric"]),
                verdict=raw.get("verdict"),
                automation=raw.get("automation"),
            )
        except (KeyError, TypeError) as exc:
            raise RuleError(f"malformed rule {dict(raw)!r}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The YAML form, which a run keeps so it can finish after the rules change."""
        status = SESSION_FAILED if self.fails_session else self.status
        raw: dict[str, Any] = {"match": self.match, "status": status}
        if self.cost_cents:
            raw["cost_cents"] = self.cost_cents
        for key in ("assistant", "reply", "file_search", "error", "rubric"):
            if getattr(self, key) is not None:
                raw[key] = getattr(self, key)
        if self.function_calls:
            raw["function_calls"] = [
                {"name": c.name, "arguments": c.arguments} for c in self.function_calls
            ]
        if self.verdict is not None:
            raw["verdict"] = dict(self.verdict)
        if self.automation is not None:
            raw["automation"] = dict(self.automation)
        if self.code_interpreter:
            raw["code_interpreter"] = {
                "input": self.code_interpreter.input,
                "logs": self.code_interpreter.logs,
            }
        return raw

    def applies(self, message: str, assistant: Mapping[str, Any]) -> re.Match[str] | None:
        if self.assistant is not None and self.assistant not in (
            assistant.get("id"),
            assistant.get("name"),
        ):
            return None
        try:  # a deadline: rules are matched on the server's event loop
            return userregex.search(self.match, message, timeout=RULE_MATCH_SECONDS)
        except userregex.MatchTimeout as exc:
            raise RuleTemplateError(f"{exc}; simplify the rule's `match`") from None


@dataclass(frozen=True)
class Hit:
    """A passage a file search found (the vector store search ranks them)."""

    file_id: str
    filename: str
    passage: str
    score: float
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    text: str
    annotations: list[dict[str, Any]]
    status: Literal["completed", "incomplete"] = "completed"
    cited: tuple[Hit, ...] = ()  # the hits the annotations cite, in order

    @property
    def body(self) -> str:
        """The text without the citation markers appended to it."""
        return self.text[: self.annotations[0]["start_index"]] if self.annotations else self.text


@dataclass
class Turn:
    """What the model does on one turn of a run, before any reply."""

    rule: Rule | None
    values: dict[str, Any]


def _step_delay(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RuleError(f"{where}: expected seconds (a number >= 0), got {value!r}")
    return float(value)


class ScriptedModel:
    """Rules plus the pace of runs: each run transition waits `step_delay` seconds (0.1, as
    the real service roughly does; a rules file's top-level `step_delay` sets it, and 0
    lets polled tests see a run end on its first poll)."""

    def __init__(self, rules: Sequence[Rule] = (), *, step_delay: float = 0.1) -> None:
        self.rules: list[Rule] = list(rules)
        self.step_delay = step_delay

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> ScriptedModel:
        model = cls(**kwargs)
        model.load(path)
        return model

    def load(self, path: str | Path) -> None:
        """Append the rules of a YAML file."""
        try:
            raw = yamlpos.load_plain(Path(path).read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            raise RuleError(f"{path}: {exc}") from None
        if isinstance(raw, Mapping):
            if "step_delay" in raw:
                self.step_delay = _step_delay(raw["step_delay"], f"{path}: step_delay")
            raw = raw.get("rules") or []
        if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
            raise RuleError(f"{path}: expected a list of rules (or a mapping with 'rules')")
        self.rules.extend(Rule.from_dict(r) for r in raw)

    def add_rule(self, match: str = "", **kwargs: Any) -> Rule:
        """Append a rule given as keyword arguments in its YAML form (first match wins)."""
        rule = Rule.from_dict({"match": match, **kwargs})
        self.rules.append(rule)
        return rule

    def turn(self, message: str, assistant: Mapping[str, Any]) -> Turn:
        values: dict[str, Any] = {"message": message, "match": {}}
        for rule in self.rules:
            if rule.grades:
                continue
            found = rule.applies(message, assistant)
            if found is not None:
                values["match"] = _groups(found)
                return Turn(rule, values)
        return Turn(None, values)

    def grade(self, rubric: str, reply: str) -> dict[str, Any]:
        """The verdict on `reply` by `rubric`: the first grader rule whose `rubric` and
        `match` both match, else the share of the rubric's words the reply contains."""
        for rule in self.rules:
            if not rule.grades or rule.verdict is None:
                continue
            try:
                on_rubric = userregex.search(rule.rubric or "", rubric, timeout=RULE_MATCH_SECONDS)
                on_reply = userregex.search(rule.match, reply, timeout=RULE_MATCH_SECONDS)
            except userregex.MatchTimeout as exc:
                raise RuleTemplateError(f"{exc}; simplify the grader rule") from None
            if on_rubric is None or on_reply is None:
                continue
            verdict = rule.verdict
            passed = bool(verdict["pass"])
            values = {"rubric": rubric, "reply": reply, "match": _groups(on_reply)}
            reason = render(str(verdict.get("reason") or "[sandbox] a grader rule matched"), values)
            return {
                "pass": passed,
                "score": float(verdict.get("score", 1.0 if passed else 0.0)),
                "reason": reason,
            }
        return overlap_verdict(rubric, reply)


def _groups(found: re.Match[str]) -> Groups:
    groups = Groups({str(i): g or "" for i, g in enumerate(found.groups(), 1)})
    groups["0"] = found.group(0)
    groups.update({k: v or "" for k, v in found.groupdict().items()})
    return groups


# words a rubric is made of that say nothing of what a reply must hold
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "does",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
    ]
)


def overlap_verdict(rubric: str, reply: str) -> dict[str, Any]:
    """The sandbox's grade without a grader rule: the share of the rubric's content words
    found in the reply (case and a plural -s ignored); a pass from one half up."""

    def stems(text: str) -> set[str]:
        words = {w.casefold() for w in re.findall(r"\w+", text)}
        return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words - _STOPWORDS}

    wanted, found = stems(rubric), stems(reply)
    hits = len(wanted & found)
    score = hits / len(wanted) if wanted else 1.0
    return {
        "pass": score >= 0.5,
        "score": round(score, 4),
        "reason": f"[sandbox] no grader rule matched this rubric: the reply holds {hits} of "
        f"its {len(wanted)} words",
    }


def reply_for(
    turn: Turn,
    *,
    hits: Sequence[Hit] | None = None,
    max_tokens: int | None = None,
) -> Reply:
    """The assistant's message for a turn: its rule's reply (templated), with file citations."""
    rule, values = turn.rule, dict(turn.values)
    if rule is None:
        template = "[sandbox] no rule matched: {message}"
    elif rule.reply is not None:
        template = rule.reply
    elif hits is not None:
        template = "{quotes}"
    else:
        template = "[sandbox] rule matched: {message}"
    if hits is not None:
        values["quote"] = hits[0].passage if hits else ""
        values["quotes"] = "\n".join(h.passage for h in hits)
    text = render(template, values)
    if hits is not None and not hits:
        text = text or f"[sandbox] file_search found nothing for: {values.get('query', '')}"
    incomplete = rule is not None and rule.status == "incomplete"
    if max_tokens is not None and tokens(text) > max_tokens:
        text, incomplete = truncate(text, max_tokens), True
    annotations = []
    for i, hit in enumerate(hits or ()):
        marker = f"【0:{i}†{hit.filename}】"
        start = len(text)
        text += marker
        annotations.append(
            {
                "type": "file_citation",
                "text": marker,
                "start_index": start,
                "end_index": len(text),
                "file_citation": {"file_id": hit.file_id},
            }
        )
    return Reply(text, annotations, "incomplete" if incomplete else "completed", tuple(hits or ()))
