"""Vaults and their credentials on an agents target, end to end through the sandbox.

A vault spec deploys a vault and one vault_credential per credential; an agent's mcp tool
names one (`credential: crm/crm-mcp`) and gets its id. Secrets come from the environment
only: the plan holds `(secret from $NAME)` and a digest, the credential's metadata the
digest, and the sandbox's store the value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from asst_deploy import identity
from asst_deploy.conversation.script import Conversation
from asst_deploy.engine import operations, render
from asst_deploy.engine.apply import apply_plan
from asst_deploy.errors import Location
from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.generations.agents.driver import AgentsDriver
from asst_deploy.generations.sdk.driver_base import DriverOptions
from asst_deploy.kinds.vault_credential import SECRETS_KEY
from asst_deploy.plan import Create, Delete, Replace, Update
from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.sandbox.vaults import CREDENTIAL, SECRETS

from .conftest import Deployer, assert_no_duplicates, managed_counts, write_project
from .test_cli import run
from .test_generations import fresh_target
from .test_interrupted import SERIAL, Crash, Crashing

CRM_TOKEN = "crm-token-5b1e9f"
WAREHOUSE_TOKEN = "warehouse-token-77c2a0"
VAULT = """\
kind: vault
key: crm
name: CRM
metadata: {team: sales}
credentials:
  - name: crm-mcp
    auth:
      type: static_bearer
      mcp_server_url: https://mcp.example.com/crm
      token: {from_env: CRM_TOKEN}
  - name: warehouse
    auth:
      type: environment_variable
      secret_name: WAREHOUSE_TOKEN
      secret_value: {from_env: WAREHOUSE_TOKEN}
      networking: {type: limited, allowed_hosts: [db.example.com]}
"""
PROJECT = {
    "asst-deploy.yaml": """\
project: vlt
targets:
  sandbox: {type: sandbox, api: agents}
default_target: sandbox
""",
    "vaults/crm.yaml": VAULT,
    "assistants/analyst.yaml": """\
kind: assistant
key: analyst
model: gpt-5.4-mini
instructions: Look customers up in the CRM.
tools:
  - type: mcp
    server_label: crm
    transport: {type: http, server_url: "https://mcp.example.com/crm"}
    credential: crm/crm-mcp
