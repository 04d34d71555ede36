"""The job summary of a conversation run with costs and a budget: inconclusive rows apart,
each conversation's cost turn by turn, the run's cost (junit_summary.py on the plugin's properties)."""

from __future__ import annotations

from pathlib import Path

from .test_action_scripts import junit_summary

JUNIT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="0" tests="2">
<properties><property name="asst_run_cost_usd" value="0.030321"/>
<property name="asst_inconclusive_count" value="1"/></properties>
<testcase classname="c.research.conv.yaml" name="free" time="0.1">
  <properties><property name="asst_script" value="c/research.conv.yaml"/>
  <property name="asst_turns" value="1"/><property name="asst_verdict" value="pass"/>
  <property name="asst_cost_usd" value="0.000321"/>
  <property name="asst_cost_usd_turn_1" value="0.000021"/>
  <property name="asst_grading_cost_usd" value="0.0003"/></properties>
</testcase>
<testcase classname="c.research.conv.yaml" name="capped" time="0.1">
  <properties><property name="asst_script" value="c/research.conv.yaml"/>
  <property name="asst_turns" value="2"/><property name="asst_verdict" value="inconclusive"/>
  <property name="asst_cost_usd" value="0.030000"/>
  <property name="asst_cost_usd_turn_1" value="0.030000"/>
  <property name="asst_inconclusive" value="c/research.conv.yaml:6:9: conversation 'capped' stopped at turn 1 of 2: the session reached its spending limit (inconclusive, not a pass)"/>
  </properties>
  <failure message="stopped">details</failure>
</testcase>
</testsuite></testsuites>
"""


def test_inconclusive_rows_and_costs_are_shown_apart(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)
    table = junit_summary.table(junit_summary.read(report), run_cost=junit_summary.run_cost(report))
    lines = table.splitlines()
    assert lines[2] == "**1 passed, 1 inconclusive**"
    assert "⏸️ 1 inconclusive: stopped by a budget before their verdict (not passed)" in lines
    assert "Cost of the run: **$0.0303** (priced from usage)" in lines
    rows = [line for line in lines if line.startswith("| ") and "script" not in line]
    # each conversation's cost turn by turn, grading apart, as the terminal splits it
    assert rows[0] == (
        "| ✅ passed | `c/research.conv.yaml` | `free` | 1 ✅ "
        "| $0.000321 (turn 1 $0.000021, grading $0.0003) |  |"
    )
    assert rows[1].startswith(
        "| ⏸️ inconclusive | `c/research.conv.yaml` | `capped` | 1 ⏸️ · 2 ⏭️ "
        "| $0.03 (turn 1 $0.03) | "
        "c/research.conv.yaml:6:9: conversation 'capped' stopped at turn 1 of 2"
    )


def test_the_summary_writes_costs_as_the_terminal_does() -> None:
    # junit_summary.py is stdlib only (it runs in the action beside any asst-deploy), so it
    # keeps its own copy of the cost format: the two must agree
    from asst_deploy.replay.costs import usd

    for amount in (None, 0, 1.5, 0.0123, 0.000128, 0.030131, 12.0, 0.1):
        assert junit_summary.usd(amount) == usd(amount), amount
