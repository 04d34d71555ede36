"""Environment templates (every field), prewarmed environments, a session's environment, live files."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from asst_deploy.sandbox.environments import ENVIRONMENT
from asst_deploy.sandbox.routes.agents import TEMPLATE
from asst_deploy.sandbox.server import SandboxServer
from tests.sandbox.agents.conftest import log_text

ZIP = base64.b64encode(b"PK\x05\x06" + b"\x00" * 18).decode()  # an empty zip archive


@pytest.fixture
def file_id(client: openai.OpenAI) -> Iterator[str]:
    file = client.files.create(file=("data.csv", b"a,b\n1,2\n"), purpose="assistants")
    yield file.id
    client.files.delete(file.id)


def _every_field(file_id: str, secret: str) -> dict[str, Any]:
    return {
        "name": "full",
        "capability_directories": ["/workspace/.agents"],
        "desktop": {"enabled": True},
        "env": {"TOKEN": secret},
        "files": [
            {"type": "file_id", "file_id": file_id, "path": "/workspace/data.csv"},
            {
                "type": "inline",
                "data": base64.b64encode(b"print(1)\n").decode(),
                "path": "/workspace/main.py",
            },
        ],
        "network": {"access": "restricted", "allowed_domains": ["pypi.org"]},
        "packages": {"npm": ["left-pad"], "python": ["pandas"], "system": ["git"]},
        "plugins": [
            {
                "type": "inline",
                "name": "fmt",
                "description": "Formats.",
                "source": {"type": "base64", "media_type": "application/zip", "data": ZIP},
            }
        ],
        "setup_commands": [{"command": f"echo {secret}", "cwd": "/workspace"}],
        "skills": [
            {"type": "skill_reference", "skill_id": "skill_x", "version": "latest"},
            {
                "type": "inline",
                "name": "lint",
                "description": "Lints.",
                "source": {"type": "base64", "media_type": "application/zip", "data": ZIP},
            },
        ],
    }


def test_a_template_round_trips_every_field_and_hides_the_write_only_ones(
    client: openai.OpenAI, server: SandboxServer, file_id: str
) -> None:
    templates = client.beta.agents.environments.templates
    secret = f"secret-{uuid.uuid4().hex}"
    start = server.log.total
    template = templates.create(**_every_field(file_id, secret))
    try:
        shown = template.to_dict()
        for key in ("id", "created_at", "updated_at"):
            shown.pop(key)
        assert shown == {
            "object": "agent.environment.template",
            "name": "full",
            "capability_directories": ["/workspace/.agents"],
            "desktop": {"enabled": True},
            "files": [
                {"type": "file_id", "file_id": file_id, "path": "/workspace/data.csv"},
                {"type": "inline", "path": "/workspace/main.py", "size_bytes": 9},  # decoded
            ],
            "network": {"access": "restricted", "allowed_domains": ["pypi.org"]},
            "packages": {"npm": ["left-pad"], "python": ["pandas"], "system": ["git"]},
            "plugins": [{"type": "inline", "name": "fmt", "description": "Formats."}],
            "skills": [
                {"type": "skill_reference", "skill_id": "skill_x", "version": "latest"},
                {"type": "inline", "name": "lint", "description": "Lints."},
            ],
        }
        assert templates.retrieve(template.id) == template
        # blocked domains: write-only too
        updated = templates.update(
            template.id, network={"access": "restricted", "blocked_domains": ["evil.example"]}
        )
        assert updated.network.to_dict() == {"access": "restricted", "allowed_domains": []}
        assert updated.packages == template.packages  # omitted: kept
        stored = server.sandbox.store.get(TEMPLATE, template.id)
        assert stored is not None
        assert stored["env"] == {"TOKEN": secret}
        assert stored["setup_commands"] == [{"command": f"echo {secret}", "cwd": "/workspace"}]
        assert stored["network"]["blocked_domains"] == ["evil.example"]
        assert stored["files"][1]["data"] == base64.b64encode(b"print(1)\n").decode()
        assert stored["plugins"][0]["source"]["data"] == ZIP
        assert stored["skills"][1]["source"]["media_type"] == "application/zip"
        answered = log_text(server, start)
        assert secret not in answered and "evil.example" not in answered
        assert ZIP not in answered
        cleared = templates.update(template.id, env=None, setup_commands=None, network=None)
        assert cleared.network.access == "enabled"  # null resets to the default policy
        stored = server.sandbox.store.get(TEMPLATE, template.id)
        assert stored is not None and stored["env"] is None and stored["setup_commands"] is None
    finally:
        templates.delete(template.id)


def test_blocked_domains_need_restricted_access_and_no_allowed_domains(
    client: openai.OpenAI,
) -> None:
    templates = client.beta.agents.environments.templates
    bad = [
        {"access": "enabled", "blocked_domains": ["a.example"]},
        {"access": "restricted", "allowed_domains": ["b.example"], "blocked_domains": ["a.x"]},
        {"access": "restricted", "blocked_domains": ["*.example"]},
    ]
    params = [
        "network.blocked_domains",
        "network.blocked_domains",
        "network.blocked_domains[0]",
    ]
    for network, param in zip(bad, params, strict=True):
        with pytest.raises(openai.BadRequestError) as caught:
            templates.create(network=network)  # type: ignore[arg-type]
        assert caught.value.body["param"] == param  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        templates.create(
            plugins=[
                {
                    "type": "inline",
                    "name": "p",
                    "description": "d",
                    "source": {"type": "url", "media_type": "application/zip", "data": ZIP},  # type: ignore[typeddict-item]
                }
            ]
        )
    assert caught.value.body["param"] == "plugins[0].source.type"  # type: ignore[index]


def test_a_prewarmed_environment_is_attached_by_one_session(
    client: openai.OpenAI, server: SandboxServer, file_id: str
) -> None:
    environments = client.beta.agents.environments
    template = environments.templates.create(
        packages={"python": ["numpy"]},
        files=[{"type": "file_id", "file_id": file_id, "path": "/workspace/data.csv"}],
    )
    vault = client.beta.agents.vaults.create(name="env vault")
    env = environments.create(
        environment={
            "type": "openai_hosted",
            "environment_template_id": template.id,
            "env": {"KEY": "value"},
            "plugins": [
                {
                    "type": "inline",
                    "name": "fmt",
                    "description": "Formats.",
                    "source": {"type": "base64", "media_type": "application/zip", "data": ZIP},
                }
            ],
        },
        vault_ids=[vault.id],
    )
    assert env.object == "agent.environment" and env.id.startswith("env_")
    assert (env.status, env.type) == ("ready", "openai_hosted")
    assert [(f.type, f.path, f.size_bytes) for f in env.files] == [
        ("file_id", "/workspace/data.csv", 8)
    ]
    assert [p.name for p in env.plugins] == ["fmt"] and env.skills == []
    assert environments.retrieve(env.id) == env
    assert env.id in [e.id for e in environments.list(type="openai_hosted")]
    stored = server.sandbox.store.get(ENVIRONMENT, env.id)
    assert stored is not None and stored["_definition"]["env"] == {"KEY": "value"}

    sessions = client.beta.agents.sessions
    session = sessions.create(
        agent={"model": "gpt-5"},
        environment={"type": "openai_hosted", "environment_id": env.id},
    )
    hosted = session.environment
    assert hosted.type == "openai_hosted" and hosted.id == env.id
    assert hosted.packages.python == ["numpy"]  # from the template
    assert [f.id for f in hosted.files] == [f.id for f in env.files]
    assert environments.retrieve(env.id).status == "connected"
    with pytest.raises(openai.ConflictError):
        sessions.create(
            agent={"model": "gpt-5"},
            environment={"type": "openai_hosted", "environment_id": env.id},
        )
    with pytest.raises(openai.BadRequestError) as caught:
        sessions.create(
            agent={"model": "gpt-5"},
            environment={
                "type": "openai_hosted",
                "environment_id": env.id,
                "packages": {"python": ["x"]},
            },
        )
    assert caught.value.body["param"] == "environment.packages"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as missing:
        sessions.create(
            agent={"model": "gpt-5"},
            environment={"type": "openai_hosted", "environment_id": "env_missing"},
        )
    assert missing.value.body["param"] == "environment.environment_id"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        environments.retrieve("env_missing")
    sessions.delete(session.id)
    assert environments.retrieve(env.id).status == "disconnected"
    environments.templates.delete(template.id)
    client.beta.agents.vaults.delete(vault.id)


def test_an_idempotency_key_creates_one_environment(client: openai.OpenAI) -> None:
    environments = client.beta.agents.environments
    key = uuid.uuid4().hex
    spec: Any = {"type": "openai_hosted", "packages": {"npm": ["a"]}}
    first = environments.create(environment=spec, idempotency_key=key)
    again = environments.create(environment=spec, idempotency_key=key)
    assert again.id == first.id
    with pytest.raises(openai.BadRequestError) as caught:
        environments.create(environment={"type": "openai_hosted"}, idempotency_key=key)
    assert caught.value.body["param"] == "Idempotency-Key"  # type: ignore[index]
    assert environments.create(environment=spec).id != first.id


def test_live_files_upload_replace_list_and_filter(client: openai.OpenAI, file_id: str) -> None:
    environments = client.beta.agents.environments
    env = environments.create(
        environment={
            "type": "openai_hosted",
            "files": [
                {
                    "type": "inline",
                    "data": base64.b64encode(b"abc").decode(),
                    "path": "/workspace/a.txt",
                }
            ],
        }
    )
    files = environments.files
    added = files.create(env.id, type="file_id", file_id=file_id, path="/workspace/src/data.csv")
    assert added.to_dict() == {
        "object": "agent.environment.file",
        "environment_id": env.id,
        "path": "/workspace/src/data.csv",
        "size_bytes": 8,
    }
    files.create(
        env.id, type="inline", data=base64.b64encode(b"x").decode(), path="/workspace/src/b.py"
    )
    replaced = files.create(
        env.id, type="inline", data=base64.b64encode(b"12345").decode(), path="/workspace/a.txt"
    )
    assert replaced.size_bytes == 5
    page = files.list(env.id, limit=2)
    assert [f.path for f in page.data] == ["/workspace/src/data.csv", "/workspace/src/b.py"]
    assert page.has_more and page.next
    listed = [(f.path, f.size_bytes) for f in files.list(env.id, limit=2)]  # follows `next`
    assert listed == [
        ("/workspace/src/data.csv", 8),
        ("/workspace/src/b.py", 1),
        ("/workspace/a.txt", 5),  # replaced in place: no second entry
    ]
    ascending = [f.path for f in files.list(env.id, order="asc", limit=1)]
    assert ascending == ["/workspace/a.txt", "/workspace/src/b.py", "/workspace/src/data.csv"]
    assert [f.path for f in files.list(env.id, path="/workspace/src")] == [
        "/workspace/src/data.csv",
        "/workspace/src/b.py",
    ]
    for bad in ("/etc/passwd", "/workspace/../etc/x", "relative.txt"):
        with pytest.raises(openai.BadRequestError) as caught:
            files.create(env.id, type="inline", data="eA==", path=bad)
        assert caught.value.body["param"] == "path"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as missing:
        files.create(env.id, type="file_id", file_id="file-missing", path="/workspace/x")
    assert missing.value.body["param"] == "file_id"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        files.list("env_missing")


def test_a_hosted_sessions_environment_is_an_environment_too(client: openai.OpenAI) -> None:
    session = client.beta.agents.sessions.create(
        agent={"model": "gpt-5"},
        environment={
            "type": "openai_hosted",
            "container_size": "large",
            "files": [{"type": "inline", "data": "aGk=", "path": "/workspace/hi.txt"}],
        },
    )
    hosted = session.environment
    assert hosted.type == "openai_hosted" and hosted.container_size == "large"
    env = client.beta.agents.environments.retrieve(hosted.id)
    assert env.status == "connected"
    assert [(f.id, f.size_bytes) for f in env.files] == [(hosted.files[0].id, 2)]
    assert [f.path for f in client.beta.agents.environments.files.list(env.id)] == [
        "/workspace/hi.txt"
    ]
    client.beta.agents.sessions.delete(session.id)
    assert client.beta.agents.environments.retrieve(env.id).status == "disconnected"
