"""Vaults and credentials through the SDK: CRUD, pages, filters, and secrets that never come back."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.beta.agents import Vault

from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.sandbox.vaults import CREDENTIAL, SECRETS
from tests.sandbox.agents.conftest import log_text, problems

NONE: Any = {"type": "none"}


@pytest.fixture
def vault(client: openai.OpenAI) -> Iterator[Vault]:
    created = client.beta.agents.vaults.create(name="team")
    yield created
    with contextlib.suppress(openai.NotFoundError):  # the test may have deleted it
        client.beta.agents.vaults.delete(created.id)


def _secret(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex}"


def test_vault_crud_round_trip(client: openai.OpenAI) -> None:
    vaults = client.beta.agents.vaults
    vault = vaults.create(name="  Team vault  ", metadata={"team": "a"})
    assert vault.object == "vault" and vault.id.startswith("vault_")
    assert vault.name == "Team vault"  # "The name is trimmed before storage"
    assert vault.metadata == {"team": "a"}
    assert vaults.retrieve(vault.id) == vault
    renamed = vaults.update(vault.id, name="Other", metadata={"team": "b", "env": "ci"})
    assert (renamed.name, renamed.metadata) == ("Other", {"team": "b", "env": "ci"})
    assert vaults.update(vault.id, name=None).name is None  # null clears
    assert vaults.update(vault.id, metadata={}).metadata == {}
    unnamed = vaults.create()
    assert unnamed.name is None and unnamed.metadata == {}
    gone = vaults.delete(vault.id)
    assert (gone.id, gone.object, gone.deleted) == (vault.id, "vault.deleted", True)
    with pytest.raises(openai.NotFoundError) as caught:
        vaults.retrieve(vault.id)
    assert caught.value.body["message"] == f"No vault found with id '{vault.id}'."  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        vaults.credentials.list(vault.id)
    vaults.delete(unnamed.id)


def test_vault_names_are_1_to_256_bytes_after_trimming(client: openai.OpenAI) -> None:
    for name in ("   ", "é" * 129):
        with pytest.raises(openai.BadRequestError) as caught:
            client.beta.agents.vaults.create(name=name)
        assert caught.value.body["param"] == "name"  # type: ignore[index]
    assert client.beta.agents.vaults.create(name="é" * 128).name == "é" * 128


def test_vault_list_pages_and_filters(client: openai.OpenAI) -> None:
    vaults = client.beta.agents.vaults
    tag = uuid.uuid4().hex
    made = [vaults.create(name=f"v{i}", metadata={"tag": tag}) for i in range(3)]
    try:
        first = vaults.list(limit=2, metadata={"tag": tag})
        assert [v.id for v in first.data] == [made[2].id, made[1].id]  # newest first
        assert first.has_more
        rest = vaults.list(limit=2, metadata={"tag": tag}, after=first.data[-1].id)
        assert [v.id for v in rest.data] == [made[0].id] and not rest.has_more
        every = [v.id for v in vaults.list(limit=1, order="asc", metadata={"tag": tag})]
        assert every == [v.id for v in made]  # auto-pagination follows the cursor
        assert [v.id for v in vaults.list(metadata={"tag": tag}, status="active")] != []
        # nothing is ever archived in the sandbox
        assert list(vaults.list(metadata={"tag": tag}, status=["archived"])) == []
        both = vaults.list(metadata={"tag": tag}, status=["active", "archived"])
        assert len(both.data) == 3
        with pytest.raises(openai.BadRequestError) as caught:
            vaults.list(status="gone")  # type: ignore[arg-type]
        assert caught.value.body["param"] == "status"  # type: ignore[index]
    finally:
        for v in made:
            vaults.delete(v.id)


def test_credential_secrets_are_stored_but_never_answered(
    client: openai.OpenAI, server: SandboxServer, vault: Vault
) -> None:
    credentials = client.beta.agents.vaults.credentials
    secrets = {key: _secret(key) for key in ("token", "value", "access", "refresh", "client")}
    start = server.log.total
    bearer = credentials.create(
        vault.id,
        name="github",
        metadata={"owner": "ci"},
        auth={
            "type": "static_bearer",
            "token": secrets["token"],
            "mcp_server_url": "https://mcp.example/github",
        },
    )
    env_var = credentials.create(
        vault.id,
        name="service",
        auth={
            "type": "environment_variable",
            "secret_name": "SERVICE_API_KEY",
            "secret_value": secrets["value"],
            "networking": {"type": "limited", "allowed_hosts": ["API.Example.com", "10.0.0.1"]},
        },
    )
    oauth = credentials.create(
        vault.id,
        name="docs",
        auth={
            "type": "mcp_oauth",
            "access_token": secrets["access"],
            "mcp_server_url": "https://mcp.example/docs",
            "expires_at": "2026-12-31T23:59:59Z",
            "refresh": {
                "client_id": "client-1",
                "refresh_token": secrets["refresh"],
                "token_endpoint": "https://auth.example/token",
                "token_endpoint_auth": {
                    "type": "client_secret_basic",
                    "client_secret": secrets["client"],
                },
                "scope": "read",
            },
        },
    )
    # the auth type and its non-secret fields come back, and nothing else
    assert bearer.auth.to_dict() == {
        "type": "static_bearer",
        "mcp_server_url": "https://mcp.example/github",
    }
    assert bearer.metadata == {"owner": "ci"} and bearer.vault_id == vault.id
    assert env_var.auth.to_dict() == {
        "type": "environment_variable",
        "secret_name": "SERVICE_API_KEY",
        "networking": {"type": "limited", "allowed_hosts": ["api.example.com", "10.0.0.1"]},
    }
    assert oauth.auth.to_dict() == {
        "type": "mcp_oauth",
        "mcp_server_url": "https://mcp.example/docs",
        "expires_at": "2026-12-31T23:59:59Z",
        "refresh": {
            "client_id": "client-1",
            "resource": None,
            "scope": "read",
            "token_endpoint": "https://auth.example/token",
            "token_endpoint_auth": {"type": "client_secret_basic"},
        },
    }
    assert credentials.retrieve(oauth.id, vault_id=vault.id) == oauth
    listed = {c.id for c in credentials.list(vault.id)}
    assert {bearer.id, env_var.id, oauth.id} <= listed
    # rotation: new secrets in, old ones replaced, still none answered
    rotated = {key: _secret(key) for key in ("token", "access", "client")}
    credentials.update(
        bearer.id, vault_id=vault.id, auth={"type": "static_bearer", "token": rotated["token"]}
    )
    after = credentials.update(
        oauth.id,
        vault_id=vault.id,
        auth={
            "type": "mcp_oauth",
            "access_token": rotated["access"],
            "refresh": {
                "token_endpoint_auth": {
                    "type": "client_secret_basic",
                    "client_secret": rotated["client"],
                },
                "scope": None,
            },
        },
        metadata={"rotated": "yes"},
    )
    # a new access token clears the expiry; a null scope stops sending one
    assert after.auth.type == "mcp_oauth" and after.auth.expires_at is None
    assert after.auth.refresh is not None and after.auth.refresh.scope is None
    assert after.metadata == {"rotated": "yes"} and after.updated_at >= after.created_at

    answered = log_text(server, start)
    for secret in [*secrets.values(), *rotated.values()]:
        assert secret not in answered
    store = server.sandbox.store
    kept = {
        c.id: store.get(CREDENTIAL, c.id, parent=vault.id)[SECRETS]  # type: ignore[index]
        for c in (bearer, env_var, oauth)
    }
    assert kept[bearer.id] == {"token": rotated["token"]}
    assert kept[env_var.id] == {"secret_value": secrets["value"]}
    assert kept[oauth.id] == {
        "access_token": rotated["access"],
        "refresh_token": secrets["refresh"],  # omitted on rotation: kept
        "client_secret": rotated["client"],
    }
    gone = credentials.delete(bearer.id, vault_id=vault.id)
    assert (gone.object, gone.deleted) == ("vault.credential.deleted", True)
    assert store.get(CREDENTIAL, bearer.id, parent=vault.id) is None
    with pytest.raises(openai.NotFoundError):
        credentials.retrieve(bearer.id, vault_id=vault.id)


def test_refused_credentials_name_the_field_never_the_secret(
    client: openai.OpenAI, server: SandboxServer, vault: Vault
) -> None:
    credentials = client.beta.agents.vaults.credentials
    secret = _secret("leak")
    start = server.log.total
    env_auth = {
        "type": "environment_variable",
        "secret_name": "API_KEY",
        "networking": {"type": "unrestricted"},
    }
    cases = [
        ({**env_auth, "secret_value": secret + "\nmore"}, "auth.secret_value"),
        ({**env_auth, "secret_value": secret, "secret_name": "CODEX_TOKEN"}, "auth.secret_name"),
        ({**env_auth, "secret_value": secret, "secret_name": "1BAD"}, "auth.secret_name"),
        (
            {
                **env_auth,
                "secret_value": secret,
                "networking": {"type": "limited", "allowed_hosts": ["https://x.example"]},
            },
            "auth.networking.allowed_hosts[0]",
        ),
        (
            {"type": "static_bearer", "token": secret, "mcp_server_url": "http://plain.example"},
            "auth.mcp_server_url",
        ),
        (
            {
                "type": "mcp_oauth",
                "access_token": secret,
                "mcp_server_url": "https://mcp.example",
                "expires_at": "tomorrow",
            },
            "auth.expires_at",
        ),
    ]
    for auth, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            credentials.create(vault.id, name="bad", auth=auth)  # type: ignore[arg-type]
        assert caught.value.body["param"] == param, auth  # type: ignore[index]
    bearer = credentials.create(
        vault.id,
        name="ok",
        auth={"type": "static_bearer", "token": secret, "mcp_server_url": "https://m.example"},
    )
    with pytest.raises(openai.BadRequestError) as caught:
        credentials.update(
            bearer.id,
            vault_id=vault.id,
            auth={"type": "environment_variable", "secret_value": secret},
        )
    assert caught.value.body["param"] == "auth.type"  # type: ignore[index]
    other = client.beta.agents.vaults.create(name="other")
    with pytest.raises(openai.NotFoundError):  # a credential lives in its own vault only
        credentials.retrieve(bearer.id, vault_id=other.id)
    client.beta.agents.vaults.delete(other.id)
    assert secret not in log_text(server, start)


def test_credential_pages(client: openai.OpenAI, vault: Vault) -> None:
    credentials = client.beta.agents.vaults.credentials
    made = [
        credentials.create(
            vault.id,
            name=f"c{i}",
            metadata={"n": str(i)},
            auth={"type": "static_bearer", "token": _secret("t"), "mcp_server_url": "https://m.x"},
        )
        for i in range(3)
    ]
    page = credentials.list(vault.id, limit=2, order="asc")
    assert [c.id for c in page.data] == [made[0].id, made[1].id] and page.has_more
    assert [c.id for c in credentials.list(vault.id, limit=2)] == [c.id for c in reversed(made)]
    assert [c.id for c in credentials.list(vault.id, metadata={"n": "1"})] == [made[1].id]


def test_sessions_and_environments_check_their_vault_ids(
    client: openai.OpenAI, vault: Vault
) -> None:
    sessions = client.beta.agents.sessions
    session = sessions.create(
        agent={"model": "gpt-5"},
        environment=NONE,
        vault_ids=[vault.id],
    )
    assert session.vault_ids == [vault.id]
    other = client.beta.agents.vaults.create(name="other")
    assert sessions.update(session.id, vault_ids=[other.id, vault.id]).vault_ids == [
        other.id,
        vault.id,
    ]
    assert sessions.retrieve(session.id).vault_ids == [other.id, vault.id]
    client.beta.agents.vaults.delete(other.id)
    with pytest.raises(openai.NotFoundError) as caught:
        sessions.update(session.id, vault_ids=[vault.id, other.id])
    assert caught.value.body["param"] == "vault_ids[1]"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.agents.environments.create(
            environment={"type": "openai_hosted"}, vault_ids=[other.id]
        )
    assert caught.value.body["param"] == "vault_ids[0]"  # type: ignore[index]
    sessions.delete(session.id)


def test_vaults_want_the_agents_beta_header(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.agents.vaults.list(extra_headers={"OpenAI-Beta": "assistants=v2"})
    assert caught.value.code == "invalid_beta"


def test_the_conformance_check_refuses_a_credential_that_shows_its_secret(
    client: openai.OpenAI, server: SandboxServer, vault: Vault
) -> None:
    start = server.log.total
    client.beta.agents.vaults.credentials.create(
        vault.id,
        name="x",
        auth={"type": "static_bearer", "token": _secret("t"), "mcp_server_url": "https://m.x"},
    )
    [entry] = [e for e in server.log.since(start) if e.method == "POST"]
    assert problems(entry) == []
    body = json.loads(entry.body or b"")
    leaky = {**body, "auth": {**body["auth"], "token": "t"}}
    found = problems(dataclasses.replace(entry, body=json.dumps(leaky).encode()))
    assert found and "undeclared keys" in found[0]
