"""One turn of the scripted model, decided once as typed steps that each API surface renders."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from asst_deploy.sandbox.model import Hit, Reply, Rule, Turn, reply_for, tokens
from asst_deploy.templating import RuleTemplateError, render, render_tree


@dataclass(frozen=True)
class Call:
    name: str
    arguments: str  # rendered: JSON, or the rule's plain string


@dataclass(frozen=True)
class FunctionCalls:
    """Parallel calls for the client to answer; the turn waits for every output."""

    calls: tuple[Call, ...]


@dataclass(frozen=True)
class CodeStep:
    code: str
    logs: str | None  # None: the rule gives none, or the surface does not show them


@dataclass(frozen=True)
class AutomationStep:
    """The agent's automations tool creates a schedule (Agents sessions only)."""

    arguments: Mapping[str, Any]  # the rule's, templated


@dataclass(frozen=True)
class FileSearch:
    query: str
    hits: tuple[Hit, ...]


@dataclass(frozen=True)
class Ended:
    """The rule itself ends the turn (its `status`); each surface words a missing `error`."""

    status: Literal["failed", "expired"]
    error: str | None
    session: bool = False  # the Agents API fails the whole session, not just the turn


@dataclass(frozen=True)
class Lacks:
    """The rule uses a tool the surface did not offer: the model may only use what it got."""

    tool: str  # "function 'name'", "code_interpreter" or "file_search"


@dataclass(frozen=True)
class Broken:
    """A template named something the turn does not have."""

    error: str
    # Tokens the broken step had rendered before it broke; a response counts them in usage.
    spent: int = 0


# A Reply (text, citations, completed/incomplete) ends every turn that neither calls
# functions nor fails.
Step = FunctionCalls | CodeStep | FileSearch | AutomationStep | Reply | Ended | Lacks | Broken


@dataclass(frozen=True)
class Offer:
    """What a surface gives the model on one turn."""

    # Declared function names; None where nothing is declared to check against (an agent's
    # session calls whatever its client registered).
    functions: Collection[str] | None
    tool_types: Collection[str]
    # File search over the surface's own vector stores: its ranked results (as
    # vectorstores.search gives them) for a query. None where the surface has no file
    # search at all (Agents sessions): a rule's file_search is passed over there, not refused.
    search: Callable[[str], Sequence[Mapping[str, Any]]] | None = None
    # A response renders its code's logs only when asked to include them, so a broken
    # logs template breaks nothing there.
    code_logs: bool = True

    def lacking(self, rule: Rule) -> str | None:
        functions = (
            {c.name for c in rule.function_calls} if self.functions is None else self.functions
        )
        lacking = rule.lacking_tool(functions, self.tool_types)
        return None if lacking == "file_search" and self.search is None else lacking


def decide(turn: Turn, offer: Offer, *, max_tokens: int | None = None) -> list[Step]:
    """The steps of a turn's first move. `max_tokens` is what the reply may still spend."""
    rule, values = turn.rule, turn.values
    if rule is None:
        return follow_up(turn, max_tokens=max_tokens)
    if rule.status == "failed" or rule.status == "expired":
        return [Ended(rule.status, rule.error, rule.fails_session)]
    lacking = offer.lacking(rule)
    if lacking:
        return [Lacks(lacking)]
    steps: list[Step] = []
    partial = 0  # a step's tokens until it is whole: a response counts them if it breaks
    try:
        if rule.function_calls:
            calls = []
            for call in rule.function_calls:
                calls.append(Call(call.name, call.render_arguments(values)))
                partial += tokens(calls[-1].arguments)
            return [FunctionCalls(tuple(calls))]
        hits = None
        code, search = rule.code_interpreter, rule.file_search
        if rule.automation is not None:
            arguments = render_tree(dict(rule.automation), values)
            arguments.setdefault("instructions", values["message"])
            steps.append(AutomationStep(arguments))
        elif code is not None:
            source = render(code.input, values)
            partial = tokens(source)
            logs = render(code.logs, values) if code.logs is not None and offer.code_logs else None
            steps.append(CodeStep(source, logs))
        elif search is not None and offer.search is not None:
            query = render(search, values)
            hits = tuple(map(_hit, offer.search(query)))
            partial = tokens(query)
            steps.append(FileSearch(query, hits))
            turn = Turn(rule, {**values, "query": query})
        # The tool step's tokens come out of the reply's budget, as in a real turn.
        left = None if max_tokens is None else max(max_tokens - partial, 0)
        partial = 0
        steps.append(reply_for(turn, hits=hits, max_tokens=left))
    except RuleTemplateError as exc:
        steps.append(Broken(str(exc), partial))
    return steps


def _hit(result: Mapping[str, Any]) -> Hit:
    return Hit(
        result["file_id"],
        result["filename"],
        result["content"][0]["text"],
        result["score"],
        result["attributes"],
    )


def follow_up(turn: Turn, *, max_tokens: int | None = None) -> list[Step]:
    """The move once the function calls are answered (or with no rule): the reply alone."""
    try:
        return [reply_for(turn, max_tokens=None if max_tokens is None else max(max_tokens, 0))]
    except RuleTemplateError as exc:
        return [Broken(str(exc))]


@dataclass(frozen=True)
class Answered:
    """A function call the turn made, with the output the client gave for it."""

    call_id: str
    name: str
    arguments: str
    output: str


def with_outputs(values: Mapping[str, Any], answered: Iterable[Answered]) -> dict[str, Any]:
    """The turn's template values plus {outputs[...]} and {arguments[...]}, each keyed by
    the function's name and by the call id (a later call of a name wins the name)."""
    outputs: dict[str, Any] = {}
    arguments: dict[str, Any] = {}
    for call in answered:
        parsed = _parse(call.arguments)
        for key in (call.name, call.call_id):
            outputs[key], arguments[key] = call.output, parsed
    return {**values, "outputs": outputs, "arguments": arguments}


def _parse(arguments: str) -> Any:
    """A call's arguments as templates see them: parsed JSON, else the plain string."""
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments
