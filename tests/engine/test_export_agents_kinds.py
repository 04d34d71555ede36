"""Export and import of the Agents API's own kinds (environments, skills, vaults with their
credentials, automations) against a project's sandbox db, through the CLI: an export
plans empty on the target it came from, secrets come back as `{from_env: NAME}`, and an
imported skill or credential plans empty under the spec of its key."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from asst_deploy import identity
from asst_deploy.engine.targets import connect
from asst_deploy.kinds.vault_credential import variable
from asst_deploy.sandbox.automations import AUTOMATION
from asst_deploy.sandbox.store import Store
from asst_deploy.spec.loader import load_project
from asst_deploy.state import RemoteState

from .conftest import write_project
from .test_cli import run

CRM_TOKEN = "crm-token-5b1e9f"
WAREHOUSE_TOKEN = "warehouse-token-77c2a0"
MANIFEST = """\
---
name: report-writer
description: Writes the daily sales report from the warehouse data.
---
# Report writer

Run scripts/report.py and summarise its table.
"""
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
project: agentsx
targets:
  sandbox: {type: sandbox, api: agents, db: .state/sandbox.db}
default_target: sandbox
defaults:
  model: gpt-5.4-mini
""",
    "skills/report-writer.yaml": "kind: skill\nkey: report-writer\npath: skills/report-writer\n",
    "skills/report-writer/SKILL.md": MANIFEST,
    "skills/report-writer/scripts/report.py": "print('day,amount')\n",
    "environments/analysis.yaml": """\
kind: environment
key: analysis
packages: {python: [pandas==2.3.3], system: [jq]}
network: {access: restricted, allowed_domains: [api.example.com]}
files: [knowledge/sales.csv]
skills: [report-writer]
""",
    "knowledge/sales.csv": "day,amount\n1,10\n2,20\n",
    "data/numbers.csv": "n\n1\n",
    "vaults/crm.yaml": VAULT,
    "assistants/analyst.yaml": """\
kind: assistant
key: analyst
instructions: Look customers up in the CRM.
environment: analysis
tools:
  - type: mcp
    server_label: crm
    transport: {type: http, server_url: "https://mcp.example.com/crm"}
    credential: crm/crm-mcp
""",
    "assistants/coder.yaml": """\
kind: assistant
key: coder
instructions: Compute with the data.
tools: [{type: code_interpreter}]
tool_resources: {code_interpreter: {files: [data/numbers.csv]}}
""",
    "automations/nightly.yaml": """\
kind: automation
key: nightly
name: Nightly report
type: periodic
expression: "0 6 * * *"
timezone: Europe/Berlin
paused: true
metadata: {team: data}
target:
  new_session:
    agent: analyst
    vaults: [crm]
    input: Write the daily sales report.
""",
    "automations/yearly.yaml": """\
kind: automation
key: yearly
type: once
run_at: 2099-01-01T06:00:00+01:00
target: {new_session: {agent: coder, input: Write the yearly report.}}
""",
}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("CRM_TOKEN", CRM_TOKEN)
    monkeypatch.setenv("WAREHOUSE_TOKEN", WAREHOUSE_TOKEN)
    return monkeypatch


@pytest.fixture
def proj(tmp_path: Path, secrets: pytest.MonkeyPatch) -> Path:
    return write_project(tmp_path / "agentsx", PROJECT)


def remote(project: Path) -> RemoteState:
    with connect(load_project(project).target) as backend:
        return backend.read_state()


def spec(out: Path, rel: str) -> Any:
    return yaml.safe_load((out / rel).read_text())


def plan_json(project: Path) -> dict[str, Any]:
    result = run("plan", str(project), "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_an_export_of_a_deployed_project_plans_empty_on_its_target(
    proj: Path, tmp_path: Path
) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    out = tmp_path / "exported"
    result = run("export", "--all", "--out", str(out), "--dir", str(proj), "--project", "agentsx")
    assert result.code == 0, result.err
    assert "Exported 7 object(s)" in result.out  # credentials and a derived template go in others
    # files of purpose 'assistants' are not served: the user supplies them, as export says
    for rel in ("knowledge/sales.csv", "data/numbers.csv"):
        assert f"put its content at {rel}" in result.err
        write_project(out, {rel: PROJECT[rel]})
    assert run("validate", str(out)).code == 0

    # every kind as its own spec, what it points at by key
    assert (out / "skills/report-writer/SKILL.md").read_text() == MANIFEST
    assert (out / "skills/report-writer/scripts/report.py").read_text() == "print('day,amount')\n"
    assert spec(out, "skills/report-writer.yaml") == {
        "kind": "skill",
        "key": "report-writer",
        "path": "skills/report-writer",
    }
    assert spec(out, "environments/analysis.yaml") == {
        "kind": "environment",
        "key": "analysis",
        "packages": {"python": ["pandas==2.3.3"], "system": ["jq"]},
        "network": {"access": "restricted", "allowed_domains": ["api.example.com"]},
        "files": ["knowledge/sales.csv"],
        "skills": ["report-writer"],
    }
    assert spec(out, "vaults/crm.yaml") == yaml.safe_load(VAULT)  # the project's variables
    analyst = spec(out, "assistants/analyst.yaml")
    assert analyst["environment"] == "analysis"
    assert analyst["tools"][0]["credential"] == "crm/crm-mcp"
    coder = spec(out, "assistants/coder.yaml")
    assert coder["tool_resources"] == {"code_interpreter": {"files": ["data/numbers.csv"]}}
    nightly = spec(out, "automations/nightly.yaml")
    assert nightly["target"] == {
        "new_session": {
            "agent": "analyst",
            "vaults": ["crm"],
            "input": "Write the daily sales report.",
        }
    }
    assert nightly["paused"] is True and nightly["name"] == "Nightly report"
    assert spec(out, "automations/yearly.yaml")["run_at"] == "2099-01-01T05:00:00Z"
    assert "Set CRM_TOKEN, WAREHOUSE_TOKEN before plan or apply." in result.err

    plan = plan_json(out)
    assert plan["summary"] == {"add": 0, "change": 0, "destroy": 0}, plan["actions"]
    assert not plan["kept"]


