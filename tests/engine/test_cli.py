"""The plan / apply / destroy commands: exit codes, output streams, refusals, bad input."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from asst_deploy.cli import main
from asst_deploy.cli.common import Output
from asst_deploy.desired import Target
from asst_deploy.engine.apply import RetryPolicy
from asst_deploy.engine.targets import connect
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.server import SandboxServer, start_server
from asst_deploy.sandbox.store import Store
from asst_deploy.spec.loader import load_project
from asst_deploy.state import RemoteState

from .conftest import sdk_client


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(*args: str, stdin: str | None = None) -> Result:
    """Run the CLI through its error boundary (main), stdin not a terminal."""
    runner = CliRunner()
    with runner.isolation(input=stdin) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, out.getvalue().decode(), err.getvalue().decode())


def remote(project_dir: Path) -> RemoteState:
    """What the project's sandbox target (its db under the project) holds."""
    target = Target("sandbox", "sandbox", db=project_dir / ".state/sandbox.db")
    with connect(target) as backend:
        return backend.read_state()


def ids(state: RemoteState) -> dict[str, object]:
    return {
        **{a.id: a.data for a in state.of("assistant")},
        **{s.id: (s.data, s.files) for s in state.of("vector_store")},
        **{f.id: f.filename for f in state.files},
    }


@pytest.fixture
def proj(project_dir: Path) -> Path:
    assert load_project(project_dir).target.db == project_dir / ".state/sandbox.db"
    return project_dir


def test_plan_exit_codes_and_apply(proj: Path) -> None:
    result = run("plan", str(proj), "--detailed-exitcode")
    assert result.code == 2, result.err
    assert "Plan: 6 to add, 0 to change, 0 to destroy." in result.out
    assert run("plan", str(proj)).code == 0  # without the flag, changes are not an error
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 0, result.err
    assert "Apply complete: 6 added, 0 changed, 0 destroyed" in result.out
    assert "uploaded as" in result.err  # progress goes to stderr
    result = run("plan", str(proj), "--detailed-exitcode")
    assert result.code == 0, result.err
    assert "No changes." in result.out


