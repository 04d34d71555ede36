"""An agent's tools list is at most 3 MiB of JSON (issue 26, case 50): validate refuses a
larger one where the tools are, instead of apply failing with a 400, and measures it as
the service does (a list of exactly the limit deploys)."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from asst_deploy import limits
from asst_deploy.errors import SpecError
from asst_deploy.generations.agents import tools_bytes
from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.sandbox import agent_objects
from asst_deploy.spec.loader import load_project

from .conftest import Deployer, write_project

PROJECT = """\
project: big
targets:
  agents: {type: sandbox, api: agents}
default_target: agents
defaults: {model: gpt-4o-mini}
"""
BOT = """\
kind: assistant
key: bot
name: Bot
tools:
  - type: function
    file: functions/huge.json
"""


def project_with(tmp_path: Path, description: str) -> Path:
    function = {"name": "huge", "description": description, "parameters": {"type": "object"}}
    return write_project(
        tmp_path / "big",
        {
            "asst-deploy.yaml": PROJECT,
            "assistants/bot.yaml": BOT,
            "functions/huge.json": json.dumps(function),
        },
    )


def test_the_limit_is_the_sandboxs() -> None:
    assert limits.AGENT_TOOLS_MAX_BYTES == agent_objects.TOOLS_MAX_BYTES == 3 * 1024 * 1024


def test_tools_over_3_mib_are_refused_where_they_are(tmp_path: Path, client: openai.OpenAI) -> None:
    root = project_with(tmp_path, "")
    base = tools_bytes(load_project(root).assistants[0])
    exact = "d" * (limits.AGENT_TOOLS_MAX_BYTES - base)
    root = project_with(tmp_path, exact)
    assert tools_bytes(load_project(root).assistants[0]) == limits.AGENT_TOOLS_MAX_BYTES
    # the largest list validate lets through, the service takes
    plan = Deployer(root, AgentsBackend(client)).apply()
    assert [a.kind for a in plan.actions] == ["agent"]
    root = project_with(tmp_path, exact + "d")
    with pytest.raises(SpecError) as caught:
        load_project(root)
    (problem,) = caught.value.problems
    assert problem.location.file.endswith("bot.yaml") and problem.location.line == 5
    assert problem.message == (
        "target 'agents' (api agents) cannot hold tools: its tools are "
        f"{limits.AGENT_TOOLS_MAX_BYTES + 1:,} bytes of JSON, and an agent holds at most "
        f"{limits.AGENT_TOOLS_MAX_BYTES:,} (3 MiB)"
    )
    assert "shorten the function descriptions" in problem.hint
