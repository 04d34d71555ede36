"""The composite action's Python scripts: the comment cut, the JUnit summary table, the
plan binding; and the action's jq filters, run by real jq on GitHub's payloads."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .gha import ACTION, load


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ACTION / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


comment_body = script("comment_body")
junit_summary = script("junit_summary")
plan_binding = script("plan_binding")


# ---- the comment ---------------------------------------------------------------------


def test_a_short_plan_is_kept_whole() -> None:
    text = "### plan\n\n```diff\n+ a\n```\n"
    assert comment_body.cut(text, 1000) == text
    body = comment_body.body("<!-- m -->", text, "<sub>footer</sub>")
    assert body == "<!-- m -->\n" + text.rstrip() + "\n\n<sub>footer</sub>\n"


def test_a_long_plan_is_cut_at_a_line_and_its_fence_and_details_closed() -> None:
    lines = [f"+   assistant a{i} — naïve ünïcödé {'é' * 40}" for i in range(3000)]
    text = "### plan\n\n<details><summary>Details</summary>\n\n```diff\n" + "\n".join(lines)
    text += "\n```\n</details>\n\nKept: x\n"
    cut = comment_body.cut(text, 60000)
    assert len(cut) <= 60000 < len(text)
    kept = cut.splitlines()
    # whole lines only (no character cut in two), then the fence and <details> closed
    body_lines = kept[5 : kept.index("```", 5)]
    assert body_lines and all(line in lines for line in body_lines)
    assert kept[-4:] == ["```", "</details>", "", comment_body.TOO_LONG]
    cut.encode("utf-8")  # whole characters: encodes, no lone surrogate


def test_a_fence_opened_with_more_backticks_needs_as_many_to_close() -> None:
    text = "````diff\n```\n" + "x\n" * 100
    cut = comment_body.cut(text, 120)
    assert cut.splitlines()[-3:] == ["````", "", comment_body.TOO_LONG]


def test_the_comment_never_exceeds_githubs_limit(tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("```diff\n" + "+ " + "ü" * 100 + "\n" * 0 + ("+ x\n" * 40000), "utf-8")
    marker = "<!-- asst-deploy-plan:abc commit:" + "1" * 40 + " -->"
    result = subprocess.run(
        [sys.executable, str(ACTION / "comment_body.py"), marker, str(plan), "<sub>f</sub>"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(result.stdout) <= 65536
    assert result.stdout.startswith(marker + "\n```diff\n")
    assert result.stdout.endswith(f"```\n\n{comment_body.TOO_LONG}\n\n<sub>f</sub>\n")


# ---- the JUnit summary ---------------------------------------------------------------

JUNIT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5">
<testcase classname="specs.conversations.weather.conv.yaml" name="paris" time="0.1">
  <properties><property name="asst_script" value="specs/conversations/weather.conv.yaml"/>
  <property name="asst_turns" value="2"/></properties>
</testcase>
<testcase classname="specs.conversations.handbook.conv.yaml" name="vacation" time="0.1">
  <properties><property name="asst_script" value="specs/conversations/handbook.conv.yaml"/>
  <property name="asst_turns" value="3"/></properties>
  <failure message="specs/conversations/handbook.conv.yaml:12: conversation 'vacation', turn 2, expectation 'contains': no | in the reply">details</failure>
</testcase>
<testcase classname="specs.conversations.math.conv.yaml" name="quickstart" time="0.1">
  <properties><property name="asst_turns" value="1"/></properties>
  <error message="no cassette at cassettes/math/quickstart.yaml">trace</error>
</testcase>
<testcase classname="specs.conversations.math.conv.yaml" name="later" time="0">
  <skipped message="not yet"/>
</testcase>
<testcase classname="specs.conversations.math.conv.yaml" name="polling" time="0.1"/>
</testsuite></testsuites>
"""


def test_the_summary_has_a_row_per_conversation_and_a_mark_per_turn(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)
    table = junit_summary.table(junit_summary.read(report))
    lines = table.splitlines()
    assert lines[:3] == [
        "### asst-deploy conversation tests",
        "",
        "**2 passed, 1 failed, 1 error, 1 skipped**",
    ]
    rows = [line for line in lines if line.startswith("| ") and "script" not in line]
    assert rows == [
        "| ✅ passed | `specs/conversations/weather.conv.yaml` | `paris` | 1 ✅ · 2 ✅ |  |",
        "| ❌ failed | `specs/conversations/handbook.conv.yaml` | `vacation` "
        "| 1 ✅ · 2 ❌ · 3 ⏭️ | specs/conversations/handbook.conv.yaml:12: conversation "
        "'vacation', turn 2, expectation 'contains': no \\| in the reply |",
        "| ❌ error | `specs.conversations.math.conv.yaml` | `quickstart` | 1 ⏭️ "
        "| no cassette at cassettes/math/quickstart.yaml |",
        "| ⏭️ skipped | `specs.conversations.math.conv.yaml` | `later` |  | not yet |",
        "| ✅ passed | `specs.conversations.math.conv.yaml` | `polling` |  |  |",
    ]
    # every row has the header's number of cells: a | in a message is escaped
    assert {len(re.findall(r"(?<!\\)\|", row)) for row in rows} == {6}


