"""Targets name their API; the Agents fields load; each API refuses exactly what it cannot hold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from asst_deploy.desired import AssistantSpec
from asst_deploy.errors import Location, SpecError
from asst_deploy.generations import API_GENERATIONS, DEFAULT_API, holders
from asst_deploy.spec.loader import load_project

MakeProject = Callable[[dict[str, str]], Path]
MCP = {
    "type": "mcp",
    "server_label": "docs",
    "transport": {"type": "stdio", "command": "docs-mcp", "cwd": "/srv", "args": ["--ro"]},
    "allowed_tools": ["search"],
    "connection_origin": "environment",
    "credential_id": "cred_1",
    "request_metadata": {"team": "docs"},
    "required": True,
}
WEB_SEARCH = {
    "type": "web_search",
    "allowed_domains": ["example.com"],
    "context_size": "high",
    "location": {"city": "Paris", "country": "FR", "region": None, "timezone": "Europe/Paris"},
    "mode": "disabled",
}


def everything() -> AssistantSpec:
    """A spec that sets every field that some API cannot hold."""
    return AssistantSpec(
        key="all",
        model="gpt-4o",
        location=Location("a.yaml", 1, 1),
        name="All",
        description="Everything at once.",
        instructions="Help.",
        tools=(
            {"type": "code_interpreter"},
            {"type": "file_search"},
            {"type": "function", "function": {"name": "f", "strict": True, "parameters": {}}},
            MCP,
            WEB_SEARCH,
            {"type": "tool_search"},
        ),
        vector_stores=("docs",),
        metadata={"team": "x"},
        temperature=0.5,
        top_p=0.9,
        response_format={"type": "json_object"},
        reasoning_effort="low",
        service_tier="flex",
        multi_agent={"enabled": True, "max_concurrent_subagents": 2},
        compaction={"async": True},
    )


@pytest.mark.parametrize(
    ("api", "refused"),
    [
        (
            "assistants",
            ["service_tier", "multi_agent", "compaction", "tools[3]", "tools[4]", "tools[5]"],
        ),
        (
            "agents",
            [
                "description",
                "temperature",
                "top_p",
                "tools[1]",
                "tools[2].function.strict",
                "tool_resources.file_search",
                "response_format",
            ],
        ),
        (
            "responses",
            [
                "description",
                "multi_agent",
                "compaction",
                "tools[3].transport",
                "tools[3].credential_id",
                "tools[3].connection_origin",
                "tools[3].request_metadata",
                "tools[3].required",
                "tools[4].mode",
            ],
        ),
    ],
)
def test_each_api_refuses_exactly_what_it_cannot_hold(api: str, refused: list[str]) -> None:
    refusals = API_GENERATIONS[api].refusals(everything())
    assert [r.label for r in refusals] == refused
    assert all(r.reason and r.fix for r in refusals)


def test_a_spec_of_the_common_fields_is_held_everywhere() -> None:
    spec = AssistantSpec(
        key="a",
        model="gpt-4o",
        location=Location("a.yaml", 1, 1),
        name="A",
        instructions="Help.",
        tools=({"type": "code_interpreter"}, {"type": "function", "function": {"name": "f"}}),
        metadata={"team": "x"},
        response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": {}}},
        reasoning_effort="high",
    )
    assert {name: api.refusals(spec) for name, api in API_GENERATIONS.items()} == {
        "assistants": [],
        "agents": [],
        "responses": [],
    }


def test_the_registry_describes_each_api_and_knows_who_else_holds_a_field() -> None:
    assert list(API_GENERATIONS) == ["assistants", "agents", "responses"]
    assert DEFAULT_API == "assistants"
    assert all(api.name == name and api.description for name, api in API_GENERATIONS.items())
    spec = everything()
    by_label = {r.label: r for r in API_GENERATIONS["responses"].refusals(spec)}
    # assistants refuse the whole mcp tool, so not its transport either
    assert holders(spec, by_label["tools[3].transport"]) == ["agents"]
    assert holders(spec, by_label["description"]) == ["assistants"]


def test_targets_name_their_api_and_openai_without_base_url_is_api_openai_com(
    make_project: MakeProject,
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": """
                project: demo
                defaults: {model: gpt-4o}
                targets:
                  openai: {type: openai, api: agents}
                  local: {type: sandbox, api: responses, db: .asst-deploy/r.db}
                default_target: openai
                environments:
                  local: {target: local}
            """,
            "assistants/a.yaml": "kind: assistant\nkey: a\n",
        }
    )
    target = load_project(root).target
    assert (target.type, target.api, target.base_url) == ("openai", "agents", None)
    assert target.api_key_env == "OPENAI_API_KEY"
    local = load_project(root, "local").target
    assert (local.type, local.api, local.db) == ("sandbox", "responses", root / ".asst-deploy/r.db")
    assert load_project(root, target="sandbox").target.api == "assistants"  # the default


def test_the_agents_fields_and_tools_load_into_the_spec(make_project: MakeProject) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": """
                project: demo
                targets:
                  agents: {type: sandbox, api: agents}
                default_target: agents
            """,
            "assistants/a.yaml": """
                kind: assistant
                key: a
                model: gpt-5
                service_tier: priority
                multi_agent: {enabled: true, max_concurrent_subagents: 3}
                compaction: {async: true}
                tools:
                  - type: mcp
                    server_label: docs
                    transport: {type: http, server_url: 'https://mcp.example.com/mcp', headers: {X-Team: docs}}
                    allowed_tools: [search]
                    credential_id: cred_1
                  - type: web_search
                    allowed_domains: [example.com]
                    context_size: low
                    location: {city: Paris, country: FR}
                    mode: cached
                  - type: tool_search
            """,
        }
    )
    (spec,) = load_project(root).assistants
    assert spec.service_tier == "priority"
    assert spec.multi_agent == {"enabled": True, "max_concurrent_subagents": 3}
    assert spec.compaction == {"async": True}
    assert spec.tools == (
        {
            "type": "mcp",
            "server_label": "docs",
            "transport": {
                "type": "http",
                "server_url": "https://mcp.example.com/mcp",
                "headers": {"X-Team": "docs"},
            },
            "allowed_tools": ["search"],
            "credential_id": "cred_1",
        },
        {
            "type": "web_search",
            "allowed_domains": ["example.com"],
            "context_size": "low",
            "location": {"city": "Paris", "country": "FR"},
            "mode": "cached",
        },
        {"type": "tool_search"},
    )


def test_a_file_search_assistant_on_agents_is_refused_twice_with_where_and_what_to_do(
    make_project: MakeProject,
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": """
                project: demo
                defaults: {model: gpt-4o}
                targets:
                  agents: {type: sandbox, api: agents, db: .asst-deploy/agents.db}
                environments:
                  agents: {target: agents}
            """,
            "assistants/a.yaml": """
                kind: assistant
                key: a
                tools:
                  - type: file_search
                tool_resources:
                  file_search:
                    vector_stores: [docs]
            """,
            "vector_stores/docs.yaml": "kind: vector_store\nkey: docs\n",
        }
    )
    assert [a.key for a in load_project(root).assistants] == ["a"]  # the base: assistants
    with pytest.raises(SpecError) as caught:
        load_project(root, "agents")
    tool, stores = caught.value.problems
    assert (tool.location.line, tool.location.column) == (4, 5)
    assert tool.message == (
        "target 'agents' (api agents) cannot hold tools[0]: the Agents API has no file_search tool"
    )
    assert tool.hint == (
        "leave the file_search tool out of the tools list in the overrides of environment "
        "'agents' (assistants: a: {tools: [...]}), or exclude a from environment 'agents' "
        "(exclude: {assistants: [a]}) and deploy it to a target of api assistants or responses"
    )
    assert (stores.location.line, stores.message) == (
        6,
        "target 'agents' (api agents) cannot hold tool_resources.file_search: an agent has "
        "no vector stores to search (no file_search)",
    )


def test_an_excluded_assistant_is_not_deployed_nor_checked(make_project: MakeProject) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": """
                project: demo
                defaults: {model: gpt-4o}
                targets:
                  agents: {type: sandbox, api: agents, db: .asst-deploy/agents.db}
                environments:
                  agents:
                    target: agents
                    exclude: {assistants: [a], vector_stores: [docs]}
            """,
            "assistants/a.yaml": """
                kind: assistant
                key: a
                temperature: 1
                tools: [{type: file_search}]
                tool_resources: {file_search: {vector_stores: [docs]}}
            """,
            "assistants/b.yaml": "kind: assistant\nkey: b\n",
            "vector_stores/docs.yaml": "kind: vector_store\nkey: docs\n",
        }
    )
    project = load_project(root, "agents")
    assert [a.key for a in project.assistants] == ["b"]
    assert project.vector_stores == ()
    assert [a.key for a in load_project(root).assistants] == ["a", "b"]
