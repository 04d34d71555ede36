"""The whole agent: every field of the 3.60 SDK's AgentCreateParams that an assistant spec
can set round-trips through an agents target (apply, then plan is empty), and an edit of
one shows as exactly that field."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.plan import Update

from .conftest import Deployer, write_project

PROJECT = {
    "asst-deploy.yaml": """\
project: whole
targets:
  sandbox: {type: sandbox, api: agents}
default_target: sandbox
""",
    "assistants/analyst.yaml": """\
kind: assistant
key: analyst
name: Analyst
model: gpt-4o-mini
instructions: Analyse the numbers.
metadata: {team: data}
reasoning_effort: high
reasoning_summary: concise
verbosity: low
service_tier: flex
multi_agent: {enabled: true, max_concurrent_subagents: 3}
compaction: {async: true}
experimental: {time_awareness: true}
response_format:
  type: json_schema
  json_schema:
    name: report
    schema: {type: object, properties: {total: {type: number}}}
tools:
  - type: function
    function:
      name: lookup
      description: Look a figure up.
      parameters: {type: object, properties: {q: {type: string}}}
      defer_loading: true
      async: true
  - type: tool_search
  - type: programmatic_tool_calling
    enabled: false
  - type: computer_use
    include_screenshots: true
  - type: automations
  - type: web_search
    context_size: high
    mode: cached
    allowed_domains: [example.com]
  - type: mcp
    server_label: docs
    transport: {type: http, server_url: "https://mcp.example.com/docs"}
    allowed_tools: [search]
    required: true
  - type: mcp
    server_label: local
    transport: {type: stdio, command: docs-server, cwd: /srv, args: [--fast]}
    connection_origin: environment
""",
}
SPEC = "assistants/analyst.yaml"


@pytest.fixture
def whole(tmp_path: Path, client: openai.OpenAI) -> Deployer:
    return Deployer(write_project(tmp_path / "whole", PROJECT), AgentsBackend(client))


def test_every_field_round_trips(whole: Deployer) -> None:
    applied = whole.apply()
    assert [(a.kind, a.key) for a in applied.actions] == [("agent", "analyst")]
    assert whole.plan().empty


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("reasoning_summary: concise", "reasoning_summary: detailed", "reasoning_summary"),
        ("verbosity: low", "verbosity: high", "verbosity"),
        (
            "experimental: {time_awareness: true}",
            "experimental: {time_awareness: false}",
            "time_awareness",
        ),
        ("reasoning_effort: high", "reasoning_effort: low", "reasoning_effort"),
        ("service_tier: flex", "service_tier: priority", "service_tier"),
        ("max_concurrent_subagents: 3", "max_concurrent_subagents: 4", "multi_agent"),
        ("compaction: {async: true}", "compaction: {async: false}", "compaction"),
        ("      defer_loading: true", "      defer_loading: false", "tools"),
        ("      async: true", "      async: false", "tools"),
        ("include_screenshots: true", "include_screenshots: false", "tools"),
        ("  - type: automations\n", "", "tools"),
        ("mode: cached", "mode: live", "tools"),
        ("args: [--fast]", "args: [--slow]", "tools"),
        ("total: {type: number}", "total: {type: string}", "text_format"),
    ],
)
def test_an_edit_shows_as_that_field_alone(whole: Deployer, old: str, new: str, field: str) -> None:
    whole.apply()
    whole.edit(SPEC, old, new)
    (action,) = whole.plan().actions
    assert isinstance(action, Update)
    assert [c.field for c in action.changes] == [field]
    whole.apply()
    assert whole.plan().empty  # and the edit itself round-trips


def test_the_default_settings_leave_the_form_as_before(whole: Deployer) -> None:
    # an agent that sets none of the newer settings keeps the canonical form (and so the
    # stamp and its cassettes' fingerprint) it had before they existed
    from asst_deploy.kinds import agent

    assert agent.settings("medium", None, False) == {}
    assert agent.settings("low", "auto", True) == {
        "verbosity": "low",
        "reasoning_summary": "auto",
        "time_awareness": True,
    }


@pytest.mark.parametrize(
    ("api", "refused"),
    [
        (
            "assistants",
            {
                "verbosity",
                "reasoning_summary",
                "experimental",
                "service_tier",
                "multi_agent",
                "compaction",
                "tools[0].function.defer_loading",
                "tools[0].function.async",
                "tools[1]",
                "tools[2]",
                "tools[3]",
                "tools[4]",
                "tools[5]",
                "tools[6]",
                "tools[7]",
            },
        ),
        (
            "responses",
            {
                "experimental",
                "multi_agent",
                "compaction",
                "tools[2].enabled",
                "tools[3]",
                "tools[4]",
                "tools[7].transport",
                "tools[7].connection_origin",
                "tools[6].required",
            },
        ),
    ],
)
def test_what_the_other_generations_cannot_hold_is_located(
    tmp_path: Path, api: str, refused: set[str]
) -> None:
    from asst_deploy.errors import SpecError
    from asst_deploy.spec.loader import load_project

    files = {**PROJECT, "asst-deploy.yaml": PROJECT["asst-deploy.yaml"].replace("agents", api)}
    with pytest.raises(SpecError) as caught:
        load_project(write_project(tmp_path / api, files))
    found = {p.message.split("cannot hold ")[1].split(":")[0] for p in caught.value.problems}
    assert found == refused
    assert all(p.location.line > 1 for p in caught.value.problems)


def test_the_agent_tools_and_settings_render_as_a_responses_request(tmp_path: Path) -> None:
    # what a responses target holds of the spec: the Agents API's settings in
    # responses.create's places (web_search's filters, an http mcp server's url)
    from asst_deploy.request_template import request_kwargs
    from asst_deploy.spec.loader import load_project

    spec_text = PROJECT[SPEC]
    for drop in (
        "experimental: {time_awareness: true}\n",
        "multi_agent: {enabled: true, max_concurrent_subagents: 3}\n",
        "compaction: {async: true}\n",
        "    enabled: false\n",
        "  - type: computer_use\n    include_screenshots: true\n",
        "  - type: automations\n",
        "    required: true\n",
    ):
        spec_text = spec_text.replace(drop, "")
    spec_text = spec_text[: spec_text.index("  - type: mcp\n    server_label: local")]
    files = {
        "asst-deploy.yaml": PROJECT["asst-deploy.yaml"].replace("agents", "responses"),
        SPEC: spec_text,
    }
    (spec,) = load_project(write_project(tmp_path / "r", files)).assistants
    kwargs = request_kwargs(spec, "whole", {}, {})
    assert kwargs["text"] == {"format": kwargs["text"]["format"], "verbosity": "low"}
    assert kwargs["reasoning"] == {"effort": "high", "summary": "concise"}
    assert kwargs["tools"] == [
        {
            "type": "function",
            "name": "lookup",
            "description": "Look a figure up.",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            "strict": False,
            "defer_loading": True,
            "async": True,
        },
        {"type": "tool_search"},
        {"type": "programmatic_tool_calling"},
        {
            "type": "web_search",
            "filters": {"allowed_domains": ["example.com"]},
            "search_context_size": "high",
            "external_web_access": False,
        },
        {
            "type": "mcp",
            "server_label": "docs",
            "server_url": "https://mcp.example.com/docs",
            "allowed_tools": ["search"],
        },
    ]
