"""The scripted model on its own: rule files, matching, templates, tokens, citations."""

from __future__ import annotations

from pathlib import Path

import pytest

from asst_deploy.sandbox.model import (
    Hit,
    Rule,
    RuleError,
    RuleTemplateError,
    ScriptedModel,
    chunks,
    render,
    reply_for,
    tokens,
    truncate,
)

ASSISTANT = {"id": "asst_1", "name": "Helper"}

RULES = r"""
rules:
  - match: '(?i)weather in (?P<city>\w+)'
    assistant: Helper
    function_calls:
      - name: get_weather
        arguments: {city: "{match[city]}", units: metric}
    reply: "{outputs[get_weather]} in {arguments[get_weather][city]}"
  - match: 'solve (\d+)'
    code_interpreter: {input: "print({match[1]})", logs: "{match[1]}"}
  - match: "docs"
    file_search: true
  - match: "break"
    status: failed
    error: Broken.
"""


@pytest.fixture
def model(tmp_path: Path) -> ScriptedModel:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return ScriptedModel.from_file(path)


def test_rules_load_from_yaml(model: ScriptedModel) -> None:
    weather, solve, docs, broken = model.rules
    assert weather.function_calls[0].name == "get_weather"
    assert solve.code_interpreter is not None and solve.code_interpreter.logs == "{match[1]}"
    assert docs.file_search == "{message}"
    assert (broken.status, broken.error) == ("failed", "Broken.")
    assert Rule.from_dict(weather.to_dict()) == weather


def test_first_match_wins_and_assistant_filter(model: ScriptedModel) -> None:
    turn = model.turn("Weather in Rome please", ASSISTANT)
    assert turn.rule is model.rules[0]
    assert turn.values["match"]["city"] == "Rome"
    assert model.rules[0].function_calls[0].render_arguments(turn.values) == (
        '{"city":"Rome","units":"metric"}'
    )
    other = model.turn("Weather in Rome please", {"id": "asst_2", "name": "Other"})
    assert other.rule is None
    model.add_rule("(?i)weather", reply="catch-all")
    assert model.turn("weather", {"id": "asst_2"}).rule is model.rules[-1]


def test_reply_without_rule_is_deterministic(model: ScriptedModel) -> None:
    reply = reply_for(model.turn("Anything?", ASSISTANT))
    assert (reply.text, reply.annotations, reply.status) == (
        "[sandbox] no rule matched: Anything?",
        [],
        "completed",
    )


def test_reply_uses_tool_outputs(model: ScriptedModel) -> None:
    turn = model.turn("weather in Oslo", ASSISTANT)
    turn.values["outputs"] = {"get_weather": "Snow"}
    turn.values["arguments"] = {"get_weather": {"city": "Oslo"}}
    assert reply_for(turn).text == "Snow in Oslo"


def test_citations_point_at_their_markers() -> None:
    turn = ScriptedModel([Rule(match="", reply="Found: {quote}")]).turn("q", ASSISTANT)
    hits = [Hit("file-a", "a.txt", "Alpha.", 1.0), Hit("file-b", "b.txt", "Beta.", 0.5)]
    reply = reply_for(turn, hits=hits)
    assert reply.text == "Found: Alpha.【0:0†a.txt】【0:1†b.txt】"
    for note, hit in zip(reply.annotations, hits, strict=True):
        assert reply.text[note["start_index"] : note["end_index"]] == note["text"]
        assert note["file_citation"] == {"file_id": hit.file_id}
    nothing = reply_for(ScriptedModel([Rule(file_search="x")]).turn("q", ASSISTANT), hits=[])
    assert nothing.text == "[sandbox] file_search found nothing for: "


def test_max_tokens_truncates_and_marks_incomplete() -> None:
    turn = ScriptedModel([Rule(reply="a b c d e")]).turn("", ASSISTANT)
    reply = reply_for(turn, max_tokens=2)
    assert (reply.text, reply.status) == ("a b", "incomplete")
    assert reply_for(ScriptedModel([Rule(status="incomplete")]).turn("", ASSISTANT)).status == (
        "incomplete"
    )


def test_templates_are_safe() -> None:
    assert render("{match[1]}-{match[x]}", {"match": {"1": "one", "x": "ex"}}) == "one-ex"
    with pytest.raises(RuleTemplateError, match="only names"):
        render("{message.__class__}", {"message": "hi"})
    with pytest.raises(RuleTemplateError, match="unknown template field"):
        render("{outputs[nope]}", {"outputs": {}})
    with pytest.raises(RuleTemplateError):
        render("{unclosed", {})


def test_tokens_chunks_truncate() -> None:
    assert tokens("Hello, world!") == 4
    assert chunks("The solution is 42.") == ["The", " solution", " is", " 42."]
    assert "".join(chunks("  padded  ")) == "  padded  "
    assert chunks("") == []
    assert truncate("one, two three", 3) == "one, two"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"match": "("}, "invalid regex"),
        ({"status": "done"}, "status must be one of"),
        ({"reply": "x", "colour": "red"}, "unknown rule keys: colour"),
        ({"function_calls": [{"arguments": {}}]}, "malformed rule"),
        (
            {"function_calls": [{"name": "f"}], "code_interpreter": {"input": ""}},
            "at most one of",
        ),
    ],
)
def test_bad_rules_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        Rule.from_dict(raw)


def test_a_rules_file_must_hold_a_list(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("rules: {match: x}\n")
    with pytest.raises(RuleError, match="expected a list of rules"):
        ScriptedModel.from_file(path)
