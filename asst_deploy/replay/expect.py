"""Expectations on a turn: one checker per kind, each saying what differed in a sentence."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from asst_deploy import userregex
from asst_deploy.conversation.script import DEFAULT_SIMILARITY, GRADED, Expectation, Turn
from asst_deploy.conversation.stubs import StubError, load_callable
from asst_deploy.conversation.transcript import ToolCall, TurnResult
from asst_deploy.errors import Location
from asst_deploy.grading import Verdict
from asst_deploy.types import Json

Checker = Callable[[Json, TurnResult, "Context"], "str | None"]


@dataclass(frozen=True)
class Failure:
    kind: str
    location: Location
    message: str


class Grader(Protocol):
    """What graded expectations ask (asst_deploy/replay/graders.py): a verdict on the turn
    by a rubric, and how close two texts are in meaning (cosine of their embeddings)."""

    def rubric(self, rubric: str, result: TurnResult, include_tool_calls: bool) -> Verdict: ...

    def similarity(self, text: str, to: str) -> float: ...


@dataclass(frozen=True)
class Check:
    """One expectation's verdict on a turn: pass, fail, or n/a (cannot be checked on the
    target's API generation; never a pass), with what a report shows of it (`detail`: a
    grader's score and reason, a similarity)."""

    kind: str
    location: Location
    verdict: str
    message: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Context:
    """What checkers may consult beyond the turn: the whole `expect` mapping (for options
    such as tool_calls_ordered), the deployed assistant's function schemas, and the grader
    of graded expectations (None: they cannot be checked). A checker may leave what a
    report shows of a verdict in `details` under its kind."""

    expect: Mapping[str, Json]
    functions: Mapping[str, Json]
    timeout: float = 60.0  # seconds a regex may take: the turn's timeout
    grader: Grader | None = None
    details: dict[str, str] = field(default_factory=dict)


def _many(value: Json) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _text_check(test: Callable[[str, str], bool], words: str) -> Checker:
    def check(value: Json, result: TurnResult, ctx: Context) -> str | None:
        missed = [v for v in _many(value) if not test(result.reply, v)]
        if not missed:
            return None
        return f"the reply {words} " + ", ".join(repr(m) for m in missed)

    return check


def _regex_check(negated: bool) -> Checker:
    def check(value: Json, result: TurnResult, ctx: Context) -> str | None:
        wrong = []
        for pattern in _many(value):
            try:
                found = userregex.search(pattern, result.reply, timeout=ctx.timeout)
            except userregex.MatchTimeout as exc:
                return f"{exc} (the turn's timeout); simplify the pattern"
            if (found is not None) == negated:
                wrong.append(pattern)
        if not wrong:
            return None
        return f"the reply {'matches' if negated else 'does not match'} " + ", ".join(
            repr(w) for w in wrong
        )

    return check


def _json_reply(result: TurnResult) -> tuple[bool, Json, str]:
    try:
        return True, json.loads(result.reply.strip()), ""
    except ValueError as exc:
        return False, None, str(exc)


def check_json(value: Json, result: TurnResult, ctx: Context) -> str | None:
    ok, _, why = _json_reply(result)
    if value and not ok:
        return f"the reply is not JSON ({why})"
    if not value and ok:
        return "the reply is JSON, and the script expects it not to be"
    return None


def _schema_errors(schema: Json, instance: Json) -> list[str]:
    from jsonschema import Draft202012Validator

    return [
        f"{e.message} at {'/'.join(map(str, e.absolute_path)) or 'the top'}"
        for e in Draft202012Validator(schema).iter_errors(instance)
    ]


def check_json_schema(value: Json, result: TurnResult, ctx: Context) -> str | None:
    ok, data, why = _json_reply(result)
    if not ok:
        return f"the reply is not JSON ({why})"
    errors = _schema_errors(value, data)
    return f"the reply does not match the schema: {'; '.join(errors)}" if errors else None


def _subset(want: Json, got: Json) -> bool:
    if isinstance(want, Mapping):
        return isinstance(got, Mapping) and all(
            k in got and _subset(v, got[k]) for k, v in want.items()
        )
    return bool(want == got)


def _fits(spec: Mapping[str, Json], call: ToolCall) -> bool:
    if call.name != spec["name"]:
        return False
    if "arguments" in spec and not _subset(spec["arguments"], call.arguments):
        return False
    return not (
        "arguments_schema" in spec and _schema_errors(spec["arguments_schema"], call.arguments)
    )


def _describe_calls(calls: list[ToolCall]) -> str:
    if not calls:
        return "no tool calls were made"
    return "the calls were: " + ", ".join(
        f"{c.name}({c.raw_arguments})" if c.type == "function" else c.name for c in calls
    )