def made_by_hand(project: Path) -> dict[str, str]:
    """Objects of every agents kind made through the API, as an existing setup has them."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as folder:
        folder.writestr("report-writer/SKILL.md", MANIFEST)
        folder.writestr("report-writer/run.py", "1\n")
    bundle = base64.b64encode(archive.getvalue()).decode()
    with connect(load_project(project).target) as backend:
        made = backend.create("skill", {"filename": "report-writer.zip", "bundle": bundle})
        vault = backend.create("vault", {"name": "CRM"})
        credential = backend.create(
            "vault_credential",
            {
                "vault_id": vault.id,
                "name": "crm-mcp",
                "auth": {
                    "type": "static_bearer",
                    "mcp_server_url": "https://mcp.example.com/crm",
                    "token": "by-hand-token",
                },
            },
        )
        template = backend.create(
            "environment_template",
            {
                "name": "Analysis",
                "packages": {"python": ["pandas"], "npm": [], "system": []},
                "network": {"access": "restricted", "allowed_domains": ["api.example.com"]},
                "skills": [{"type": "skill_reference", "skill_id": made.id}],
            },
        )
        agent = backend.create(
            "agent",
            {
                "name": "Analyst",
                "model": "gpt-5.4-mini",
                "instructions": "Look customers up.",
                "tools": [
                    {
                        "type": "mcp",
                        "server_label": "crm",
                        "transport": {"type": "http", "server_url": "https://mcp.example.com/crm"},
                        "credential_id": credential.id,
                    }
                ],
                "metadata": {identity.TEMPLATE_KEY: template.id},
            },
        )
        automation = backend.create(
            "automation",
            {
                "type": "periodic",
                "name": "Nightly",
                "expression": "0 6 * * *",
                "timezone": "UTC",
                "target": {
                    "type": "new_session",
                    "agent_id": agent.id,
                    "environment": {
                        "type": "openai_hosted",
                        "environment_template_id": template.id,
                    },
                    "vault_ids": [vault.id],
                    "input": [
                        {
                            "type": "message",
                            "role": "user",
                            "content": [{"type": "input_text", "text": "Report."}],
                        }
                    ],
                },
            },
        )
    return {
        "skill": made.id,
        "vault": vault.id,
        "credential": credential.id,
        "template": template.id,
        "agent": agent.id,
        "automation": automation.id,
    }


def agent_made(project: Path, agent_id: str) -> str:
    """An automation a session's agent made (its provenance set as the service sets it)."""
    target = load_project(project).target
    with connect(target) as backend:
        made = backend.create(
            "automation",
            {
                "type": "periodic",
                "name": "Reminder",
                "expression": "0 9 * * *",
                "timezone": "UTC",
                "target": {
                    "type": "new_session",
                    "agent_id": agent_id,
                    "environment": {"type": "none"},
                    "input": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}],
                },
            },
        )
    assert target.db is not None
    store = Store(target.db)
    stored = store.get(AUTOMATION, made.id)
    assert stored is not None
    stored["created_by"] = {"type": "agent", "session_id": "sess_1", "tool_call_id": "call_1"}
    store.put(AUTOMATION, stored)
    return made.id


