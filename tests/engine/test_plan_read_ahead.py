"""`plan` starts reading a remote target as soon as the project file names it, while the
specs load (operations.plan_project); whatever fails is reported as without the head
start: a problem of the specs first (the read stopped, nothing written, no thread left),
then one of the connection. Run in this process, through the CLI's error boundary."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from asst_deploy.errors import SpecError
from asst_deploy.generations.sdk import openai_backend
from asst_deploy.sandbox.faults import FaultConfig, FaultRule
from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.spec.loader import load_project

from .conftest import sdk_client, write_project
from .test_cli import run

KEY_ENV = "TEST_AHEAD_KEY"


READERS = {"asst-deploy-read-ahead", "asst-deploy-read", "asst-deploy-page"}


def reads_left() -> list[threading.Thread]:
    """The threads of a read still alive (the read ahead, its side-by-side lists, pages)."""
    return [t for t in threading.enumerate() if t.name in READERS]


def project(root: Path, targets: str, default: str, bots: int = 1) -> Path:
    files = {
        "asst-deploy.yaml": f"project: ahead\ntargets:\n{targets}default_target: {default}\n",
        **{
            f"assistants/bot{i}.yaml": f"kind: assistant\nkey: bot{i}\nmodel: gpt-4o-mini\n"
            for i in range(bots)
        },
    }
    return write_project(root, files)


def remote(name: str, base_url: str) -> str:
    return f"  {name}: {{type: openai, base_url: '{base_url}', api_key_env: {KEY_ENV}}}\n"


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test")


def test_a_spec_error_stops_the_read_and_is_reported_as_without_it(
    tmp_path: Path, server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "p", remote("remote", server.base_url), "remote", bots=12)
    assert run("apply", str(root), "--auto-approve").code == 0
    (root / "assistants/bot3.yaml").write_text("kind: assistant\nkey: bot3\ntemprature: 1\n")
    with pytest.raises(SpecError) as raised:
        load_project(root)
    # a page of one assistant, each answered 300 ms late: the whole read takes 4 s or more
    monkeypatch.setattr(openai_backend, "_PAGE", 1)
    server.sandbox.faults = FaultConfig(
        rules=[FaultRule(method="GET", path="/assistants", latency_ms=300)]
    )
    start = server.log.total
    result = run("plan", str(root))
    assert result.code == 1
    assert result.err == raised.value.render() + "\n"
    assert reads_left() == []
    made = [e for e in server.log.since(start)]
    assert all(e.method == "GET" for e in made)  # nothing written
    # stopped at its next page: the first pages at most, not the twelve
    assert sum(e.path == "/v1/assistants" for e in made) <= 4, len(made)


def test_a_spec_error_comes_before_the_connections_own(tmp_path: Path) -> None:
    root = project(tmp_path / "p", remote("gone", "http://127.0.0.1:9/v1"), "gone")
    (root / "assistants/bot0.yaml").write_text("kind: assistant\nkey: Bad Key\n")
    result = run("plan", str(root))
    assert result.code == 1
    assert "invalid key 'Bad Key'" in result.err and "cannot reach" not in result.err
    assert reads_left() == []


def test_a_missing_key_is_reported_once_the_specs_are_sound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "p", remote("gone", "http://127.0.0.1:9/v1"), "gone")
    monkeypatch.delenv(KEY_ENV)
    result = run("plan", str(root))
    assert result.code == 1
    assert result.err == (
        f"Error: target 'gone' reads its API key from ${KEY_ENV}, which is not set; "
        f"export {KEY_ENV}=... and run again\n"
    )
    (root / "assistants/bot0.yaml").write_text("kind: assistant\nkey: Bad Key\n")
    assert "invalid key 'Bad Key'" in run("plan", str(root)).err


def test_the_read_goes_to_the_target_the_options_choose(
    tmp_path: Path, server: SandboxServer
) -> None:
    targets = remote("gone", "http://127.0.0.1:9/v1") + remote("here", server.base_url)
    root = project(tmp_path / "p", targets, "gone", bots=2)
    assert "cannot reach" in run("plan", str(root)).err
    with sdk_client(server) as client:
        client.beta.assistants.create(model="gpt-4o-mini", name="someone else's")
    start = server.log.total
    result = run("plan", str(root), "--endpoint", "here")
    assert result.code == 0, result.err
    assert "+ assistant bot0" in result.out and "+ assistant bot1" in result.out
    assert {e.path for e in server.log.since(start)} >= {"/v1/assistants", "/v1/models"}
    assert reads_left() == []
