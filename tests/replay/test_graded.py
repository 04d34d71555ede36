"""Graded expectations (rubric:, similar:) through the sandbox's grader rules and embeddings:
live verdicts with the grader's reason, recorded and replayed offline, stale on a change."""

from __future__ import annotations

import pytest
import yaml

from tests.replay.conftest import Conv

GRADER_RULES = r"""
  - rubric: '(?i)greets'
    match: '(?i)hello'
    verdict: {pass: true, score: 0.9, reason: "It greets with '{match[0]}'."}
  - rubric: '(?i)weather'
    verdict: {pass: false, score: 0.1, reason: "It says nothing of the weather."}
"""

SCRIPT = """
assistant: bot
conversations:
  - name: graded
    turns:
      - user: hi
        expect:
          rubric: Greets the user
          similar: {to: "Hello there! You said: hi!", threshold: 0.9}
  - name: weather
    turns:
      - user: hi
        expect:
          rubric: {rubric: Talks about the weather, include_tool_calls: true}
"""


@pytest.fixture
def graded(conv: Conv) -> Conv:
    rules = conv.path / "rules.yaml"
    # grader rules first: ordinary rules never answer a grader, whatever their order
    rules.write_text(rules.read_text().replace("rules:\n", "rules:" + GRADER_RULES, 1))
    conv.script("tour", SCRIPT)
    return conv


def test_a_rubric_fails_with_the_graders_reason_and_similar_scores(graded: Conv) -> None:
    result = graded.run("--asst-mode", "live")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*tour.conv.yaml:*: conversation 'weather', turn 1, expectation 'rubric': the "
            "grader failed the turn (score 0.10): It says nothing of the weather.",
        ]
    )


def test_similar_fails_below_its_threshold(graded: Conv) -> None:
    graded.script(
        "tour",
        """
        assistant: bot
        conversations:
          - name: far
            turns:
              - user: hi
                expect: {similar: {to: "The capital of France is Paris."}}
        """,
    )
    result = graded.run("--asst-mode", "live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*expectation 'similar': the reply is not similar enough to 'The capital of France "
         "is Paris.': similarity *< 0.8"]
    )  # fmt: skip


def test_a_threshold_judges_the_score(graded: Conv) -> None:
    graded.script(
        "tour",
        """
        assistant: bot
        conversations:
          - name: strict
            turns:
              - user: hi
                expect: {rubric: {rubric: Greets the user, threshold: 0.95}}
        """,
    )
    result = graded.run("--asst-mode", "live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the grader's score is too low (score 0.90 < 0.95): It greets with 'Hello'."]
    )


def test_grades_are_recorded_replayed_offline_and_stale_when_the_rubric_changes(
    graded: Conv,
) -> None:
    graded.run("--asst-mode", "record", "-k", "graded").assert_outcomes(passed=1, deselected=1)
    tape = graded.path / "conversations" / "cassettes" / "tour" / "graded.yaml"
    recorded = yaml.safe_load(tape.read_text())
    paths = [i["request"]["uri"] for i in recorded["interactions"]]
    assert "https://assistants.invalid/v1/responses" in paths  # the grade
    assert "https://assistants.invalid/v1/embeddings" in paths  # the similarity
    stamp = recorded["metadata"]["asst_deploy"]["grader"]
    assert (stamp["model"], stamp["embedding_model"], stamp["endpoint"]) == (
        "gpt-5.4-mini",
        "text-embedding-3-small",
        "(the conversation's target)",
    )
    graded.run("--asst-mode", "replay", "-k", "graded").assert_outcomes(passed=1, deselected=1)

    script = graded.path / "conversations" / "tour.conv.yaml"
    script.write_text(script.read_text().replace("Greets the user", "Greets the user warmly"))
    result = graded.run("--asst-mode", "replay", "-k", "graded")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["*turn 1: cassette conversations/cassettes/tour/graded.yaml is stale: it holds no "
         "grade for this turn as the script now asks it (the rubric, the reply or the grader's "
         "configuration changed since it was recorded); re-record it with --asst-mode record"]
    )  # fmt: skip


def test_a_cassette_graded_by_another_grader_is_stale(graded: Conv) -> None:
    graded.run("--asst-mode", "record", "-k", "graded").assert_outcomes(passed=1, deselected=1)
    project = graded.path / "asst-deploy.yaml"
    project.write_text(project.read_text() + "replay:\n  grader: {model: gpt-5.4}\n")
    result = graded.run("--asst-mode", "replay", "-k", "graded")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["*is stale: its grades were given by gpt-5.4-mini (embeddings: text-embedding-3-small)"
         " on target '(the conversation's target)', prompt *, and the project's grader is now "
         "gpt-5.4 *"]
    )  # fmt: skip


def test_tool_calls_go_to_the_grader_when_asked(graded: Conv) -> None:
    graded.script(
        "tour",
        """
        assistant: bot
        functions: {get_weather: {output: {temp: 18}}}
        conversations:
          - name: weather
            turns:
              - user: weather in Oslo
                expect: {rubric: {rubric: Greets, include_tool_calls: true}}
        """,
    )
    graded.run("--asst-mode", "record").assert_outcomes(failed=1)
    tape = graded.path / "conversations" / "cassettes" / "tour" / "weather.yaml"
    grades = [
        i["request"]["json"]
        for i in yaml.safe_load(tape.read_text())["interactions"]
        if i["request"]["uri"].endswith("/responses")
    ]
    [message] = grades[0]["input"]
    assert "<tool_calls>" in message["content"] and '"name": "get_weather"' in message["content"]
    assert '"output": "{\\"temp\\": 18}"' in message["content"]