def check_tool_calls(value: Json, result: TurnResult, ctx: Context) -> str | None:
    ordered = bool(ctx.expect.get("tool_calls_ordered"))
    pending = list(result.tool_calls)
    for spec in value:
        found = next((i for i, c in enumerate(pending) if _fits(spec, c)), None)
        if found is None:
            where = " after the earlier expected calls" if ordered else ""
            return (
                f"no call {spec['name']} matching {json.dumps({k: v for k, v in spec.items() if k != 'name'})}"
                f"{where}; {_describe_calls(result.tool_calls)}"
            )
        pending = pending[found + 1 :] if ordered else pending[:found] + pending[found + 1 :]
    return None


def check_count(value: Json, result: TurnResult, ctx: Context) -> str | None:
    if isinstance(value, int):
        got = len(result.tool_calls)
        return (
            None
            if got == value
            else f"{got} tool call(s), expected {value}; {_describe_calls(result.tool_calls)}"
        )
    wrong = [
        f"{name}: {n} call(s), expected {want}"
        for name, want in value.items()
        if (n := sum(c.name == name for c in result.tool_calls)) != want
    ]
    return "; ".join(wrong) or None


def check_no_tool_calls(value: Json, result: TurnResult, ctx: Context) -> str | None:
    return (
        _describe_calls(result.tool_calls).replace("the calls were", "expected no tool calls, got")
        if result.tool_calls
        else None
    )


def check_code_interpreter(value: Json, result: TurnResult, ctx: Context) -> str | None:
    used = any(c.type == "code_interpreter" for c in result.tool_calls)
    if used == bool(value):
        return None
    return "code_interpreter was not used" if value else "code_interpreter was used"


def check_citations(value: Json, result: TurnResult, ctx: Context) -> str | None:
    cited = [c.path for c in result.citations]
    if value is True:
        return None if cited else "the reply cites no file"
    if value is False:
        return f"the reply cites {', '.join(cited)}" if cited else None
    names = {p for path in cited for p in (path, path.rsplit("/", 1)[-1])}
    missing = [f for f in value if f not in names]
    if not missing:
        return None
    return f"no citation of {', '.join(missing)}; cited: {', '.join(cited) or 'nothing'}"


def check_status(value: Json, result: TurnResult, ctx: Context) -> str | None:
    if result.status == value:
        return None
    return (
        f"the run ended {result.status}"
        + (f" ({result.error})" if result.error else "")
        + f", expected {value}"
    )


def check_max_tokens(value: Json, result: TurnResult, ctx: Context) -> str | None:
    budget = {"total": value} if isinstance(value, int) else value
    over = [
        f"{kind} tokens {used} > {limit}"
        for kind, limit in budget.items()
        if (used := result.usage.get(f"{kind}_tokens", 0)) > limit
    ]
    return "over the token budget: " + ", ".join(over) if over else None


def check_max_latency(value: Json, result: TurnResult, ctx: Context) -> str | None:
    return None if result.latency <= value else f"the turn took {result.latency:.2f} s > {value} s"


def check_predicate(value: Json, result: TurnResult, ctx: Context) -> str | None:
    for spec in _many(value):
        try:
            verdict = load_callable(spec)(result)
        except AssertionError as exc:
            return f"{spec}: {exc}" if str(exc) else f"{spec} failed an assertion"
        except StubError as exc:
            return str(exc)
        if verdict is False or isinstance(verdict, str):
            return f"{spec}: {verdict}" if isinstance(verdict, str) else f"{spec} returned False"
    return None


def check_function_schemas(value: Json, result: TurnResult, ctx: Context) -> str | None:
    """Implicit: every function call's arguments fit the deployed function's schema."""
    problems = []
    for call in result.function_calls():
        schema = ctx.functions.get(call.name)
        if schema is None:
            problems.append(f"{call.name} is not a function of the deployed assistant")
        elif call.arguments is None:
            problems.append(
                f"{call.name} was called with arguments that are not JSON: {call.raw_arguments!r}"
            )
        else:
            problems += [f"{call.name}: {e}" for e in _schema_errors(schema, call.arguments)]
    return "arguments do not fit the deployed schema: " + "; ".join(problems) if problems else None


def rubric_options(value: Json) -> tuple[str, float | None, bool]:
    """(rubric, threshold or None, include_tool_calls) of a `rubric:` expectation."""
    if isinstance(value, str):
        return value, None, False
    threshold = value.get("threshold")
    return (
        str(value["rubric"]),
        None if threshold is None else float(threshold),
        bool(value.get("include_tool_calls")),
    )


def check_rubric(value: Json, result: TurnResult, ctx: Context) -> str | None:
    """The grader's verdict: its `pass`, or with a threshold its score against it."""
    if ctx.grader is None:
        return "no grader to ask (the turn was not graded)"
    rubric, threshold, tools = rubric_options(value)
    verdict = ctx.grader.rubric(rubric, result, tools)
    passed = verdict.passed if threshold is None else verdict.score >= threshold
    bound = "" if threshold is None else (" >= " if passed else " < ") + f"{threshold:g}"
    ctx.details["rubric"] = f"score {verdict.score:.2f}{bound}: {verdict.reason}"
    if passed:
        return None
    why = "the grader failed the turn" if threshold is None else "the grader's score is too low"
    return f"{why} (score {verdict.score:.2f}{bound}): {verdict.reason}"