def test_objects_made_by_hand_export_with_adopt_and_secrets_from_derived_variables(
    proj: Path, tmp_path: Path, secrets: pytest.MonkeyPatch
) -> None:
    for rel in [p for p in PROJECT if p != "asst-deploy.yaml"]:
        (proj / rel).unlink()
    made = made_by_hand(proj)
    reminder = agent_made(proj, made["agent"])
    out = tmp_path / "exported"
    result = run("export", "--all", "--out", str(out), "--dir", str(proj))
    assert result.code == 0, result.err
    assert "Not exported: 1 object(s) no project may manage" in result.err
    assert reminder in result.err
    assert not list((out / "automations").glob("reminder*"))
    # a secret the API never shows is read from a variable named after where it goes
    token = variable("crm/crm-mcp", "token")
    assert token == "CRM_CRM_MCP_TOKEN"
    vault = spec(out, "vaults/crm.yaml")
    assert vault["adopt"] == {"sandbox": made["vault"]}
    assert vault["credentials"][0]["auth"]["token"] == {"from_env": token}
    assert "by-hand-token" not in result.err + result.out
    assert f"Set {token} before plan or apply." in result.err
    assert "the API does not answer its env, setup_commands" in result.err
    environment = spec(out, "environments/analysis.yaml")
    assert environment["skills"] == ["report-writer"]
    analyst = spec(out, "assistants/analyst.yaml")
    assert analyst["environment"] == "analysis"
    assert analyst["tools"][0]["credential"] == "crm/crm-mcp"
    # the agent's environment is the automation's default: not repeated
    assert spec(out, "automations/nightly.yaml")["target"]["new_session"] == {
        "agent": "analyst",
        "vaults": ["crm"],
        "input": "Report.",
    }
    assert (out / "skills/report-writer/run.py").read_text() == "1\n"

    secrets.setenv(token, "by-hand-token")
    assert run("validate", str(out)).code == 0
    plan = plan_json(out)
    assert plan["summary"]["add"] == 0 and plan["summary"]["destroy"] == 0
    assert all(a["adopt"] for a in plan["actions"])
    changed = {a["kind"]: [c["field"] for c in a["changes"]] for a in plan["actions"]}
    # what the API cannot show: the secret, and a skill's folder of no project
    assert changed["vault_credential"] == ["token"]
    assert changed["skill"] == ["content", "path"]
    for kind in ("vault", "environment_template", "agent", "automation"):
        assert changed[kind] == [], kind
    assert run("apply", str(out), "--auto-approve").code == 0
    assert plan_json(out)["summary"] == {"add": 0, "change": 0, "destroy": 0}
    state = remote(proj)
    assert len(state.of("vault_credential")) == 1, "adopted with its vault, not made anew"
    assert len(state.of("automation")) == 2


def test_an_imported_skill_and_credential_plan_empty_under_their_specs(
    proj: Path, tmp_path: Path, secrets: pytest.MonkeyPatch
) -> None:
    for rel in [p for p in PROJECT if p != "asst-deploy.yaml"]:
        (proj / rel).unlink()
    made = made_by_hand(proj)
    refused = run(
        "import", "vault_credential", made["credential"], "--key", "crm/crm-mcp", "--dir", str(proj)
    )
    assert refused.code == 1 and "import it first" in refused.err
    assert run("import", "vault", made["vault"], "--key", "crm", "--dir", str(proj)).code == 0
    wrong = run(
        "import", "vault_credential", made["credential"], "--key", "crm/other", "--dir", str(proj)
    )
    assert wrong.code == 1 and "--key crm/crm-mcp" in wrong.err
    bad = run("import", "vault_credential", made["credential"], "--key", "crm", "--dir", str(proj))
    assert bad.code == 1 and "invalid key 'crm'" in bad.err
    secrets.setenv("CRM_CRM_MCP_TOKEN", "by-hand-token")
    for kind, remote_id, key in (
        ("vault_credential", made["credential"], "crm/crm-mcp"),
        ("skill", made["skill"], "report-writer"),
    ):
        result = run("import", kind, remote_id, "--key", key, "--dir", str(proj))
        assert result.code == 0, result.err
    write_project(
        proj,
        {
            "vaults/crm.yaml": """\
kind: vault
key: crm
name: CRM
credentials:
  - name: crm-mcp
    auth:
      type: static_bearer
      mcp_server_url: https://mcp.example.com/crm
      token: {from_env: CRM_CRM_MCP_TOKEN}
""",
            "skills/report-writer.yaml": PROJECT["skills/report-writer.yaml"],
            "skills/report-writer/SKILL.md": MANIFEST,
            "skills/report-writer/run.py": "1\n",
        },
    )
    plan = plan_json(proj)
    assert plan["summary"] == {"add": 0, "change": 0, "destroy": 0}, plan["actions"]
    # a rotated variable is a change of that secret alone
    secrets.setenv("CRM_CRM_MCP_TOKEN", "rotated")
    (action,) = plan_json(proj)["actions"]
    assert (action["kind"], [c["field"] for c in action["changes"]]) == (
        "vault_credential",
        ["token"],
    )
    # an automation an agent made cannot be imported
    reminder = agent_made(proj, made["agent"])
    result = run("import", "automation", reminder, "--key", "reminder", "--dir", str(proj))
    assert result.code == 1 and "cannot be imported: an agent created it" in result.err
