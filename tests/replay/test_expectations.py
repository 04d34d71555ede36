"""Every expectation kind, shown to pass and to fail with a message naming where and why."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.replay.conftest import Conv

# kind -> (user message, expectation that holds, expectation that fails, failure wording)
CASES: dict[str, tuple[str, str, str, str]] = {
    "contains": (
        "hi",
        "contains: Hello",
        "contains: Goodbye",
        "the reply does not contain 'Goodbye'",
    ),
    "icontains": (
        "hi",
        "icontains: hello THERE",
        "icontains: farewell",
        "does not contain (ignoring case) 'farewell'",
    ),
    "regex": (
        "hi",
        r"regex: 'You said: \w+'",
        r"regex: '^\d+$'",
        "the reply does not match '^\\\\d+$'",
    ),
    "equals": (
        "hi",
        "equals: 'Hello there! You said: hi'",
        "equals: Hello",
        "the reply is not 'Hello'",
    ),
    "not_contains": (
        "hi",
        "not_contains: Goodbye",
        "not_contains: [Hello]",
        "the reply contains 'Hello'",
    ),
    "not_icontains": (
        "hi",
        "not_icontains: bye",
        "not_icontains: HELLO",
        "the reply contains (ignoring case) 'HELLO'",
    ),
    "not_regex": ("hi", r"not_regex: '^\d'", "not_regex: Hel+o", "the reply matches 'Hel+o'"),
    "not_equals": (
        "hi",
        "not_equals: x",
        "not_equals: 'Hello there! You said: hi'",
        "the reply is 'Hello there!",
    ),
    "json": (
        "json please",
        "json: true",
        "json: false",
        "the reply is JSON, and the script expects it not to be",
    ),
    "json_schema": (
        "json please",
        "json_schema: {type: object, properties: {answer: {type: integer}}, required: [answer]}",
        "json_schema: {properties: {answer: {type: string}}}",
        "the reply does not match the schema: 42 is not of type 'string' at answer",
    ),
    "tool_calls": (
        "weather in Paris",
        "tool_calls: [{name: get_weather, arguments: {city: Paris}}]",
        "tool_calls: [{name: get_weather, arguments: {city: Rome}}]",
        'no call get_weather matching {"arguments": {"city": "Rome"}}; the calls were: get_weather({"city":"Paris"})',
    ),
    "arguments_schema": (
        "weather in Paris",
        "tool_calls: [{name: get_weather, arguments_schema: {properties: {city: {const: Paris}}}}]",
        "tool_calls: [{name: get_weather, arguments_schema: {properties: {city: {const: Rome}}}}]",
        "no call get_weather matching",
    ),
    "tool_calls_ordered": (
        "weather and time in Oslo",
        "{tool_calls: [{name: get_weather}, {name: get_time}], tool_calls_ordered: true}",
        "{tool_calls: [{name: get_time}, {name: get_weather}], tool_calls_ordered: true}",
        "no call get_weather matching {} after the earlier expected calls",
    ),
    "tool_call_count": (
        "weather and time in Oslo",
        "tool_call_count: 2",
        "tool_call_count: {get_weather: 2}",
        "get_weather: 1 call(s), expected 2",
    ),
    "no_tool_calls": (
        "weather in Paris",
        "not_contains: zzz",
        "no_tool_calls: true",
        "expected no tool calls, got: get_weather",
    ),
    "code_interpreter": (
        "compute it",
        "code_interpreter: true",
        "code_interpreter: false",
        "code_interpreter was used",
    ),
    "citations": (
        "Are refunds possible?",
        "citations: [knowledge/policy.md]",
        "citations: [other.md]",
        "no citation of other.md; cited: knowledge/policy.md",
    ),
    "status": (
        "break it",
        "status: failed",
        "status: completed",
        "the run ended failed (The model broke.), expected completed",
    ),
    "implicit_status": (
        "break it",
        "status: failed",
        "contains: x",
        "expectation 'status': the run ended failed",
    ),
    "max_tokens": (
        "hi",
        "max_tokens: {total: 1000, prompt: 1000}",
        "max_tokens: 2",
        "over the token budget: total tokens",
    ),
    "max_latency": ("hi", "max_latency: 60", "max_latency: 0.000001", "the turn took"),
    "predicate": (
        "hi",
        "predicate: helpers:polite",
        "predicate: [helpers:polite, helpers:short]",
        "helpers:short: the reply has 5 words",
    ),
    "function_schema": ("weather in Paris", "contains: Weather", "contains: Weather", ""),
}
FUNCTIONS = """
functions:
  get_weather: {output: {temp: 18}}
  get_time: {template: "noon in {arguments[city]}"}
