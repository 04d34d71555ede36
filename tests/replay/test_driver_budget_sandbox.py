"""End to end through the SDK: the agents driver on a sandbox session with a spending limit
reports the turns that reach it as `budget_reached`, streamed and polled."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# the sandbox runs in-process: its modules imported before any pytester run drops them
import asst_deploy.sandbox.routes.agent_sessions
import asst_deploy.sandbox.server  # noqa: F401
from asst_deploy.conversation.script import Conversation
from asst_deploy.conversation.transcript import TurnResult
from asst_deploy.engine.targets import connect
from asst_deploy.generations.agents.driver import AgentsDriver
from asst_deploy.generations.sdk.driver_base import DriverOptions
from asst_deploy.replay.expect import check_turn
from asst_deploy.replay.scripts import load_script
from asst_deploy.spec.loader import load_project

LIMIT = 5  # USD cents; each expensive turn costs 10

FILES = {
    "asst-deploy.yaml": """
        project: budgettest
        targets:
          sandbox-agents:
            type: sandbox
            api: agents
            db: .asst-deploy/agents.db
            rules: rules.yaml
        default_target: sandbox-agents
        environments:
          agents: {target: sandbox-agents}
        """,
    "assistants/bot.yaml": """
        kind: assistant
        key: bot
        name: Bot
        model: gpt-4o-mini
        instructions: Be brief.
        tools:
          - type: function
            function:
              name: get_weather
              parameters:
                type: object
                properties: {city: {type: string}}
                required: [city]
        """,
    "rules.yaml": r"""
        step_delay: 0
        rules:
          - match: '(?i)expensive weather in (?P<city>\w+)'
            cost_cents: 10
            function_calls: [{name: get_weather, arguments: {city: "{match[city]}"}}]
            reply: "Weather: {outputs[get_weather]}"
          - match: '(?i)expensive'
            cost_cents: 10
            reply: "That was costly."
          - reply: "Hello there! You said: {message}"
        """,
}

SCRIPT = """
assistant: bot
env: agents
functions:
  get_weather: {output: {temp: 18}}
conversations:
  - name: completed-then-paused
    turns:
      - user: expensive question
        expect: {status: budget_reached, equals: That was costly.}
      - user: hi
        expect: {status: budget_reached}
  - name: refused-after-tool-results
    turns:
      - user: expensive weather in Oslo
        expect: {status: budget_reached, tool_call_count: 1}
"""


@pytest.fixture(scope="module")
def budget_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("budget-project")
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    (root / "conversations").mkdir()
    (root / "conversations" / "budget.conv.yaml").write_text(textwrap.dedent(SCRIPT).lstrip())
    apply = [sys.executable, "-m", "asst_deploy", "apply", str(root), "--env", "agents"]
    result = subprocess.run([*apply, "--auto-approve"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def driver(budget_project: Path) -> Iterator[AgentsDriver]:
    project = load_project(budget_project, "agents")
    with connect(project.target) as backend:
        options = DriverOptions(
            root=budget_project,
            sleep=time.sleep,
            clock=time.monotonic,
            environment="agents",
            session_spend_limit_cents=LIMIT,
        )
        yield AgentsDriver(backend.client, options)  # type: ignore[attr-defined]


def converse(
    driver: AgentsDriver, conversation: Conversation
) -> list[tuple[TurnResult, list[str]]]:
    """Each turn's result and the messages of the expectations it failed."""
    deployed = driver.find("budgettest", "bot", "sandbox-agents")
    transcript = driver.start(deployed, conversation)
    checked = []
    try:
        for turn in conversation.turns:
            result = driver.turn(transcript, turn, conversation)
            failures, _ = check_turn(turn, result, deployed.functions, api="agents")
            checked.append((result, [f.message for f in failures]))
    finally:
        driver.finish(transcript)
    return checked


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "polled"])
def test_a_turn_past_the_session_limit_is_reported_budget_reached(
    driver: AgentsDriver, budget_project: Path, streaming: bool
) -> None:
    script = load_script(budget_project / "conversations" / "budget.conv.yaml")
    conversations = {
        c.name: dataclasses.replace(c, streaming=streaming) for c in script.conversations
    }

    (first, failed_1), (second, failed_2) = converse(driver, conversations["completed-then-paused"])
    assert failed_1 == [] and failed_2 == []
    # the turn's work is published, and the session rests paused at its limit
    assert (first.status, first.reply) == ("budget_reached", "That was costly.")
    assert first.spend == {"limit": LIMIT, "consumed": 10}
    assert "spend: 10 of 5 cents" in first.render()
    # the next input is refused, as its own outcome, not an error
    assert second.run_id == "" and second.spend == {"limit": LIMIT, "consumed": 10}
    assert second.error is not None and "spending limit" in second.error

    [(paused, failed)] = converse(driver, conversations["refused-after-tool-results"])
    assert failed == []
    assert [c.name for c in paused.function_calls()] == ["get_weather"]
    assert paused.status == "budget_reached" and paused.run_id
    assert paused.error is not None and "spending limit of 5 cents" in paused.error
