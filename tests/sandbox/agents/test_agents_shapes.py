"""Shapes where saved and session types differ: tools, template files, skills, tool list sizes."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from tests.sandbox.agents.conftest import WEATHER_TOOL

NONE = {"type": "none"}


@pytest.fixture
def file_id(client: openai.OpenAI) -> Iterator[str]:
    file = client.files.create(file=("data.csv", b"a,b\n1,2\n"), purpose="assistants")
    yield file.id
    client.files.delete(file.id)


def test_a_session_holds_its_agents_tools_as_session_tools(client: openai.OpenAI) -> None:
    agent = client.beta.agents.create(
        model="gpt-5",
        tools=[
            {**WEATHER_TOOL, "defer_loading": True},  # type: ignore[list-item]
            {"type": "tool_search"},
            {
                "type": "mcp",
                "server_label": "docs",
                "transport": {
                    "type": "http",
                    "server_url": "https://mcp.example/sse",
                    "headers": {"X-Team": "a"},
                },
            },
        ],
    )
    try:
        assert [t.type for t in agent.tools] == ["function", "tool_search", "mcp"]
        saved_mcp = agent.tools[2]
        assert saved_mcp.type == "mcp" and saved_mcp.transport.type == "http"
        assert saved_mcp.transport.headers == {"X-Team": "a"}
        session = client.beta.agents.sessions.create(agent_id=agent.id, environment=NONE)  # type: ignore[arg-type]
        # A session's AgentTool has no tool_search (its deferred functions carry it) and
        # its http transport no headers.
        assert [t.type for t in session.agent.tools] == ["function", "mcp"]
        fn, mcp = session.agent.tools
        assert fn.type == "function" and fn.defer_loading is True
        assert mcp.type == "mcp" and mcp.transport.to_dict() == {
            "type": "http",
            "server_url": "https://mcp.example/sse",
        }
        updated = client.beta.agents.sessions.update(
            session.id,
            agent={
                "tools": [
                    {
                        "type": "mcp",
                        "server_label": "other",
                        "transport": {
                            "type": "http",
                            "server_url": "https://mcp.example/other",
                            "headers": {"Authorization": "Bearer secret"},
                        },
                    }
                ]
            },
        )
        [replaced] = updated.agent.tools
        assert replaced.type == "mcp" and "headers" not in replaced.transport.to_dict()
    finally:
        client.beta.agents.delete(agent.id)


def test_template_files_and_skills_as_each_type_declares_them(
    client: openai.OpenAI, file_id: str
) -> None:
    templates = client.beta.agents.environments.templates
    template = templates.create(
        files=[
            {"type": "file_id", "file_id": file_id, "path": "/workspace/data.csv"},
            {"type": "inline", "data": "print(1)", "path": "/workspace/main.py"},
        ],
        skills=[
            {"type": "skill_reference", "skill_id": "skill_abc", "version": "2"},
            {"type": "skill_reference", "skill_id": "skill_def"},
            {
                "type": "inline",
                "name": "lint",
                "description": "Lints.",
                "source": {"type": "base64", "media_type": "application/zip", "data": "UEs="},
            },
        ],
    )
    try:
        # The template's file_id entry declares no size; its inline entry does.
        by_type = {f["type"]: f for f in template.to_dict()["files"]}
        assert "size_bytes" not in by_type["file_id"]
        assert by_type["inline"]["size_bytes"] == 8
        assert [s.to_dict() for s in template.skills] == [
            {"type": "skill_reference", "skill_id": "skill_abc", "version": "2"},
            {"type": "skill_reference", "skill_id": "skill_def", "version": None},
            {"type": "inline", "name": "lint", "description": "Lints."},
        ]
        session = client.beta.agents.sessions.create(
            agent={"model": "gpt-5"},
            environment={"type": "openai_hosted", "environment_template_id": template.id},
        )
        env = session.environment
        assert env.type == "openai_hosted"
        # A session's files all show their size and a session-scoped id.
        assert [(f.type, f.size_bytes) for f in env.files] == [("file_id", 8), ("inline", 8)]
        first, second, inline = env.skills
        assert first.type == "skill_reference" and second.type == "skill_reference"
        assert (first.skill_id, first.name, first.version) == ("skill_abc", "skill_abc", "2")
        assert (second.skill_id, second.version) == ("skill_def", "1")
        assert first.description
        assert inline.type == "inline" and inline.name == "lint"
        client.beta.agents.sessions.delete(session.id)
    finally:
        templates.delete(template.id)


def test_session_tools_may_reach_8_mib_where_a_saved_agent_stops_at_3(
    client: openai.OpenAI,
) -> None:
    big = [{**WEATHER_TOOL, "description": "x" * (4 * 1024 * 1024)}]
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.agents.create(model="gpt-5", tools=big)  # type: ignore[arg-type]
    assert caught.value.code == "tools_above_max_size"
    session = client.beta.agents.sessions.create(
        agent={"model": "gpt-5", "tools": big},  # type: ignore[typeddict-item]
        environment=NONE,  # type: ignore[arg-type]
    )
    assert [t.type for t in session.agent.tools] == ["function"]
    updated = client.beta.agents.sessions.update(session.id, agent={"tools": big})  # type: ignore[typeddict-item]
    assert len(updated.agent.tools) == 1
    client.beta.agents.sessions.delete(session.id)