""",
}
SPEC = "vaults/crm.yaml"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("CRM_TOKEN", CRM_TOKEN)
    monkeypatch.setenv("WAREHOUSE_TOKEN", WAREHOUSE_TOKEN)
    return monkeypatch


@pytest.fixture
def vaults(tmp_path: Path, client: openai.OpenAI, secrets: pytest.MonkeyPatch) -> Deployer:
    return Deployer(write_project(tmp_path / "vlt", PROJECT), AgentsBackend(client))


def stored(server: SandboxServer, client: openai.OpenAI) -> dict[str, dict[str, str]]:
    """Credential name -> the secrets the sandbox keeps for it."""
    store = server.sandbox.store
    return {
        c.name: store.get(CREDENTIAL, c.id, parent=v.id)[SECRETS]  # type: ignore[index]
        for v in client.beta.agents.vaults.list()
        for c in client.beta.agents.vaults.credentials.list(v.id)
    }


def credential_ids(client: openai.OpenAI) -> dict[str, str]:
    return {
        c.name: c.id
        for v in client.beta.agents.vaults.list()
        for c in client.beta.agents.vaults.credentials.list(v.id)
    }


def writes(server: SandboxServer, since: int) -> list[str]:
    return [f"{e.method} {e.path}" for e in server.log.since(since) if e.method != "GET"]


def rotate_call(client: openai.OpenAI, name: str) -> str:
    """The request that updates (rotates) credential `name`."""
    for v in client.beta.agents.vaults.list():
        for c in client.beta.agents.vaults.credentials.list(v.id):
            if c.name == name:
                return f"POST /v1/vaults/{v.id}/credentials/{c.id}"
    raise AssertionError(f"no credential {name}")


def test_apply_then_plan_is_empty_and_only_the_sandbox_holds_the_secret(
    vaults: Deployer, server: SandboxServer, client: openai.OpenAI
) -> None:
    plan = vaults.apply()
    assert {(a.kind, a.key) for a in plan.actions if isinstance(a, Create)} == {
        ("vault", "crm"),
        ("vault_credential", "crm/crm-mcp"),
        ("vault_credential", "crm/warehouse"),
        ("agent", "analyst"),
    }
    shown = render.text(plan) + render.markdown(plan) + render.to_json(plan)
    assert "(secret from $CRM_TOKEN)" in shown and CRM_TOKEN not in shown
    assert vaults.plan().empty
    assert stored(server, client) == {
        "crm-mcp": {"token": CRM_TOKEN},
        "warehouse": {"secret_value": WAREHOUSE_TOKEN},
    }
    (vault,) = client.beta.agents.vaults.list()
    assert (vault.name, vault.metadata["team"]) == ("CRM", "sales")
    credential = client.beta.agents.vaults.credentials.retrieve(
        credential_ids(client)["crm-mcp"], vault_id=vault.id
    )
    assert credential.metadata[SECRETS_KEY].startswith("token=CRM_TOKEN:")
    assert CRM_TOKEN not in credential.model_dump_json()
    # the agent's tool uses the credential by id, and names its vault for sessions
    (agent,) = client.beta.agents.list()
    (tool,) = agent.tools
    assert tool.credential_id == credential.id  # type: ignore[union-attr]
    assert agent.metadata[identity.VAULTS_KEY] == vault.id
    assert_no_duplicates(vaults.backend.read_state(), "vlt")


def test_a_rotation_is_one_secret_changed_and_an_update_of_that_credential(
    vaults: Deployer, server: SandboxServer, client: openai.OpenAI, secrets: pytest.MonkeyPatch
) -> None:
    vaults.apply()
    before = credential_ids(client)
    secrets.setenv("CRM_TOKEN", "crm-token-rotated-31d4")
    plan = vaults.plan()
    (action,) = plan.actions
    assert isinstance(action, Update) and not isinstance(action, Replace)
    assert (action.kind, action.key) == ("vault_credential", "crm/crm-mcp")
    assert [c.field for c in action.changes] == ["token"]
    text = render.text(plan)
    assert text.count("secret changed") == 1
    assert "token: secret changed (from $CRM_TOKEN)" in text
    assert "crm-token-rotated-31d4" not in text + render.to_json(plan)
    start = server.log.total
    vaults.apply()
    # one rotate call of that credential: nothing made or deleted
    assert writes(server, start) == [rotate_call(client, "crm-mcp")]
    assert credential_ids(client) == before
    assert stored(server, client)["crm-mcp"] == {"token": "crm-token-rotated-31d4"}
    assert vaults.plan().empty


def docs_credential(hosts: str = "docs.example.com", metadata: str = "") -> str:
    return f"""\
  - name: docs{metadata}
    auth:
      type: environment_variable
      secret_name: DOCS_TOKEN
      secret_value: {{from_env: DOCS_TOKEN}}
      networking: {{type: limited, allowed_hosts: [{hosts}]}}
