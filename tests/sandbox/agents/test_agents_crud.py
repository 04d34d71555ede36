"""Agents and environment templates through the official SDK: CRUD, defaults, partial updates, pages."""

from __future__ import annotations

import openai
import pytest

from tests.sandbox.agents.conftest import WEATHER_TOOL


def test_create_reports_resolved_defaults(client: openai.OpenAI) -> None:
    agent = client.beta.agents.create(model="gpt-5")
    try:
        assert agent.object == "agent"
        assert agent.id.startswith("agent_")
        assert agent.name is None and agent.instructions is None
        assert agent.metadata == {} and agent.tools == []
        assert agent.reasoning.effort == "medium" and agent.reasoning.summary is None
        assert agent.text.format.type == "text" and agent.text.verbosity == "medium"
        assert agent.service_tier == "auto"
        assert agent.multi_agent.enabled is False
        assert agent.multi_agent.max_concurrent_subagents is None
        assert agent.compaction is not None and agent.compaction.async_ is False
        assert agent.experimental is not None and agent.experimental.time_awareness is False
        assert agent.created_at == agent.updated_at
        assert client.beta.agents.retrieve(agent.id) == agent
    finally:
        client.beta.agents.delete(agent.id)


def test_every_tool_type_is_saved_with_its_fields(client: openai.OpenAI) -> None:
    tools = [
        {**WEATHER_TOOL, "defer_loading": True},
        {"type": "tool_search"},
        {"type": "programmatic_tool_calling", "enabled": False},
        {
            "type": "mcp",
            "server_label": "docs",
            "transport": {"type": "http", "server_url": "https://mcp.example/sse"},
            "allowed_tools": ["search"],
            "credential_id": "cred_123",
        },
        {
            "type": "mcp",
            "server_label": "local",
            "transport": {"type": "stdio", "command": "serve", "cwd": "/srv"},
        },
        {"type": "web_search", "allowed_domains": ["example.com"], "mode": "cached"},
        {"type": "computer_use", "include_screenshots": True},
        {"type": "automations"},
    ]
    agent = client.beta.agents.create(model="gpt-5", tools=tools)  # type: ignore[arg-type]
    try:
        got = [t.type for t in agent.tools]
        assert got == [t["type"] for t in tools]
        fn, _, ptc, mcp, stdio, web, computer, _ = agent.tools
        assert fn.type == "function" and fn.defer_loading is True and fn.name == "get_weather"
        assert ptc.type == "programmatic_tool_calling" and ptc.enabled is False
        assert mcp.type == "mcp" and mcp.connection_origin == "service"
        assert mcp.credential_id == "cred_123" and mcp.transport.type == "http"
        assert stdio.type == "mcp" and stdio.transport.type == "stdio"
        assert web.type == "web_search" and web.mode == "cached" and web.context_size == "medium"
        assert computer.type == "computer_use" and computer.include_screenshots is True
    finally:
        client.beta.agents.delete(agent.id)


def test_update_is_partial(client: openai.OpenAI) -> None:
    agent = client.beta.agents.create(
        model="gpt-5",
        name="Helper",
        instructions="Be brief.",
        metadata={"team": "a", "tier": "1"},
        tools=[WEATHER_TOOL],
        reasoning={"effort": "high"},
        experimental={"time_awareness": True},
    )
    try:
        updated = client.beta.agents.update(agent.id, name="Helper 2", metadata={"team": "b"})
        assert updated.name == "Helper 2"
        assert updated.instructions == "Be brief."  # omitted: unchanged
        assert updated.metadata == {"team": "b"}  # replaced whole
        assert [t.type for t in updated.tools] == ["function"]
        assert updated.reasoning.effort == "high"
        cleared = client.beta.agents.update(agent.id, instructions=None, tools=None, reasoning=None)
        assert cleared.instructions is None and cleared.tools == []
        assert cleared.reasoning.effort == "medium"  # null resets to the default
        assert cleared.experimental is not None and cleared.experimental.time_awareness is True
        assert cleared.name == "Helper 2" and cleared.model == "gpt-5"
    finally:
        client.beta.agents.delete(agent.id)


def test_delete_then_not_found(client: openai.OpenAI) -> None:
    agent = client.beta.agents.create(model="gpt-5")
    gone = client.beta.agents.delete(agent.id)
    assert (gone.id, gone.object, gone.deleted) == (agent.id, "agent.deleted", True)
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.agents.retrieve(agent.id)
    assert caught.value.body["message"] == f"No agent found with id '{agent.id}'."  # type: ignore[index]


def test_auto_pagination_walks_every_agent(client: openai.OpenAI) -> None:
    ids = [client.beta.agents.create(model="gpt-5", metadata={"page": "walk"}).id for _ in range(5)]
    try:
        first = client.beta.agents.list(limit=2)
        assert len(first.data) == 2 and first.has_more
        walked = [a.id for a in client.beta.agents.list(limit=2) if a.metadata.get("page")]
        assert walked == list(reversed(ids))  # newest first
        ascending = [a.id for a in client.beta.agents.list(limit=3, order="asc") if a.id in ids]
        assert ascending == ids
    finally:
        for agent_id in ids:
            client.beta.agents.delete(agent_id)


@pytest.mark.anyio
async def test_async_client_drives_agents(aclient: openai.AsyncOpenAI) -> None:
    agent = await aclient.beta.agents.create(model="gpt-5", name="async")
    try:
        assert (await aclient.beta.agents.retrieve(agent.id)).name == "async"
        updated = await aclient.beta.agents.update(agent.id, service_tier="flex")
        assert updated.service_tier == "flex"
        seen = [a.id async for a in aclient.beta.agents.list(limit=1)]
        assert agent.id in seen
    finally:
        await aclient.beta.agents.delete(agent.id)


def test_templates_hide_write_only_fields(client: openai.OpenAI) -> None:
    file = client.files.create(file=("data.csv", b"a,b\n1,2\n"), purpose="assistants")
    templates = client.beta.agents.environments.templates
    template = templates.create(
        name="py",
        files=[
            {"type": "file_id", "file_id": file.id, "path": "/workspace/data.csv"},
            {"type": "inline", "data": "print(1)", "path": "/workspace/main.py"},
        ],
        packages={"python": ["pandas"]},
        network={"access": "restricted", "allowed_domains": ["pypi.org"]},
        setup_commands=[{"command": "pip install -e ."}],
        env={"TOKEN": "secret"},
    )
    try:
        raw = template.to_dict()
        assert "env" not in raw and "setup_commands" not in raw
        assert template.packages.python == ["pandas"] and template.packages.npm == []
        assert template.network.access == "restricted"
        assert [f.type for f in template.files] == ["file_id", "inline"]
        assert template.files[1].type == "inline" and template.files[1].size_bytes == 8
        renamed = templates.update(template.id, name="py2")
        assert renamed.name == "py2" and renamed.packages.python == ["pandas"]
        assert template.id in [t.id for t in templates.list()]
        assert templates.retrieve(template.id).name == "py2"
        gone = templates.delete(template.id)
        assert gone.object == "agent.environment.template.deleted" and gone.deleted
        with pytest.raises(openai.NotFoundError):
            templates.retrieve(template.id)
    finally:
        client.files.delete(file.id)
