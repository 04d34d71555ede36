"""`asst-deploy validate`: exit codes, human and --json output, --env; in-process and real."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from asst_deploy.cli import cli
from asst_deploy.spec import documents

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "specs"
Run = Callable[..., subprocess.CompletedProcess[str]]  # the run_cli fixture

PROBLEM = "assistants/weather.yaml:12:1: unknown key 'temprature' (did you mean 'temperature'?)"
ERROR_KEYS = {"file", "line", "column", "message", "hint"}


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    result = CliRunner().invoke(cli, list(args))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_the_group_lists_validate_and_schema() -> None:
    result = invoke("--help")
    assert result.returncode == 0
    assert "validate" in result.stdout
    assert "schema" in result.stdout


def test_valid_examples_exit_0_with_a_summary() -> None:
    result = invoke("validate", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{EXAMPLES}: valid: project 'examples', 3 assistant(s), 1 vector store(s), "
        "3 file(s) (checked: base, agents, dev, prod, responses)\n"
    )


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_env_checks_one_environment(env: str) -> None:
    result = invoke("validate", str(EXAMPLES), "--env", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(f"(checked: {env})\n")


def test_json_report_of_a_valid_project() -> None:
    result = invoke("validate", str(EXAMPLES), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "format_version": 1,
        "valid": True,
        "project": "examples",
        "environments": ["(base)", "agents", "dev", "prod", "responses"],
        "errors": [],
        "warnings": [],
    }


def test_json_report_of_an_invalid_project(invalid_project: Path) -> None:
    result = invoke("validate", str(invalid_project), "--json", "--env", "prod")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["environments"] == ["prod"]
    (error,) = report["errors"]
    assert set(error) == ERROR_KEYS
    assert error["file"] == f"{invalid_project}/assistants/weather.yaml"
    assert (error["line"], error["column"]) == (12, 1)
    assert error["message"] == "unknown key 'temprature'"
    assert error["hint"] == "did you mean 'temperature'?"


def test_json_report_when_there_is_no_project(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["project"] is None
    assert report["errors"][0]["message"] == "no asst-deploy.yaml here"


# ---- the real thing: a fresh interpreter, as CI runs it


def test_subprocess_valid_exits_0(run_cli: Run) -> None:
    result = run_cli("validate", "specs")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("specs: valid: project 'examples'")


def test_subprocess_invalid_exits_1_with_the_problems_on_stderr(
    run_cli: Run, invalid_project: Path
) -> None:
    result = run_cli("validate", cwd=invalid_project)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"{PROBLEM}\n1 error found.\n"


def test_subprocess_json_puts_only_json_on_stdout(run_cli: Run, invalid_project: Path) -> None:
    result = run_cli("validate", "--json", cwd=invalid_project)
    assert result.returncode == 1
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert [(e["file"], e["line"]) for e in report["errors"]] == [("assistants/weather.yaml", 12)]


def test_subprocess_unknown_environment_exits_1(run_cli: Run) -> None:
    result = run_cli("validate", "specs", "--env", "staging")
    assert result.returncode == 1
    assert (
        "unknown environment 'staging' (expected one of: 'agents', 'dev', 'prod', 'responses')"
        in result.stderr
    )


def test_python_m_version(run_cli: Run) -> None:
    from asst_deploy import __version__

    result = run_cli("--version")
    assert (result.returncode, result.stdout) == (0, f"asst-deploy, version {__version__}\n")


def _main(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI through its error boundary (main), as `asst-deploy` runs it."""
    from asst_deploy.cli import main

    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(args, code, out.getvalue().decode(), err.getvalue().decode())


def test_an_environment_named_base_is_refused_where_it_is_declared(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".asst-deploy"))
    project_file = root / "asst-deploy.yaml"
    text = project_file.read_text()
    assert "\nenvironments:\n  dev:\n" in text
    project_file.write_text(text.replace("\nenvironments:\n", "\nenvironments:\n  base: {}\n"))
    line = text[: text.index("\nenvironments:\n")].count("\n") + 3
    result = _main("validate", str(root))
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"{project_file}:{line}:3: the environment name 'base' is reserved: `asst-deploy test "
        "--envs` and `--parity` use it for the project file's own targets and defaults "
        "(rename the environment, e.g. to 'base-env')\n1 error found.\n"
    )


def test_many_problems_of_one_kind_show_twenty_and_a_count(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".asst-deploy"))
    data = root / "data"
    data.mkdir()
    for i in range(500):
        (data / f"row{i:03}.txt").write_text(f"row {i}\n")
    (data / "typo.yaml").write_text("kind: asistant\nkey: typo\n")
    project_file = root / "asst-deploy.yaml"
    # one pattern too many: data/* matches every file of the folder, none of them a spec
    patterns = "['assistants/*.yaml', 'vector_stores/*.yaml', 'data/*']"
    project_file.write_text(project_file.read_text() + f"include: {patterns}\n")
    result = _main("validate", str(root))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    # every registered document kind is named ('kind: assistant' or ... 'kind: vector_store')
    mapping = f"a spec document must be a mapping (start it with {documents.start_hint()})"
    assert "'kind: assistant' or " in mapping and " or 'kind: vector_store')" in mapping
    assert [line for line in lines if mapping in line] == [
        f"{data}/row{i:03}.txt:1:1: {mapping}" for i in range(20)
    ]
    # another kind is not hidden by the many, and the total stays the whole count
    assert f"{data}/typo.yaml:1:7: unknown kind 'asistant' (did you mean 'assistant'?)" in lines
    assert lines[-2:] == [
        "... and 480 more like: a spec document must be a mapping (not shown)",
        "501 errors found.",
    ]
    assert len(lines) == 23
    # --json is for programs: every problem, none left out
    report = json.loads(_main("validate", str(root), "--json").stdout)
    assert len(report["errors"]) == 501