def test_plan_json_is_the_only_stdout(proj: Path) -> None:
    result = run("plan", str(proj), "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["format_version"] == 1
    assert data["summary"] == {"add": 6, "change": 0, "destroy": 0}


def test_plan_markdown(proj: Path) -> None:
    result = run("plan", str(proj), "--markdown")
    assert result.code == 0, result.err
    assert result.out.startswith("### asst-deploy plan: `feat` on `sandbox`\n")
    assert "| `+` create | assistant | `analyst` |  |" in result.out
    assert "```diff" in result.out


def test_saved_plan_is_applied_and_a_stale_one_refused(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = run("plan", str(proj), "--out", str(out))
    assert result.code == 0 and out.is_file(), result.err
    result = run("apply", str(out))  # a saved plan was approved when it was made
    assert result.code == 0, result.err
    assert len(remote(proj).of("assistant")) == 2

    (proj / "assistants/greeter.yaml").write_text(
        (proj / "assistants/greeter.yaml").read_text().replace("Greeter", "Host")
    )
    assert run("plan", str(proj), "--out", str(out)).code == 0
    before = remote(proj)
    greeter = next(a for a in before.of("assistant") if a.owner[1] == "greeter")
    with connect(load_project(proj).target) as backend:  # an out-of-band change
        backend.update("assistant", greeter.id, {"description": "meanwhile"})
    before = remote(proj)
    result = run("apply", str(out))
    assert result.code == 1
    assert "is stale; nothing was changed" in result.err
    assert f"assistant greeter ({greeter.id}) changed since the plan was made" in result.err
    assert "asst-deploy plan --out" in result.err
    assert ids(remote(proj)) == ids(before)


def test_apply_without_a_terminal_refuses(proj: Path) -> None:
    result = run("apply", str(proj), stdin="y\n")
    assert result.code == 1
    assert "no terminal to ask for confirmation on, so nothing was changed" in result.err
    assert "--auto-approve" in result.err
    assert not ids(remote(proj))


def test_destroy(proj: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    result = run("destroy", str(proj))
    assert result.code == 1 and "no terminal" in result.err
    assert len(ids(remote(proj))) == 6
    result = run("destroy", str(proj), "--auto-approve")
    assert result.code == 0, result.err
    assert "Destroy complete: 6 destroyed." in result.out
    assert not ids(remote(proj))


def test_destroy_refuses_protected(proj: Path) -> None:
    spec = proj / "vector_stores/docs.yaml"
    spec.write_text(spec.read_text() + "protect: true\n")
    assert run("apply", str(proj), "--auto-approve").code == 0
    before = ids(remote(proj))
    result = run("destroy", str(proj), "--auto-approve")
    assert result.code == 1
    assert "destroy refused; nothing was changed" in result.err
    assert "vector_store 'docs' is protected; set protect: false to destroy it" in result.err
    assert ids(remote(proj)) == before


def test_spec_error(proj: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    before = ids(remote(proj))
    spec = proj / "assistants/greeter.yaml"
    spec.write_text(spec.read_text() + "temperature: 9\n")
    for command in (["plan"], ["apply", "--auto-approve"], ["destroy", "--auto-approve"]):
        result = run(*command, str(proj))
        assert result.code == 1, command
        assert "greeter.yaml:5:" in result.err and "temperature" in result.err, result.err
        assert result.out == ""
    assert ids(remote(proj)) == before


def test_missing_file(proj: Path) -> None:
    before = ids(remote(proj))
    (proj / "knowledge/faq.txt").unlink()
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 1
    assert "vector_stores/docs.yaml" in result.err
    assert "file not found: 'knowledge/faq.txt'" in result.err
    assert ids(remote(proj)) == before


def test_file_removed_after_saved_plan(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert run("plan", str(proj), "--out", str(out)).code == 0
    (proj / "data/orders.csv").unlink()
    result = run("apply", str(out))
    assert result.code == 1
    assert "assistants/analyst.yaml:" in result.err
    assert "glob 'data/*.csv' matches no file" in result.err
    assert not ids(remote(proj))


def test_vector_store_file_removed_after_saved_plan(proj: Path, tmp_path: Path) -> None:
    spec = proj / "vector_stores/docs.yaml"
    spec.write_text(spec.read_text().replace("  - knowledge/faq.txt", "  - knowledge/*.txt"))
    out = tmp_path / "plan.json"
    assert run("plan", str(proj), "--out", str(out)).code == 0
    (proj / "knowledge/faq.txt").rename(proj / "knowledge/faq.md")
    (proj / "knowledge/other.txt").write_text("other\n")
    result = run("apply", str(out))
    assert result.code == 1
    assert (
        "local file knowledge/faq.txt is gone (or no longer used) since the plan was made"
        in result.err
    )
    assert not ids(remote(proj))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def use_target(proj: Path, base_url: str) -> None:
    project_file = proj / "asst-deploy.yaml"
    text = project_file.read_text().replace(
        "default_target: sandbox",
        f"  remote:\n    type: openai\n    base_url: {base_url}\n    api_key_env: TEST_ASST_KEY\n"
        "default_target: remote",
    )
    project_file.write_text(text)


def test_unreachable_endpoint(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/v1"
    use_target(proj, endpoint)
    monkeypatch.setenv("TEST_ASST_KEY", "sk-test")
    # every retry is made, none waits its back-off (20 s of sleep otherwise)
    retries: list[float] = []
    monkeypatch.setattr(Output, "retry_policy", lambda self: RetryPolicy(sleep=retries.append))
    for command in (["plan"], ["apply", "--auto-approve"], ["destroy", "--auto-approve"]):
        result = run(*command, str(proj))
        assert result.code == 1, (command, result.err)
        # apply and destroy first read the target's lock (a list of vector stores)
        first = "assistants" if command == ["plan"] else "vector stores"
        assert result.err.startswith(f"Error: listing {first} failed: cannot reach {endpoint}")
        assert "Traceback" not in result.err
    assert len(retries) >= 3, "the errors came after the retries, not instead of them"


def test_missing_api_key_variable(proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_target(proj, f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.delenv("TEST_ASST_KEY", raising=False)
    result = run("plan", str(proj))
    assert result.code == 1
    assert "reads its API key from $TEST_ASST_KEY, which is not set" in result.err


@pytest.fixture
def keyed_server() -> Iterator[SandboxServer]:
    with start_server(Sandbox(store=Store(), api_key="sk-right")) as running:
        yield running


def test_wrong_api_key(
    proj: Path, keyed_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_target(proj, keyed_server.base_url)
    monkeypatch.setenv("TEST_ASST_KEY", "sk-wrong")
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 1
    assert "creating a vector store failed" in result.err  # the lock's claim is the first call
    assert "HTTP 401" in result.err and "check the API key" in result.err
    assert "check the API key in $TEST_ASST_KEY" in result.err, result.err
    with sdk_client(keyed_server, api_key="sk-right") as client:
        assert not list(client.beta.assistants.list())
        assert not list(client.files.list())
    monkeypatch.setenv("TEST_ASST_KEY", "sk-right")
    assert run("apply", str(proj), "--auto-approve").code == 0
