"""Collection: scripts become one test per conversation; bad scripts say file:line:col."""

from __future__ import annotations

import pytest

from tests.replay.conftest import Conv

TWO = """
assistant: bot
conversations:
  - name: first
    turns: [{user: hi}]
  - name: second
    turns: [{user: hi}]
"""


def test_each_conversation_is_a_test(conv: Conv) -> None:
    conv.script("two", TWO)
    result = conv.run("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["conversations/two.conv.yaml::first", "conversations/two.conv.yaml::second"]
    )
    conv.run("--asst-mode", "live", "-k", "second").assert_outcomes(passed=1)


def test_x_stops_at_the_first_failure(conv: Conv) -> None:
    conv.script("two", TWO.replace("[{user: hi}]", "[{user: hi, expect: {contains: nope}}]"))
    conv.run("--asst-mode", "live", "-x").assert_outcomes(failed=1)


def test_the_pattern_is_configurable(conv: Conv) -> None:
    (conv.path / "conversations").mkdir()
    (conv.path / "conversations" / "chat.yml").write_text(TWO)
    conv.pytester.makeini("[pytest]\nasst_conversation_files = *.yml\n")
    conv.run("--collect-only", "-q").stdout.fnmatch_lines(["conversations/chat.yml::first"])


def test_nothing_is_collected_without_scripts(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", other="a: 1\n")
    pytester.makepyfile("def test_plain():\n    pass\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_an_invalid_script_reports_file_line_column(conv: Conv) -> None:
    conv.script(
        "bad",
        """
        assistant: bot
        conversations:
          - name: a
            turns:
              - user: hi
                expect: {contians: x, regex: '('}
          - name: a
            turns: [{user: hi}]
        """,
    )
    result = conv.run("--asst-mode", "live")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*conversations/bad.conv.yaml:6:18: unknown key 'contians' (did you mean 'contains'?)*"]
    )
