"""User mistakes at the CLI: a message naming the file or port and what to do, exit 1, never 3."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from asst_deploy.cli import common, main
from asst_deploy.engine import operations as apply_module  # where apply connects and applies
from asst_deploy.engine import targets

from .test_cli import ids, proj, remote, run

__all__ = ["proj"]  # the fixture, re-exported so pytest finds it here


def test_a_corrupted_sandbox_db_is_named_with_what_to_do(proj: Path) -> None:
    db = proj / ".state/sandbox.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not a database" * 100)
    for command in (("plan", str(proj)), ("apply", str(proj), "--auto-approve")):
        result = run(*command)
        assert result.code == 1, result.err
        assert f"the sandbox state file {db} cannot be read" in result.err
        assert "Move it away (or delete it)" in result.err
        assert "Unexpected error" not in result.err


def test_a_truncated_sandbox_db_is_an_expected_error(proj: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    db = proj / ".state/sandbox.db"
    db.write_bytes(db.read_bytes()[:4096])
    result = run("plan", str(proj))
    assert result.code == 1 and "cannot be read" in result.err, result.err


def test_plan_out_into_a_missing_folder(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "plan.json"
    result = run("plan", str(proj), "--out", str(out))
    assert result.code == 1, result.err
    assert f"cannot save the plan to {out}: the folder {out.parent} does not exist" in result.err
    assert "mkdir -p" in result.err


def test_plan_json_prints_a_json_error_when_it_fails(proj: Path) -> None:
    spec = proj / "assistants/greeter.yaml"
    spec.write_text(spec.read_text().replace("name: Greeter", "nmae: Greeter"))
    result = run("plan", str(proj), "--json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["format_version"] == 1
    assert report["error"]["unexpected"] is False
    (problem,) = report["error"]["problems"]
    assert problem["file"].endswith("greeter.yaml") and "nmae" in problem["message"]
    assert "nmae" in result.err  # the message still goes to stderr


def test_plan_json_error_for_a_missing_out_folder(proj: Path, tmp_path: Path) -> None:
    result = run("plan", str(proj), "--json", "--out", str(tmp_path / "missing" / "p.json"))
    assert result.code == 1
    assert "does not exist" in json.loads(result.out)["error"]["message"]


def test_plan_json_error_for_json_with_markdown(proj: Path) -> None:
    result = run("plan", str(proj), "--json", "--markdown")
    assert result.code == 1
    assert json.loads(result.out)["error"]["message"] == "choose one of --json and --markdown"


def test_plan_json_error_for_an_unexpected_error(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asst_deploy.engine import operations

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(operations, "load", boom)
    result = run("plan", str(proj), "--json")
    assert result.code == 3
    assert json.loads(result.out)["error"] == {"message": "RuntimeError: boom", "unexpected": True}


def test_apply_of_a_model_the_sandbox_does_not_serve(proj: Path) -> None:
    spec = proj / "asst-deploy.yaml"
    spec.write_text(spec.read_text().replace("model: gpt-4o-mini", "model: gpt-4o-mimi", 1))
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 1, result.err
    assert "The requested model 'gpt-4o-mimi' does not exist." in result.err
    assert not remote(proj).of("assistant")


def test_sandbox_serve_on_a_busy_port_says_so_before_listening() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("sandbox", "serve", "--port", str(port))
    assert result.code == 1, result.err
    assert f"port {port} on 127.0.0.1 is already in use" in result.err
    assert "--port" in result.err
    assert "listening" not in result.err


# --- the smaller ones ----------------------------------------------------------------------


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)


@pytest.mark.usefixtures("terminal")
def test_no_at_the_apply_prompt_says_apply_cancelled(proj: Path) -> None:
    result = run("apply", str(proj), stdin="n\n")
    assert result.code == 1  # as Terraform: "Apply cancelled." and exit 1
    assert result.err.rstrip().endswith("Apply cancelled.")
    assert not ids(remote(proj))


@pytest.mark.usefixtures("terminal")
def test_no_at_the_destroy_prompt_says_destroy_cancelled(proj: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    result = run("destroy", str(proj), stdin="n\n")
    assert result.code == 1 and result.err.rstrip().endswith("Destroy cancelled.")
    assert len(ids(remote(proj))) == 6


def test_destroy_speaks_of_destroying(proj: Path) -> None:
    nothing = run("destroy", str(proj))
    assert nothing.code == 0, nothing.err
    assert (
        nothing.out == "Nothing to destroy: project feat manages no objects on target 'sandbox'.\n"
    )
    assert "matches the specs" not in nothing.out + nothing.err
    assert run("apply", str(proj), "--auto-approve").code == 0
    asked = run("destroy", str(proj))
    assert asked.code == 1
    assert "pass --auto-approve to destroy without asking" in asked.err


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("apply", "Environment to apply"),
        ("plan", "Environment to plan"),
        ("destroy", "Environment whose objects to destroy"),
        ("export", "Environment whose target to read"),
        ("import", "Environment whose target holds the object"),
        ("test", "Environment of asst-deploy.yaml to use"),
    ],
)
def test_env_help_fits_the_command(command: str, words: str) -> None:
    result = run(command, "--help")
    assert result.code == 0
    assert words in " ".join(result.out.split())
    if command != "apply":
        assert "Environment to apply" not in result.out


def test_ctrl_c_after_the_changes_are_made_exits_0(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = targets.connect

    @contextmanager
    def interrupted_on_close(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with real(*args, **kwargs) as backend:
            yield backend
        raise KeyboardInterrupt  # while the connection and the sandbox shut down

    monkeypatch.setattr(apply_module, "connect", interrupted_on_close)
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 0, result.err
    assert "Apply complete: 6 added" in result.out
    assert len(ids(remote(proj))) == 6


def test_ctrl_c_before_the_changes_are_made_still_exits_130(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(apply_module, "apply_plan", interrupted)
    result = run("apply", str(proj), "--auto-approve")
    assert result.code == 130 and "Apply complete" not in result.out


def test_export_of_a_missing_id_fails_and_writes_nothing(proj: Path, tmp_path: Path) -> None:
    out = tmp_path / "exported"
    result = run("export", "asst_nope", "--out", str(out), "--dir", str(proj))
    assert result.code == 1
    assert "not found on target 'sandbox': asst_nope" in result.err
    assert not out.exists()


def test_export_all_is_a_project_of_its_own_so_prune_there_spares_the_source(
    proj: Path, tmp_path: Path
) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    managed = [*remote(proj).of("assistant"), *remote(proj).of("vector_store")]
    with targets.connect(targets_of(proj)) as backend:
        plain = backend.create("assistant", {"model": "gpt-4o-mini", "name": "Plain"})
    out = tmp_path / "exported"
    result = run("export", "--all", "--out", str(out), "--dir", str(proj))
    assert result.code == 0, result.err
    assert "as project 'feat-export'" in result.out
    assert f"Skipped {len(managed)} object(s) that project 'feat' manages" in result.err
    assert "project: feat-export" in (out / "asst-deploy.yaml").read_text()
    # adopted on the target it was read from alone (issue 26, case 39)
    assert f"adopt:\n  sandbox: {plain.id}\n" in (out / "assistants/plain.yaml").read_text()
    # prune in the export touches nothing of the source project
    pruned = json.loads(run("plan", str(out), "--prune", "--json").out)
    assert [a["action"] for a in pruned["actions"]] == ["update"]  # the adoption only
    assert run("apply", str(out), "--prune", "--auto-approve").code == 0
    after = remote(proj)
    assert {o.id for o in managed} <= {
        o.id for o in (*after.of("assistant"), *after.of("vector_store"))
    }
    assert run("plan", str(proj), "--detailed-exitcode").code == 0


def test_export_into_the_source_project_is_explicit(proj: Path, tmp_path: Path) -> None:
    assert run("apply", str(proj), "--auto-approve").code == 0
    out = tmp_path / "copy"
    result = run("export", "--all", "--project", "feat", "--out", str(out), "--dir", str(proj))
    assert result.code == 0, result.err
    assert "as project 'feat'" in result.out and "Skipped" not in result.err
    bad = run("export", "--all", "--project", "Not A Name", "--out", str(out), "--dir", str(proj))
    assert bad.code == 1 and "--project" in bad.err


def targets_of(project_dir: Path) -> Any:
    from asst_deploy.spec.loader import load_project

    return load_project(project_dir).target


def test_usage_errors_exit_1_through_main() -> None:
    # `plan --detailed-exitcode` reads 2 as "changes present"
    runner = CliRunner()
    with runner.isolation(), pytest.raises(SystemExit) as info:
        main(["plan", "--detailed-exitcode", "--no-such-option"])
    assert info.value.code == 1


@pytest.mark.parametrize(
    "command",
    [
        ["apply", "--auto-approve", "--prune"],
        ["plan"],
        ["destroy", "--auto-approve"],
        ["import", "assistant", "asst_x", "--key", "x"],
    ],
)
def test_an_environment_on_anothers_deployment_is_refused_before_any_call(
    tmp_path: Path, command: list[str]
) -> None:
    # `stage` points at prod's sandbox db: applied with --prune it would delete prod's
    # objects as its own (they share the project and keys)
    root = tmp_path / "shared"
    (root / "assistants").mkdir(parents=True)
    project = (
        "project: shared\n"
        "defaults: {model: gpt-4o-mini}\n"
        "targets:\n"
        "  prod-db: {type: sandbox, db: .state/prod.db}\n"
        "  stage-db: {type: sandbox, db: .state/stage.db}\n"
        "environments:\n"
        "  prod: {target: prod-db}\n"
        "  stage:\n"
        "    target: stage-db\n"
        "    exclude: {assistants: [bot]}\n"
    )
    (root / "asst-deploy.yaml").write_text(project)
    (root / "assistants/bot.yaml").write_text("kind: assistant\nkey: bot\n")
    assert run("apply", str(root), "--env", "prod", "--auto-approve").code == 0
    # then someone points stage's target at prod's state file
    (root / "asst-deploy.yaml").write_text(project.replace(".state/stage.db", ".state/prod.db"))
    before = (root / ".state/prod.db").read_bytes()
    args = [*command, "--env", "stage"]
    args += ["--dir", str(root)] if command[0] == "import" else [str(root)]
    result = run(*args)
    assert result.code == 1, result.err
    assert "environments 'prod' and 'stage' both deploy to target 'stage-db'" in result.err
    assert "asst-deploy.yaml:" in result.err  # located, with what to do
    assert "give each environment its own target" in result.err
    assert (root / ".state/prod.db").read_bytes() == before


@pytest.mark.parametrize("value", ["nan", "inf", "1e999", "-inf", "-1"])
def test_a_lock_timeout_that_is_no_finite_wait_is_refused(proj: Path, value: str) -> None:
    # `nan` passed the old `>= 0` range (no comparison with nan is true) and `inf` with it:
    # with another apply holding the lock, the command would have waited forever
    for command in ("apply", "destroy"):
        result = run(command, str(proj), "--auto-approve", f"--lock-timeout={value}")
        assert result.code == 1, result.err
        assert "Invalid value for '--lock-timeout'" in result.err
    assert not (proj / ".state/sandbox.db").exists()  # nothing was touched


def test_a_finite_lock_timeout_is_taken(proj: Path) -> None:
    assert run("apply", str(proj), "--auto-approve", "--lock-timeout", "0.5").code == 0


def test_replace_of_an_unknown_key_names_the_keys_it_takes(proj: Path) -> None:
    result = run("plan", str(proj), "--replace", "greter", "--replace", "nothing-like-it")
    assert result.code == 1, result.err
    assert (
        "Error: --replace names no assistant or vector store of the project: "
        "'greter' (did you mean 'greeter'?), 'nothing-like-it'; "
        "the keys it takes: analyst, docs, greeter"
    ) in result.err
    assert ids(remote(proj)) == {}
