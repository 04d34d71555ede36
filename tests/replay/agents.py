"""A project with an assistants and an agents environment, deployed to one sandbox each.

The engine's agents target is not here yet, so the agent is made with the SDK as apply
will make it (identity metadata stamped with the agent's canonical hash, the environment
template named in its metadata), and the targets' API is set by `with_api` until target
files can say `api: agents`.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asst_deploy import identity
from asst_deploy.remote import drivers
from asst_deploy.remote.drivers.base import agent_form
from asst_deploy.remote.targets import connect
from asst_deploy.spec.loader import load_project
from asst_deploy.spec.model import Project

# target -> the API it serves (what `api:` in asst-deploy.yaml will say)
APIS = {"sandbox-agents": "agents"}

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


def with_api(real: Callable[..., Project]) -> Callable[..., Project]:
    """`load_project`, its target's API set from APIS."""

    def load(*args: Any, **kwargs: Any) -> Project:
        project = real(*args, **kwargs)
        api = APIS.get(project.target.name)
        if api is None:
            return project
        return dataclasses.replace(project, target=dataclasses.replace(project.target, api=api))

    return load


def deploy_agents(root: Path, env: str = "agents") -> dict[str, str]:
    """Every assistant of `env` made an agent on its sandbox, as apply will: key -> id."""
    project = with_api(load_project)(root, env)
    made = {}
    with connect(project.target) as backend:
        client = drivers.live_client(backend)
        for spec in project.assistants:
            form = agent_form(spec, {})
            metadata = {**dict(spec.metadata), **identity.stamp(project.name, spec.key, form)}
            if any(t.get("type") == "code_interpreter" for t in spec.tools):
                template = client.beta.agents.environments.templates.create(
                    name=f"{project.name}~{spec.key}"
                )
                metadata[identity.TEMPLATE_KEY] = template.id
            tools = [
                {
                    "type": "function",
                    "name": t["function"]["name"],
                    "description": t["function"].get("description") or "",
                    "parameters": t["function"].get("parameters") or {"type": "object"},
                }
                for t in spec.tools
                if t.get("type") == "function"
            ]
            agent = client.beta.agents.create(
                model=spec.model,
                name=spec.name,
                instructions=spec.instructions,
                tools=tools,  # type: ignore[arg-type]
                metadata=metadata,
            )
            made[spec.key] = agent.id
    return made


def make_project(root: Path) -> Path:
    """The project written, applied to its assistants environment and its agents made."""
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "asst_deploy",
            "apply",
            str(root),
            "--env",
            "classic",
            "--auto-approve",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    deploy_agents(root)
    return root
