"""Budgets: a conversation that costs more than its budget (or the run's) stops there and is
inconclusive, on agents through the session's spend_control and on assistants and responses
through the usage it is priced from; shown apart in the terminal and in JUnit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# each test runs `asst-deploy test` in subprocesses: the end-to-end CI step
pytestmark = pytest.mark.e2e

FILES = {
    "asst-deploy.yaml": """
        project: budgets
        targets:
          sandbox:
            type: sandbox
            rules: rules.yaml
            models: [gpt-5.4-mini]   # the Assistants API's list has no model that stays
          sandbox-agents:
            type: sandbox
            api: agents
            db: .asst-deploy/agents.db
            rules: rules.yaml
          sandbox-responses:
            type: sandbox
            api: responses
            db: .asst-deploy/responses.db
            rules: rules.yaml
        environments:
          agents: {target: sandbox-agents}
          responses: {target: sandbox-responses}
        """,
    "assistants/bot.yaml": """
        kind: assistant
        key: bot
        name: Bot
        model: gpt-5.4-mini
        instructions: Be brief.
        """,
    "rules.yaml": r"""
        step_delay: 0
        rules:
          - match: '(?i)research (?P<topic>\w+)'
            cost_cents: 3                      # what an Agents session spends on it
            reply: "Researched {match[topic]}: it is fine."
          - reply: "You said: {message}"
        """,
    "conversations/research.conv.yaml": """
        assistant: bot
        conversations:
          - name: capped
            budget: {usd: 0.000001}
            turns:
              - user: research cats
                expect: {contains: Researched}
              - user: research dogs
          - name: free
            turns:
              - user: hello
                expect: {contains: You said}
        """,
}


@pytest.fixture(scope="module")
def budget_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("budgets")
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    for env in ((), ("--env", "agents"), ("--env", "responses")):
        done = subprocess.run(
            [sys.executable, "-m", "asst_deploy", "apply", str(root), *env, "--auto-approve"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ASST_DEPLOY_MODE")}
    return subprocess.run(
        [sys.executable, "-m", "asst_deploy", "test", "conversations", "-p", "no:cacheprovider",
         "--mode", "live", *args],
        cwd=root, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def test_over_its_budget_a_conversation_is_inconclusive_on_every_generation(
    budget_project: Path,
) -> None:
    junit = budget_project / "junit.xml"
    done = _run(budget_project, "--envs", "base,agents,responses", "--junitxml", str(junit))
    out = done.stdout
    assert done.returncode == 1, out + done.stderr  # inconclusive is never a pass
    assert "3 passed, 3 inconclusive" in out, out
    assert "inconclusive: stopped by a budget (not passed; the run fails)" in out
    # agents: the session's spend_control paused it; the others: the harness priced usage
    assert (
        "conversations/research.conv.yaml::capped[agents]: conversations/research.conv.yaml:" in out
    )
    lines = {line.split(": ", 1)[0]: line for line in out.splitlines() if "stopped at turn" in line}
    assert (
        "the session reached its spending limit"
        in lines["conversations/research.conv.yaml::capped[agents]"]
    )
    for api in ("assistants", "responses"):
        line = lines[f"conversations/research.conv.yaml::capped[{api}]"]
        assert "stopped at turn 1 of 2: the conversation had cost $" in line, line
        assert (
            "over its budget of $0.000001 (`budget:` in conversations/research.conv.yaml)" in line
        )
    assert "conversation costs (USD, priced from usage)" in out and "run total: $" in out

    cases = {c.get("name"): c for c in ET.parse(junit).iter("testcase")}
    for api in ("assistants", "agents", "responses"):
        props = {p.get("name"): p.get("value") for p in cases[f"capped[{api}]"].iter("property")}
        assert props["asst_verdict"] == "inconclusive"
        assert float(props["asst_cost_usd"]) > 0.000001
        assert "inconclusive, not a pass" in props["asst_inconclusive"]
        free = {p.get("name"): p.get("value") for p in cases[f"free[{api}]"].iter("property")}
        assert free["asst_verdict"] == "pass" and float(free["asst_cost_usd_turn_1"]) > 0
    agents = {p.get("name"): p.get("value") for p in cases["capped[agents]"].iter("property")}
    assert float(agents["asst_cost_usd"]) >= 0.03  # what the session consumed: 3 cents
    properties = ET.parse(junit).getroot().find("testsuite/properties")  # the suite's own
    assert properties is not None
    suite = {p.get("name"): p.get("value") for p in properties}
    assert suite["asst_inconclusive_count"] == "3"
    assert float(suite["asst_run_cost_usd"]) >= 0.03


def test_the_runs_budget_stops_what_it_cannot_pay_and_can_be_allowed(
    budget_project: Path,
) -> None:
    done = _run(budget_project, "-k", "free", "--budget-usd", "0.0000001")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 inconclusive" in done.stdout
    assert "over what was left of the run's budget of $0.0000001 (--budget-usd)" in done.stdout
    allowed = _run(
        budget_project, "-k", "free", "--budget-usd", "0.0000001", "--allow-inconclusive"
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "allowed by --asst-allow-inconclusive" in allowed.stdout
    # spent: the next conversation of the run is not even started
    two = _run(budget_project, "--budget-usd", "0.0000001", "-p", "no:randomly")
    assert "is spent (inconclusive, not a pass)" in two.stdout, two.stdout
