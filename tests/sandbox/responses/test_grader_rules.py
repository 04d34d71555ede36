"""Grading requests (asst_deploy/grading.py) answered by the sandbox's grader rules: a
verdict as structured output, ordinary rules never answering one, and the default grade."""

from __future__ import annotations

import json

import openai
import pytest

from asst_deploy import grading
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.model import RuleError, ScriptedModel


def _grade(client: openai.OpenAI, rubric: str, reply: str) -> dict[str, object]:
    response = client.responses.create(
        model="gpt-5.4-mini",
        instructions=grading.INSTRUCTIONS,
        input=[{"role": "user", "content": grading.grader_input(rubric, "hi", reply)}],
        text={"format": grading.text_format()},  # type: ignore[typeddict-item]
    )
    assert response.status == "completed"
    assert response.usage is not None and response.usage.output_tokens > 0
    found = json.loads(response.output_text)
    grading.parse_verdict(response.output_text)  # a verdict the harness can read
    return dict(found)


@pytest.fixture
def graded(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> ScriptedModel:
    model = ScriptedModel(step_delay=0)
    model.add_rule(reply="an ordinary rule never answers a grader")
    model.add_rule(
        rubric="(?i)14-day",
        match=r"(?i)(?P<days>\d+) days",
        verdict={"pass": False, "score": 0.2, "reason": "It says {match[days]} days, not 14."},
    )
    model.add_rule(rubric="(?i)politely", verdict={"pass": True, "score": 0.9, "reason": "Polite."})
    monkeypatch.setattr(sandbox, "model", model)
    return model


def test_a_grader_rule_gives_its_verdict_templated(client: openai.OpenAI, graded: object) -> None:
    verdict = _grade(client, "Names the 14-day limit", "You have 30 days to return it.")
    assert verdict == {"pass": False, "score": 0.2, "reason": "It says 30 days, not 14."}
    # the rule's `match` is on the reply: another reply falls through to the next rule
    assert _grade(client, "Answers politely", "Sure, happy to help!")["pass"] is True


def test_without_a_grader_rule_the_reply_is_scored_by_the_rubrics_words(
    client: openai.OpenAI, graded: object
) -> None:
    verdict = _grade(
        client, "Says the capital of France is Paris", "Paris is the capital of France."
    )
    assert verdict["pass"] is True and verdict["score"] == 0.75
    assert "no grader rule matched" in str(verdict["reason"])
    assert _grade(client, "Says the capital of France is Paris", "I like trains.")["pass"] is False


def test_ordinary_requests_never_meet_grader_rules(client: openai.OpenAI, graded: object) -> None:
    answer = client.responses.create(model="gpt-5.4-mini", input="Names the 14-day limit: 3 days")
    assert answer.output_text == "an ordinary rule never answers a grader"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"rubric": "x"}, "gives a `verdict:` mapping"),
        ({"rubric": "x", "verdict": {"score": 1}}, "pass: true"),
        ({"rubric": "x", "verdict": {"pass": True, "score": 2}}, "from 0 to 1"),
        ({"rubric": "x", "verdict": {"pass": True, "why": "?"}}, "unknown verdict keys: why"),
        ({"rubric": "x", "verdict": {"pass": True}, "reply": "hi"}, "only rubric, match"),
    ],
)
def test_malformed_grader_rules_are_refused(rule: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        ScriptedModel().add_rule(**rule)  # type: ignore[arg-type]