"""


def test_a_credential_added_changed_or_removed_shows_alone(
    vaults: Deployer, server: SandboxServer, client: openai.OpenAI, secrets: pytest.MonkeyPatch
) -> None:
    vaults.apply()
    secrets.setenv("DOCS_TOKEN", "docs-token-0c0ffee")
    vaults.write(SPEC, VAULT + docs_credential())
    (action,) = vaults.plan().actions
    assert isinstance(action, Create)
    assert (action.kind, action.key) == ("vault_credential", "crm/docs")
    vaults.apply()
    assert vaults.plan().empty
    # what the rotate call cannot change is a replace of that credential alone
    hosts = "docs.example.com, cdn.example.com"
    vaults.write(SPEC, VAULT + docs_credential(hosts))
    (action,) = vaults.plan().actions
    assert isinstance(action, Replace) and action.key == "crm/docs"
    assert action.reason == "networking cannot be changed in place"
    vaults.apply()
    assert vaults.plan().empty
    # its own metadata changes in place, and the secret stays what it is
    vaults.write(SPEC, VAULT + docs_credential(hosts, "\n    metadata: {owner: docs}"))
    (action,) = vaults.plan().actions
    assert isinstance(action, Update) and [c.field for c in action.changes] == ["metadata"]
    start = server.log.total
    vaults.apply()
    assert writes(server, start) == [rotate_call(client, "docs")]
    assert stored(server, client)["docs"] == {"secret_value": "docs-token-0c0ffee"}
    assert vaults.plan().empty
    # removed: kept until --prune, which deletes that credential alone
    vaults.write(SPEC, VAULT)
    plan = vaults.plan()
    assert plan.empty
    assert [(k.kind, k.key) for k in plan.kept] == [("vault_credential", "crm/docs")]
    (action,) = vaults.plan(prune=True).actions
    assert isinstance(action, Delete) and action.key == "crm/docs"
    vaults.apply(prune=True)
    assert vaults.plan(prune=True).empty
    assert set(credential_ids(client)) == {"crm-mcp", "warehouse"}


def test_a_replaced_credential_repoints_the_agent_that_uses_it(
    vaults: Deployer, client: openai.OpenAI
) -> None:
    vaults.apply()
    old = credential_ids(client)["crm-mcp"]
    vaults.edit(SPEC, "https://mcp.example.com/crm", "https://mcp.example.com/crm/v2")
    plan = vaults.plan()
    assert [(type(a).__name__, a.kind, a.key) for a in plan.actions] == [
        ("Replace", "vault_credential", "crm/crm-mcp"),
        ("Update", "agent", "analyst"),
    ]
    agent_update = plan.actions[1]
    assert isinstance(agent_update, Update)
    assert [c.field for c in agent_update.changes] == ["tools"]
    assert f'"credential_id": "{old}"' in render.text(plan)
    vaults.apply()
    assert vaults.plan().empty
    new = credential_ids(client)["crm-mcp"]
    assert new != old
    (agent,) = client.beta.agents.list()
    assert agent.tools[0].credential_id == new  # type: ignore[union-attr]


def test_destroy_leaves_nothing(vaults: Deployer, client: openai.OpenAI) -> None:
    vaults.apply()
    plan = vaults.destroy()
    assert [(a.kind, a.key) for a in plan.actions] == [
        ("agent", "analyst"),
        ("vault_credential", "crm/crm-mcp"),
        ("vault_credential", "crm/warehouse"),
        ("vault", "crm"),
    ]
    assert not list(client.beta.agents.vaults.list())
    assert not list(client.beta.agents.list())
    state = vaults.backend.read_state()
    assert not state.of("vault") and not state.of("vault_credential")


# ---- the command line, against a running sandbox (its request log is the test's) ------


@pytest.fixture
def cli_project(
    tmp_path: Path, server: SandboxServer, secrets: pytest.MonkeyPatch
) -> Iterator[Path]:
    files = dict(PROJECT)
    files["asst-deploy.yaml"] = f"""\
project: vlt
targets:
  remote: {{type: openai, api: agents, base_url: "{server.base_url}", api_key_env: VLT_KEY}}
