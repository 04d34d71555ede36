"""A project with an assistants and an agents environment, deployed to one sandbox each
by `asst-deploy apply` (the same specs: an assistant on one, an agent and its environment
template on the other)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

RULES = r"""
step_delay: 0
rules:
  - match: '(?i)weather and time in (?P<city>\w+)'
    function_calls:
      - {name: get_weather, arguments: {city: "{match[city]}"}}
      - {name: get_time, arguments: {city: "{match[city]}"}}
    reply: "{outputs[get_weather]} / {outputs[get_time]}"
  - match: '(?i)weather in (?P<city>\w+)'
    function_calls: [{name: get_weather, arguments: {city: "{match[city]}"}}]
    reply: "Weather: {outputs[get_weather]}"
  - match: '(?i)compute'
    code_interpreter: {input: "print(2 + 2)", logs: "4"}
    reply: "Result: 4"
  - match: '(?i)break'
    status: failed
    error: The model broke.
  - match: '(?i)farewell'
    reply: "Goodbye, and thanks for all the fish."
  - reply: "Hello there! You said: {message}"
"""
# the agents deployment answers one prompt otherwise: the parity run's deliberate difference
AGENT_RULES = RULES.replace("Goodbye, and thanks for all the fish.", "Bye.")

FILES = {
    "asst-deploy.yaml": """
        project: agentstest
        targets:
          sandbox-classic:
            type: sandbox
            db: .asst-deploy/classic.db
            rules: rules.yaml
            organization: org-SECRETORG0123456789
          sandbox-agents:
            type: sandbox
            api: agents
            db: .asst-deploy/agents.db
            rules: rules-agents.yaml
            organization: org-SECRETORG0123456789
        default_target: sandbox-classic
        environments:
          classic: {target: sandbox-classic}
          agents: {target: sandbox-agents}
        """,
    "assistants/bot.yaml": """
        kind: assistant
        key: bot
        name: Bot
        model: gpt-4o-mini
        instructions: Be brief.
        tools:
          - type: code_interpreter
          - type: function
            function:
              name: get_weather
              parameters:
                type: object
                properties: {city: {type: string}}
                required: [city]
          - type: function
            function:
              name: get_time
              parameters: {type: object, properties: {city: {type: string}}}
        """,
    "rules.yaml": RULES,
    "rules-agents.yaml": AGENT_RULES,
}


def make_project(root: Path) -> Path:
    """The project written and applied to both environments."""
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    for env in ("classic", "agents"):
        apply = [sys.executable, "-m", "asst_deploy", "apply", str(root), "--env", env]
        result = subprocess.run(
            [*apply, "--auto-approve"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
    return root
