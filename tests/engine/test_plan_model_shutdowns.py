"""`plan` and `apply` read the target's GET /models along with its lists, and the shutdown
dates it reports beyond the built-in table warn within 60 days and refuse from the date
on, located at the spec's model, before anything is written. The suite's date is pinned
(tests/conftest.py: 2026-10-01)."""

from __future__ import annotations

import threading
from pathlib import Path

import openai
import pytest

from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.sandbox.server import SandboxServer

from .conftest import sdk_client, write_project
from .test_cli import run

MODEL = "o3-mini"  # served on assistants, not in the built-in table of shutdowns
KEY_ENV = "TEST_SHUTDOWN_KEY"


@pytest.fixture
def proj(tmp_path: Path, server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    root = write_project(
        tmp_path / "dated",
        {
            "asst-deploy.yaml": (
                "project: dated\n"
                "targets:\n"
                f"  remote: {{type: openai, base_url: '{server.base_url}', "
                f"api_key_env: {KEY_ENV}}}\n"
                "default_target: remote\n"
            ),
            "assistants/bot.yaml": f"kind: assistant\nkey: bot\nmodel: {MODEL}\n",
        },
    )
    monkeypatch.chdir(root)  # the errors name the spec files from here
    return root


def writes(server: SandboxServer, since: int = 0) -> list[str]:
    return [f"{e.method} {e.path}" for e in server.log.since(since) if e.method != "GET"]


def no_read_left() -> bool:
    return not [t for t in threading.enumerate() if t.name == "asst-deploy-read-ahead"]


def test_a_reported_date_within_60_days_is_warned_of(proj: Path, server: SandboxServer) -> None:
    server.sandbox.shutdowns[MODEL] = "2026-11-15"
    result = run("plan", ".")
    assert result.code == 0, result.err
    assert (
        f"Warning: assistants/bot.yaml:2:6: assistant 'bot' uses model '{MODEL}', which shuts "
        "down on 2026-11-15 (as target 'remote' reports it), in 45 days "
        "(move to a model that stays)"
    ) in result.err
    assert "GET /v1/models" in {f"{e.method} {e.path}" for e in server.log.since(0)}
    assert no_read_left()


def test_a_reported_date_passed_refuses_plan_and_apply_before_any_write(
    proj: Path, server: SandboxServer
) -> None:
    server.sandbox.shutdowns[MODEL] = "2026-09-30"
    refusal = (
        f"assistants/bot.yaml:2:6: assistant 'bot' uses model '{MODEL}', which was shut "
        "down on 2026-09-30 (as target 'remote' reports it)"
    )
    plan = run("plan", ".")
    assert plan.code == 1
    assert refusal in plan.err and "move to a model that stays" in plan.err
    assert writes(server) == []
    assert no_read_left()
    start = server.log.total
    apply = run("apply", ".", "--auto-approve")
    assert apply.code == 1
    assert refusal in apply.err
    # the lock's claim and its release, on vector stores: no resource is created
    assert all("/v1/vector_stores" in w for w in writes(server, start)), writes(server, start)


def test_a_table_model_reported_earlier_takes_the_reported_date(
    proj: Path, server: SandboxServer
) -> None:
    (proj / "assistants/bot.yaml").write_text("kind: assistant\nkey: bot\nmodel: gpt-4o-mini\n")
    server.sandbox.shutdowns["gpt-4o-mini"] = "2026-10-21"  # the table says 2027-01-14
    result = run("plan", ".")
    assert result.code == 0, result.err
    assert (
        "uses model 'gpt-4o-mini', which shuts down on 2026-10-21 (as target 'remote' reports "
        "it), in 20 days (move to gpt-5.4-mini, its recommended replacement)"
    ) in result.err


def test_destroy_and_refresh_plans_deploy_no_model_and_read_no_model_list(
    proj: Path, server: SandboxServer
) -> None:
    assert run("apply", ".", "--auto-approve").code == 0
    server.sandbox.shutdowns[MODEL] = "2026-09-30"
    for mode in ("--destroy", "--refresh-only"):
        start = server.log.total
        result = run("plan", ".", mode)
        assert result.code == 0, (mode, result.err)
        assert "GET /v1/models" not in {f"{e.method} {e.path}" for e in server.log.since(start)}
    assert run("plan", ".").code == 1  # the plan toward the specs is refused


def test_an_endpoint_without_a_model_list_reports_no_dates(server: SandboxServer) -> None:
    server.sandbox.shutdowns[MODEL] = "2026-09-30"
    with sdk_client(server) as client:
        assert AssistantsBackend(client).reported_shutdowns()[MODEL] == "2026-09-30"
    # a compatible endpoint that has no GET /models answers 404: the table stands alone
    with openai.OpenAI(
        base_url=server.base_url + "/elsewhere", api_key="sandbox", max_retries=0
    ) as client:
        assert AssistantsBackend(client).reported_shutdowns() == {}