default_target: remote
"""
    secrets.setenv("VLT_KEY", "sandbox")
    yield write_project(tmp_path / "cli", files)


def test_a_missing_variable_exits_1_naming_it_before_any_call(
    cli_project: Path, server: SandboxServer, secrets: pytest.MonkeyPatch
) -> None:
    secrets.delenv("CRM_TOKEN")
    start = server.log.total
    for command in (["plan"], ["apply", "--auto-approve"]):
        result = run(*command, str(cli_project))
        assert result.code == 1, (command, result.err)
        assert "the environment variable CRM_TOKEN is not set" in result.err
        assert "vaults/crm.yaml:10:" in result.err  # where the spec reads it
        assert "Traceback" not in result.err
    assert server.log.since(start) == []
    # validate needs no secret, and destroy reads none
    assert run("validate", str(cli_project)).code == 0
    assert run("destroy", "--auto-approve", str(cli_project)).code == 0


def test_saved_plans_apply_and_a_rotation_since_makes_one_stale(
    cli_project: Path, tmp_path: Path, secrets: pytest.MonkeyPatch
) -> None:
    saved = tmp_path / "plan.json"
    assert run("plan", str(cli_project), "--out", str(saved)).code == 0
    result = run("apply", str(saved), "--auto-approve")
    assert result.code == 0, result.err
    assert "No changes." in run("plan", str(cli_project)).out
    # a plan made before the variable changed is stale: its digest is not the value's now
    secrets.setenv("WAREHOUSE_TOKEN", "warehouse-token-next")
    assert run("plan", str(cli_project), "--out", str(saved)).code == 0
    secrets.setenv("WAREHOUSE_TOKEN", "warehouse-token-other")
    result = run("apply", str(saved), "--auto-approve")
    assert result.code == 1
    assert "is stale; nothing was changed" in result.err
    assert "warehouse-token" not in result.err + result.out
    secrets.setenv("WAREHOUSE_TOKEN", "warehouse-token-next")
    result = run("apply", str(saved), "--auto-approve")
    assert result.code == 0, result.err
    assert "No changes." in run("plan", str(cli_project)).out


# ---- crashes --------------------------------------------------------------------------


def managed(deployer: Deployer) -> Counter[tuple[str, str]]:
    return managed_counts(deployer.backend.read_state(), "vlt")


def change(deployer: Deployer, secrets: pytest.MonkeyPatch) -> None:
    """A rotation (CRM_TOKEN), a replace (warehouse's hosts) that nothing points at, and a
    replace (crm-mcp's URL) the agent is repointed after."""
    secrets.setenv("CRM_TOKEN", "crm-token-after-crash")
    deployer.edit(SPEC, "[db.example.com]", "[db.example.com, db2.example.com]")
    deployer.edit(SPEC, "https://mcp.example.com/crm", "https://mcp.example.com/crm2")


@pytest.mark.parametrize("phase", ["first", "change"])
@pytest.mark.parametrize("committed", [False, True], ids=["lost", "committed"])
def test_a_crash_at_every_call_converges_without_duplicates(
    vaults: Deployer,
    server: SandboxServer,
    client: openai.OpenAI,
    secrets: pytest.MonkeyPatch,
    committed: bool,
    phase: str,
) -> None:
    def start() -> None:
        fresh_target(vaults)
        secrets.setenv("CRM_TOKEN", CRM_TOKEN)
        vaults.write(SPEC, VAULT)
        if phase == "change":
            vaults.apply()
            change(vaults, secrets)

    start()
    spy = Crashing(vaults.backend, k=0, committed=False)
    vaults.apply(backend=spy, options=SERIAL)  # type: ignore[arg-type]
    wanted = managed(vaults)
    assert set(wanted) == {
        ("vault", "crm"),
        ("vault_credential", "crm/crm-mcp"),
        ("vault_credential", "crm/warehouse"),
        ("agent", "analyst"),
    }
    for k in range(1, len(spy.calls) + 1):
        start()
        crashing = Crashing(vaults.backend, k, committed)
        with pytest.raises(Crash):
            vaults.apply(backend=crashing, options=SERIAL)  # type: ignore[arg-type]
        vaults.apply(prune=True)
        assert vaults.plan(prune=True).empty, k
        assert managed(vaults) == wanted, k
        token = "crm-token-after-crash" if phase == "change" else CRM_TOKEN
        assert stored(server, client)["crm-mcp"] == {"token": token}, k
        (agent,) = client.beta.agents.list()
        assert agent.tools[0].credential_id == credential_ids(client)["crm-mcp"], k  # type: ignore[union-attr]


OAUTH = """\
  - name: oauth
    auth:
      type: mcp_oauth
      mcp_server_url: https://mcp.example.com/oauth
      access_token: {from_env: OAUTH_ACCESS}
      refresh:
        client_id: asst
        refresh_token: {from_env: OAUTH_REFRESH}
        token_endpoint: https://auth.example.com/token
        token_endpoint_auth: {type: client_secret_post, client_secret: {from_env: OAUTH_CLIENT}}
        scope: crm.read
  - name: expiring
    auth:
      type: mcp_oauth
      mcp_server_url: https://mcp.example.com/expiring
      access_token: {from_env: OAUTH_ACCESS}
      expires_at: "2030-01-01T00:00:00Z"
"""


def test_oauth_credentials_round_trip_rotate_and_replace(
    vaults: Deployer, server: SandboxServer, client: openai.OpenAI, secrets: pytest.MonkeyPatch
) -> None:
    for name, value in (("ACCESS", "oa-1"), ("REFRESH", "or-1"), ("CLIENT", "oc-1")):
        secrets.setenv(f"OAUTH_{name}", value)
    vaults.write(SPEC, VAULT + OAUTH)
    vaults.apply()
    assert vaults.plan().empty
    held = stored(server, client)
    assert held["oauth"] == {
        "access_token": "oa-1",
        "refresh_token": "or-1",
        "client_secret": "oc-1",
    }
    assert held["expiring"] == {"access_token": "oa-1"}
    # the client secret rotates in place: one secret changed
    secrets.setenv("OAUTH_CLIENT", "oc-2")
    plan = vaults.plan()
    (action,) = plan.actions
    assert isinstance(action, Update) and action.key == "crm/oauth"
    assert render.text(plan).count("secret changed (from $OAUTH_CLIENT)") == 1
    vaults.apply()
    assert stored(server, client)["oauth"]["client_secret"] == "oc-2"
    assert vaults.plan().empty
    # the scope and an expiry change in place; the OAuth client is a replace
    changed = OAUTH.replace("crm.read", "crm.write").replace("2030", "2031")
    vaults.write(SPEC, VAULT + changed)
    plan = vaults.plan()
    assert [(type(a).__name__, a.key, [c.field for c in a.changes]) for a in plan.actions] == [  # type: ignore[attr-defined]
        ("Update", "crm/expiring", ["expires_at"]),
        ("Update", "crm/oauth", ["refresh"]),
    ]
    vaults.apply()
    assert vaults.plan().empty
    vaults.write(SPEC, VAULT + changed.replace("client_id: asst", "client_id: other"))
    (action,) = vaults.plan().actions
    assert isinstance(action, Replace) and action.reason == "refresh cannot be changed in place"
    vaults.apply()
    assert vaults.plan().empty


def test_a_conversation_session_gets_the_vaults_of_the_agents_credentials(
    vaults: Deployer, client: openai.OpenAI
) -> None:
    vaults.apply()
    (vault,) = client.beta.agents.vaults.list()
    options = DriverOptions(root=vaults.root, sleep=lambda s: None, clock=lambda: 0.0)
    driver = AgentsDriver(client, options)
    deployed = driver.find("vlt", "analyst", "sandbox")
    talk = Conversation("crm", Location("crm.conv.yaml"), (), {}, False, 10.0, 1, 1.0)
    transcript = driver.start(deployed, talk)
    session = client.beta.agents.sessions.retrieve(transcript.thread_id)
    assert session.vault_ids == [vault.id]
    driver.finish(transcript)


def test_drift_on_a_credential_shows_and_refresh_only_keeps_its_digests(
    vaults: Deployer, client: openai.OpenAI
) -> None:
    vaults.apply()
    (vault,) = client.beta.agents.vaults.list()
    credential_id = credential_ids(client)["crm-mcp"]
    held = client.beta.agents.vaults.credentials.retrieve(credential_id, vault_id=vault.id)
    edited = {**held.metadata, "owner": "someone"}
    client.beta.agents.vaults.credentials.update(credential_id, vault_id=vault.id, metadata=edited)
    (action,) = vaults.plan().actions
    assert isinstance(action, Update) and action.drift
    assert [c.field for c in action.changes] == ["metadata"]
    # refresh-only accepts it: the stamp is rewritten, the secrets' digests kept
    project = vaults.load()
    remote = vaults.backend.read_state()
    refresh = operations.refresh_plan(project, remote)
    assert [(a.kind, a.key) for a in refresh.actions] == [("vault_credential", "crm/crm-mcp")]
    apply_plan(refresh, project.root, vaults.backend, remote, options=vaults.options)
    (action,) = vaults.plan().actions
    assert isinstance(action, Update) and not action.drift
    assert [c.field for c in action.changes] == ["metadata"]  # back to the spec; no secret
    vaults.apply()
    assert vaults.plan().empty