def check_similar(value: Json, result: TurnResult, ctx: Context) -> str | None:
    if ctx.grader is None:
        return "no grader to ask (the turn was not graded)"
    threshold = float(value.get("threshold", DEFAULT_SIMILARITY))
    score = ctx.grader.similarity(result.reply, str(value["to"]))
    ctx.details["similar"] = f"similarity {score:.3f} (threshold {threshold:g})"
    if score >= threshold:
        return None
    return f"the reply is not similar enough to {value['to']!r}: similarity {score:.3f} < {threshold:g}"


def _noop(value: Json, result: TurnResult, ctx: Context) -> str | None:
    return None


CHECKERS: dict[str, Checker] = {
    "contains": _text_check(lambda r, v: v in r, "does not contain"),
    "icontains": _text_check(
        lambda r, v: v.casefold() in r.casefold(), "does not contain (ignoring case)"
    ),
    "regex": _regex_check(negated=False),
    "equals": _text_check(lambda r, v: r.strip() == v.strip(), "is not"),
    "not_contains": _text_check(lambda r, v: v not in r, "contains"),
    "not_icontains": _text_check(
        lambda r, v: v.casefold() not in r.casefold(), "contains (ignoring case)"
    ),
    "not_regex": _regex_check(negated=True),
    "not_equals": _text_check(lambda r, v: r.strip() != v.strip(), "is"),
    "json": check_json,
    "json_schema": check_json_schema,
    "tool_calls": check_tool_calls,
    "tool_calls_ordered": _noop,  # an option of tool_calls
    "tool_call_count": check_count,
    "no_tool_calls": check_no_tool_calls,
    "code_interpreter": check_code_interpreter,
    "citations": check_citations,
    "status": check_status,
    "max_tokens": check_max_tokens,
    "max_latency": check_max_latency,
    "predicate": check_predicate,
    "rubric": check_rubric,
    "similar": check_similar,
    "function arguments": check_function_schemas,  # implicit, never written in a script
}


def check_turn(
    turn: Turn,
    result: TurnResult,
    functions: Mapping[str, Json],
    *,
    timeout: float = 60.0,
    not_applicable: Mapping[str, str] | None = None,
    api: str = "assistants",
    grader: Grader | None = None,
) -> tuple[list[Failure], list[Failure]]:
    """(failures, not applicable): every expectation of `turn` that `result` fails, plus the
    implicit ones (the run completed unless `status` says otherwise; function arguments fit
    their schemas); and every expectation the target's API generation cannot give a verdict
    on (`not_applicable`: kind -> why), never counted as passed. `timeout` (the turn's)
    bounds each regex."""
    checks = evaluate(
        turn,
        result,
        functions,
        timeout=timeout,
        not_applicable=not_applicable,
        api=api,
        grader=grader,
    )
    return failures_of(checks), [
        Failure(c.kind, c.location, c.message) for c in checks if c.verdict == "n/a"
    ]


def failures_of(checks: list[Check]) -> list[Failure]:
    return [Failure(c.kind, c.location, c.message) for c in checks if c.verdict == "fail"]


def evaluate(
    turn: Turn,
    result: TurnResult,
    functions: Mapping[str, Json],
    *,
    timeout: float = 60.0,
    not_applicable: Mapping[str, str] | None = None,
    api: str = "assistants",
    grader: Grader | None = None,
    graded: bool = True,
) -> list[Check]:
    """Every expectation's verdict on `result` (the implicit ones first), as check_turn
    decides them; `graded` False leaves the graded expectations out (nothing is asked)."""
    expect = {e.kind: e.value for e in turn.expect}
    ctx = Context(expect, functions, timeout, grader)
    implicit = [Expectation("function arguments", None, turn.location)]
    if "status" not in expect:
        implicit.append(Expectation("status", "completed", turn.location))
    checks = []
    for expectation in [*implicit, *turn.expect]:
        if expectation.kind in GRADED and not graded:
            continue
        why = (not_applicable or {}).get(expectation.kind)
        if why is not None:
            checks.append(
                Check(
                    expectation.kind,
                    expectation.location,
                    "n/a",
                    f"not applicable on {api}: {why}",
                )
            )
            continue
        message = CHECKERS[expectation.kind](expectation.value, result, ctx)
        checks.append(
            Check(
                expectation.kind,
                expectation.location,
                "fail" if message else "pass",
                message or "",
                ctx.details.get(expectation.kind, ""),
            )
        )
    return checks