"""
HELPERS = """
def polite(result):
    return "Hello" in result.reply

def short(result):
    words = len(result.reply.split())
    return None if words < 3 else f"the reply has {words} words"
"""


def _script() -> str:
    lines = ["assistant: bot", FUNCTIONS.strip(), "conversations:"]
    for kind, (user, good, bad, _) in CASES.items():
        for outcome, expectation in (("pass", good), ("fail", bad)):
            expect = expectation if expectation.startswith("{") else "{" + expectation + "}"
            lines += [
                f"  - name: {outcome}-{kind}",
                "    turns:",
                f"      - user: {user}",
                f"        expect: {expect}",
            ]
    # the deployed schema is checked even where the script expects nothing about it
    lines += [
        "  - name: fail-deployed-schema",
        "    turns:",
        "      - user: bad args",
    ]
    return "\n".join(lines) + "\n"


def test_each_expectation_kind_passes_and_fails_with_its_message(conv: Conv) -> None:
    CASES.pop("function_schema", None)
    conv.pytester.makepyfile(helpers=HELPERS)
    conv.pytester.syspathinsert()
    script = conv.script("kinds", _script())
    result = conv.run("--asst-mode", "live", "--junitxml", "report.xml")
    cases = {
        c.get("name"): c for c in ET.parse(conv.path / "report.xml").getroot().iter("testcase")
    }
    for kind, (*_, wording) in CASES.items():
        assert cases[f"pass-{kind}"].find("failure") is None, (
            kind,
            ET.tostring(cases[f"pass-{kind}"]),
        )
        failure = cases[f"fail-{kind}"].find("failure")
        assert failure is not None, kind
        text = failure.get("message", "") + (failure.text or "")
        assert wording in text, (kind, text)
        # the message names the script, the conversation, the turn and the expectation
        assert f"conversation 'fail-{kind}', turn 1, expectation '" in text, text
        assert "conversations/kinds.conv.yaml:" in text
        assert "transcript of turn 1:" in text and "  user: " in text
    schema = cases["fail-deployed-schema"].find("failure")
    assert schema is not None
    assert "expectation 'function arguments': arguments do not fit the deployed schema" in (
        schema.text or ""
    )
    outcomes = result.parseoutcomes()
    assert outcomes == {"passed": len(CASES), "failed": len(CASES) + 1}, outcomes
    assert script.is_file()


def test_function_stubs_output_template_callable_and_error(conv: Conv) -> None:
    conv.pytester.makepyfile(
        stubs_mod="def weather(name, args):\n    return {'via': name, **args}\n"
    )
    conv.pytester.syspathinsert()
    conv.script(
        "stubs",
        """
        assistant: bot
        conversations:
          - name: fixed-and-template
            functions: {get_weather: {output: sunny}, get_time: {template: "noon in {arguments[city]}"}}
            turns:
              - user: weather and time in Oslo
                expect: {equals: "sunny / noon in Oslo", tool_call_count: 2}
          - name: callable
            turns:
              - user: weather in Rome
                functions: {get_weather: {call: "stubs_mod:weather"}}
                expect: {contains: '{"via": "get_weather", "city": "Rome"}'}
          - name: error
            turns:
              - user: weather in Rome
                functions: {get_weather: {error: service down}}
                expect: {contains: '{"error": "service down"}'}
          - name: unscripted
            turns:
              - user: weather in Rome
        """,
    )
    result = conv.run("--asst-mode", "live")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            '*conversation \'unscripted\', turn 1: the assistant called get_weather({"city":"Rome"}) '
            "but the turn scripts no output for it*"
        ]
    )


def test_a_run_over_its_timeout_is_cancelled_and_reported(conv: Conv) -> None:
    # polled sandbox runs take two 0.1 s steps to finish; 0.05 s is not enough
    conv.script(
        "slow",
        """
        assistant: bot
        streaming: false
        timeout: 0.05
        conversations:
          - name: default-status
            turns:
              - user: hi
          - name: expected-timeout
            turns:
              - user: hi
                expect: {status: timed_out}
              - user: hello again
                expect: {status: timed_out}
        """,
    )
    result = conv.run("--asst-mode", "live", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*conversation 'default-status', turn 1, expectation 'status': *timed_out*"]
    )
    # the second turn found its thread usable: the timed-out run had been cancelled
    assert "active run" not in result.stdout.str()
