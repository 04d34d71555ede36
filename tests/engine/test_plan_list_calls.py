"""A no-change `asst-deploy plan` of agents with environments, vaults and automations makes only list calls, each page once (bench/bench_agents_native.py at scale)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from asst_deploy.sandbox.server import SandboxServer

from .conftest import write_project
from .test_cli import run

AGENTS = 5
_ID = re.compile(r"[a-z]+_[A-Za-z0-9]{8,}")


def project(base_url: str) -> dict[str, str]:
    """AGENTS agents (code_interpreter, an mcp tool), each in its own environment, with its
    own vault of 2 credentials (the mcp tool's static_bearer, an environment_variable) and
    its own automation given the vault."""
    files = {
        "asst-deploy.yaml": "project: lists\ntargets:\n"
        f"  remote: {{type: openai, api: agents, base_url: '{base_url}', "
        "api_key_env: LISTS_KEY}\ndefault_target: remote\ndefaults: {model: gpt-4o-mini}\n"
    }
    for n in range(AGENTS):
        files[f"environments/e{n}.yaml"] = (
            f"kind: environment\nkey: e{n}\npackages: {{python: [pandas==2.3.3]}}\n"
            "env: {REGION: eu, API_TOKEN: {from_env: LISTS_ENV_TOKEN}}\n"
        )
        files[f"vaults/v{n}.yaml"] = (
            f"kind: vault\nkey: v{n}\ncredentials:\n"
            "  - name: mcp\n    auth:\n      type: static_bearer\n"
            f"      mcp_server_url: https://mcp.example.com/{n}\n"
            "      token: {from_env: LISTS_MCP_TOKEN}\n"
            "  - name: db\n    auth:\n      type: environment_variable\n"
            "      secret_name: DB_TOKEN\n      secret_value: {from_env: LISTS_DB_TOKEN}\n"
            "      networking: {type: limited, allowed_hosts: [db.example.com]}\n"
        )
        files[f"assistants/a{n}.yaml"] = (
            f"kind: assistant\nkey: a{n}\ninstructions: You are agent {n}.\nenvironment: e{n}\n"
            "tools:\n  - type: code_interpreter\n"
            f"  - type: mcp\n    server_label: tools\n    credential: v{n}/mcp\n"
            f"    transport: {{type: http, server_url: 'https://mcp.example.com/{n}'}}\n"
        )
        files[f"automations/t{n}.yaml"] = (
            f"kind: automation\nkey: t{n}\ntype: periodic\nexpression: '0 6 * * *'\n"
            f"timezone: UTC\ntarget: {{new_session: {{agent: a{n}, vaults: [v{n}], "
            "input: Run the daily job.}}\n"
        )
    return files


# every collection fits one page: each is listed once, and each vault's credentials once
LISTS = Counter(
    {
        "/v1/agents": 1,
        "/v1/agents/environments/templates": 1,
        "/v1/agents/automations": 1,
        "/v1/vaults": 1,
        "/v1/vaults/{id}/credentials": AGENTS,
        "/v1/skills": 1,
        "/v1/files": 1,
        "/v1/vector_stores": 1,
    }
)
MODELS = "/v1/models"  # the plan may read the models' shutdown dates: one list too


def test_a_no_change_plan_makes_only_list_calls(
    tmp_path: Path, server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LISTS_KEY", "LISTS_ENV_TOKEN", "LISTS_MCP_TOKEN", "LISTS_DB_TOKEN"):
        monkeypatch.setenv(name, f"{name.lower()}-value")
    root = write_project(tmp_path / "lists", project(server.base_url))
    applied = run("apply", "--auto-approve", str(root))
    assert applied.code == 0, applied.err
    start = server.log.total
    planned = run("plan", "--detailed-exitcode", str(root))
    assert planned.code == 0, planned.out + planned.err  # no changes
    made = [(r.method, endpoint(r.path)) for r in server.log.since(start)]
    not_lists = [f"{m} {e}" for m, e in made if m != "GET" or e.endswith("{id}")]
    assert not not_lists, not_lists  # a retrieve names an id; a write is no GET
    routes = Counter(e for _, e in made)
    assert routes.pop(MODELS, 0) <= 1, routes
    assert routes == LISTS


def endpoint(path: str) -> str:
    """The path with each object id (prefix_random) as {id}."""
    return "/".join("{id}" if _ID.fullmatch(part) else part for part in path.split("/"))
