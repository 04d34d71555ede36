"""Hostile or broken conversation scripts: refused at load with a location, or bounded in time."""

from __future__ import annotations

from tests.replay.conftest import Conv


def test_a_pathological_regex_and_an_invalid_schema_are_load_errors(conv: Conv) -> None:
    conv.script(
        "bad",
        """
        assistant: bot
        conversations:
          - name: a
            turns:
              - user: hi
                expect:
                  regex: '^(a+)+$'
                  json_schema: {type: objekt}
              - user: weather in Paris
                expect:
                  tool_calls: [{name: get_weather, arguments_schema: {required: city}}]
        """,
    )
    result = conv.run("--asst-mode", "live")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*conversations/bad.conv.yaml:7:18: regex '^(a+)+$' repeats a group that itself "
            "repeats*(drop the outer repetition, or make the inner one possessive*",
            "*conversations/bad.conv.yaml:8:24: invalid JSON Schema: 'objekt' is not valid under "
            "any of the given schemas at type*",
            "*conversations/bad.conv.yaml:11:62: invalid JSON Schema: 'city' is not of type "
            "'array' at required*",
        ]
    )


def test_a_slow_regex_expectation_is_bounded_by_the_turns_timeout(conv: Conv) -> None:
    # (a|aa)+$ backtracks exponentially with no nested quantifier to refuse; on this reply
    # `re` took 8 s and more, whatever the turn's timeout said
    conv.script(
        "slow",
        f"""
        assistant: bot
        timeout: 2
        conversations:
          - name: slow
            turns:
              - user: {"a" * 34}b
                expect: {{regex: '(a|aa)+$'}}
        """,
    )
    result = conv.run("--asst-mode", "live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expectation 'regex': matching the regex '(a|aa)+$' took longer than 2 s "
            "(the turn's timeout); simplify the pattern*"
        ]
    )
