"""A secret given as `{from_env: NAME}` appears in no output of any command, in no saved
plan and in nothing the sandbox logged, while the sandbox's store holds it; a rotation
in the environment shows as exactly one "secret changed" (issue 24, Done when).

Every command runs with --verbose (per-call lines on stderr), through the CLI's error
boundary, against a running sandbox whose request log keeps every answered body.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.faults import RequestLog
from asst_deploy.sandbox.server import SandboxServer, start_server
from asst_deploy.sandbox.store import Store
from asst_deploy.sandbox.vaults import CREDENTIAL, SECRETS

from .conftest import sdk_client, write_project
from .test_cli import Result, run
from .test_vaults import PROJECT

SECRET = "zq-secret-4c1f7e93b2a8d605"
ROTATED = "zq-rotated-0b9a8c7d6e5f4a31"
WAREHOUSE = "zq-warehouse-5e6f7a8b9c0d1e2f"


@pytest.fixture
def logged() -> Iterator[SandboxServer]:
    sandbox = Sandbox(store=Store(), processing_delay=0.0, log=RequestLog(capture_bodies=True))
    with start_server(sandbox) as running:
        yield running


def held(server: SandboxServer) -> list[str]:
    """Every secret value the sandbox's store keeps."""
    with sdk_client(server) as client:
        return [
            value
            for v in client.beta.agents.vaults.list()
            for c in client.beta.agents.vaults.credentials.list(v.id)
            for value in server.sandbox.store.get(CREDENTIAL, c.id, parent=v.id)[SECRETS].values()  # type: ignore[index]
        ]


def logged_text(server: SandboxServer) -> str:
    return "\n".join(
        f"{e.method} {e.path}?{e.query}\n{(e.body or b'').decode('utf-8', 'replace')}"
        for e in server.log.entries()
    )


def test_a_secret_from_the_environment_appears_in_no_output(
    logged: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = dict(PROJECT)
    files["asst-deploy.yaml"] = f"""\
project: leaks
targets:
  remote: {{type: openai, api: agents, base_url: "{logged.base_url}", api_key_env: LEAKS_KEY}}
default_target: remote
"""
    root = write_project(tmp_path / "leaks", files)
    monkeypatch.setenv("LEAKS_KEY", "sandbox")
    monkeypatch.setenv("CRM_TOKEN", SECRET)
    monkeypatch.setenv("WAREHOUSE_TOKEN", WAREHOUSE)
    saved = tmp_path / "plan.json"
    outputs: list[Result] = []

    def cli(*args: str, code: int = 0) -> Result:
        result = run("--verbose", *args)
        outputs.append(result)
        assert result.code == code, (args, result.err)
        return result

    cli("validate", str(root))
    cli("plan", str(root))
    cli("plan", str(root), "--json")
    cli("plan", str(root), "--markdown")
    cli("plan", str(root), "--out", str(saved))
    assert "(secret from $CRM_TOKEN)" in outputs[1].out
    cli("apply", str(saved), "--auto-approve", "--json")
    assert sorted(held(logged)) == sorted([SECRET, WAREHOUSE])
    plan_file = saved.read_text(encoding="utf-8")

    monkeypatch.setenv("CRM_TOKEN", ROTATED)
    rotation = cli("plan", str(root))
    assert rotation.out.count("secret changed") == 1
    assert "token: secret changed (from $CRM_TOKEN)" in rotation.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in rotation.out
    cli("plan", str(root), "--json")
    cli("plan", str(root), "--markdown")
    cli("apply", str(root), "--auto-approve")
    assert sorted(held(logged)) == sorted([ROTATED, WAREHOUSE])
    assert "No changes." in cli("plan", str(root)).out
    cli("apply", str(root), "--auto-approve", "--json")
    cli("destroy", str(root), "--auto-approve", "--json")
    with sdk_client(logged) as client:
        assert not list(client.beta.agents.vaults.list())
        assert not list(client.beta.agents.list())

    log = logged_text(logged)
    assert "/v1/vaults" in log and '"vault.credential"' in log  # the log kept the answers
    assert any("POST /v1/vaults" in r.err for r in outputs)  # --verbose traced the calls
    places = {
        f"command {i} {s}": t
        for i, r in enumerate(outputs)
        for s, t in (("stdout", r.out), ("stderr", r.err))
    }
    places["the saved plan"] = plan_file
    places["the sandbox's request log"] = log
    for value in (SECRET, ROTATED, WAREHOUSE):
        leaked = [where for where, text in places.items() if value in text]
        assert not leaked, f"a secret appears in {leaked}"
