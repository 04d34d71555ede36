"""A turn decided on its own: the steps each API surface renders, and the follow-up."""

from __future__ import annotations

from typing import Any

from asst_deploy.sandbox.model import Reply, Rule, ScriptedModel, Turn
from asst_deploy.sandbox.turns import (
    Answered,
    Broken,
    Call,
    CodeStep,
    Ended,
    FileSearch,
    FunctionCalls,
    Lacks,
    Offer,
    decide,
    follow_up,
    with_outputs,
)

ASSISTANT = {"id": "asst_1", "name": "Helper"}
EVERYTHING = Offer(
    functions={"get_weather"}, tool_types={"function", "code_interpreter"}, search=lambda q: []
)


def _turn(message: str, **rule: Any) -> Turn:
    return ScriptedModel([Rule.from_dict({"match": "", **rule})]).turn(message, ASSISTANT)


def _result(text: str) -> dict[str, Any]:
    return {
        "file_id": "file-a",
        "filename": "a.txt",
        "score": 1.0,
        "attributes": {"k": "v"},
        "content": [{"type": "text", "text": text}],
    }


def test_no_rule_replies() -> None:
    steps = decide(ScriptedModel().turn("hi", ASSISTANT), EVERYTHING)
    assert steps == [Reply("[sandbox] no rule matched: hi", [])]


def test_function_calls_are_rendered_and_wait() -> None:
    turn = _turn("Oslo", function_calls=[{"name": "get_weather", "arguments": {"c": "{message}"}}])
    assert decide(turn, EVERYTHING) == [FunctionCalls((Call("get_weather", '{"c":"Oslo"}'),))]


def test_the_rule_ends_the_turn() -> None:
    assert decide(_turn("x", status="expired"), EVERYTHING) == [Ended("expired", None)]
    ended = decide(_turn("x", status="session_failed", error="Down."), EVERYTHING)
    assert ended == [Ended("failed", "Down.", session=True)]


def test_a_tool_the_surface_lacks_fails() -> None:
    turn = _turn("x", function_calls=[{"name": "other"}])
    assert decide(turn, EVERYTHING) == [Lacks("function 'other'")]
    assert decide(_turn("x", file_search=True), EVERYTHING) == [Lacks("file_search")]


def test_unchecked_functions_and_no_search_at_all() -> None:
    session = Offer(functions=None, tool_types=())
    assert isinstance(
        decide(_turn("x", function_calls=[{"name": "any"}]), session)[0], FunctionCalls
    )
    # no file search to refuse it with: the rule's search is passed over
    assert decide(_turn("x", file_search=True, reply="ok"), session) == [Reply("ok", [])]


def test_code_then_reply_and_the_budget_they_share() -> None:
    turn = _turn("x", code_interpreter={"input": "one two", "logs": "3"}, reply="a b c d")
    steps = decide(turn, EVERYTHING, max_tokens=4)
    assert steps == [CodeStep("one two", "3"), Reply("a b", [], "incomplete")]
    hidden = Offer(functions=(), tool_types={"code_interpreter"}, code_logs=False)
    assert decide(turn, hidden)[0] == CodeStep("one two", None)


def test_file_search_hits_are_cited() -> None:
    offer = Offer(functions=(), tool_types={"file_search"}, search=lambda q: [_result(q)])
    search, reply = decide(_turn("refund", file_search=True, reply="{query}: {quote}"), offer)
    assert isinstance(search, FileSearch) and search.query == "refund"
    assert search.hits[0].attributes == {"k": "v"}
    assert isinstance(reply, Reply) and reply.body == "refund: refund"
    assert reply.cited == search.hits and len(reply.annotations) == 1


def test_a_broken_template_keeps_the_whole_steps_and_counts_the_broken_one() -> None:
    turn = _turn("x", code_interpreter={"input": "one two"}, reply="{nope}")
    code, broken = decide(turn, EVERYTHING)
    assert code == CodeStep("one two", None)
    assert isinstance(broken, Broken) and broken.spent == 0
    calls = [
        {"name": "get_weather", "arguments": "a b"},
        {"name": "get_weather", "arguments": "{x}"},
    ]
    [broken] = decide(_turn("x", function_calls=calls), EVERYTHING)
    assert isinstance(broken, Broken) and broken.spent == 2


def test_follow_up_uses_the_outputs() -> None:
    turn = _turn("x", reply="{outputs[f]} {arguments[call_1][a]}")
    values = with_outputs(turn.values, [Answered("call_1", "f", '{"a": "b"}', "out")])
    assert values["arguments"]["f"] == {"a": "b"}
    assert follow_up(Turn(turn.rule, values)) == [Reply("out b", [])]
    [broken] = follow_up(turn)
    assert isinstance(broken, Broken) and "{outputs[f]}" in broken.error