def test_no_report_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ACTION / "junit_summary.py"), str(tmp_path / "none.xml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "No JUnit report was written" in result.stdout


# ---- the binding ---------------------------------------------------------------------

NOW = {"directory": "specs", "env": "", "tree": "t" * 40}


def test_the_binding_records_the_review_and_refuses_other_specs(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"kind": "asst-deploy-plan", "actions": [{"action": "create"}]}))
    binding = tmp_path / "binding.json"
    values = {**NOW, "head_sha": "h" * 40, "sha": "m" * 40, "pr": "7"}
    assert plan_binding.write(binding, plan, values) is True
    assert json.loads(binding.read_text())["head_sha"] == "h" * 40
    assert plan_binding.check(binding, plan, NOW) == []
    reasons = plan_binding.check(binding, plan, {**NOW, "tree": "u" * 40, "env": "prod"})
    assert len(reasons) == 2
    assert "environment ''" in reasons[0] and "something else was merged" in reasons[1]


def test_a_missing_or_damaged_plan_is_an_error(tmp_path: Path) -> None:
    binding = tmp_path / "binding.json"
    args = [str(binding), str(tmp_path / "plan.json"), "head_sha=h", "sha=m", "tree=t"]
    assert plan_binding.main(["write", *args, "directory=d", "env=", "pr="]) == 1
    (tmp_path / "plan.json").write_text("{}")
    assert plan_binding.main(["write", *args, "directory=d", "env=", "pr="]) == 1
    assert not binding.exists()


# ---- the jq filters, on GitHub's payloads --------------------------------------------

PULLS = [
    {"number": 3, "merged_at": None, "head": {"sha": "0" * 40}},
    {"number": 7, "merged_at": "2026-12-01T12:00:00Z", "head": {"sha": "a" * 40}},
]
ARTIFACTS = {
    "total_count": 3,
    "artifacts": [
        {
            "expired": False,
            "created_at": "2026-12-01T10:00:00Z",
            "workflow_run": {"id": 1, "head_sha": "a" * 40},
        },
        {
            "expired": False,
            "created_at": "2026-12-01T11:00:00Z",
            "workflow_run": {"id": 2, "head_sha": "a" * 40},
        },
        {
            "expired": True,
            "created_at": "2026-12-01T12:00:00Z",
            "workflow_run": {"id": 3, "head_sha": "a" * 40},
        },
        {
            "expired": False,
            "created_at": "2026-12-01T13:00:00Z",
            "workflow_run": {"id": 4, "head_sha": "b" * 40},
        },
    ],
}


def jq_filters() -> list[str]:
    """The --jq filters of the step that finds the reviewed plan, as bash would pass them."""
    (step,) = [s for s in load(ACTION / "action.yml")["runs"]["steps"] if s.get("id") == "reviewed"]
    found = re.findall(r"--jq (?:'([^']*)'|\"((?:[^\"\\]|\\.)*)\")", step["run"])
    filters = [single or re.sub(r"\\(.)", r"\1", double) for single, double in found]
    assert len(filters) == 2, filters
    return filters


@pytest.mark.skipif(shutil.which("jq") is None, reason="needs jq (gh's --jq is jq's language)")
def test_the_jq_filters_pick_the_merged_pull_request_and_the_newest_live_plan() -> None:
    pulls, artifacts = jq_filters()

    def jq(program: str, data: object) -> str:
        return subprocess.run(
            ["jq", "-r", program],
            input=json.dumps(data),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert jq(pulls, PULLS) == "7 " + "a" * 40
    assert jq(pulls, []) == "null null"  # a direct push: refused by the head-sha check
    head_sha = "a" * 40
    program = artifacts.replace("$head_sha", head_sha)
    assert jq(program, ARTIFACTS) == "2"  # the newest, not expired, of that head commit
    assert jq(program.replace(head_sha, "c" * 40), ARTIFACTS) == ""
