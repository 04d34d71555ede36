"""`asst-deploy validate --matrix`: which environments' targets can hold each assistant, and why not."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from asst_deploy.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "specs"
Run = Callable[..., subprocess.CompletedProcess[str]]  # the run_cli fixture

EXAMPLE_MATRIX = """\
handbook:
  (base)     sandbox            assistants  ok
  agents     sandbox-agents     agents      excluded, it cannot hold:
      tools[0]: the Agents API has no file_search tool
      tool_resources.file_search: an agent has no vector stores to search (no file_search)
  dev        sandbox-dev        assistants  ok
  prod       sandbox-prod       assistants  ok
  responses  sandbox-responses  responses   ok
math-tutor:
  (base)     sandbox            assistants  ok
  agents     sandbox-agents     agents      ok
  dev        sandbox-dev        assistants  ok
  prod       sandbox-prod       assistants  ok
  responses  sandbox-responses  responses   ok
weather:
  (base)     sandbox            assistants  ok
  agents     sandbox-agents     agents      ok
  dev        sandbox-dev        assistants  ok
  prod       sandbox-prod       assistants  ok
  responses  sandbox-responses  responses   ok
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def without_overrides(tmp_path: Path) -> Path:
    """The example project with no overrides for the agents and responses environments."""
    root = tmp_path / "project"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".asst-deploy"))
    project = root / "asst-deploy.yaml"
    text = project.read_text()
    start = text.index("    overrides:\n      assistants:\n        weather:\n          description")
    end = text.index("  # Every assistant")
    text = text[:start] + text[end:]
    text = text[: text.index("    overrides:", text.index("  responses:"))]
    project.write_text(text)
    return root


def test_the_example_matrix_shows_why_the_handbook_stays_out_of_agents() -> None:
    result = invoke("validate", str(EXAMPLES), "--matrix")
    assert result.exit_code == 0, result.output
    assert result.stdout == EXAMPLE_MATRIX


def test_it_shows_what_the_agents_and_responses_overrides_of_the_example_remove(
    tmp_path: Path,
) -> None:
    root = without_overrides(tmp_path)
    assert invoke("validate", str(root)).exit_code == 1  # the refusals are errors there
    result = invoke("validate", str(root), "--matrix")
    assert result.exit_code == 0, result.output  # and a report here
    weather = result.stdout[result.stdout.index("weather:") :]
    assert weather == (
        "weather:\n"
        "  (base)     sandbox            assistants  ok\n"
        "  agents     sandbox-agents     agents      cannot hold:\n"
        "      description: an agent has no description\n"
        "      temperature: an agent has no sampling temperature\n"
        "      tools[0].function.strict: an agent's function tools have no strict mode\n"
        "  dev        sandbox-dev        assistants  ok\n"
        "  prod       sandbox-prod       assistants  ok\n"
        "  responses  sandbox-responses  responses   cannot hold:\n"
        "      description: a responses.create request has no description\n"
    )
    assert "math-tutor:\n  (base)     sandbox            assistants  ok\n" in result.stdout
    assert "cannot hold" not in result.stdout[result.stdout.index("math-tutor:") : -len(weather)]


def test_env_limits_the_matrix_to_one_environment() -> None:
    result = invoke("validate", str(EXAMPLES), "--matrix", "--env", "agents")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        "handbook:",
        "  agents  sandbox-agents  agents  excluded, it cannot hold:",
    ]
    assert "  agents  sandbox-agents  agents  ok" in result.stdout


def test_json_matrix() -> None:
    result = invoke("validate", str(EXAMPLES), "--matrix", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["format_version"] == 1
    assert report["project"] == "examples"
    assert report["environments"] == ["(base)", "agents", "dev", "prod", "responses"]
    assert sorted(report["assistants"]) == ["handbook", "math-tutor", "weather"]
    cell = report["assistants"]["handbook"][1]
    assert {k: v for k, v in cell.items() if k != "refusals"} == {
        "environment": "agents",
        "target": "sandbox-agents",
        "api": "agents",
        "status": "excluded",
    }
    assert cell["refusals"][0] == {
        "field": "tools[0]",
        "path": ["tools", 0],
        "reason": "the Agents API has no file_search tool",
        "fix": "leave the file_search tool out of the tools list in the overrides of "
        "environment 'agents' (assistants: handbook: {tools: [...]})",
    }
    statuses = {c["status"] for row in report["assistants"].values() for c in row}
    assert statuses == {"ok", "excluded"}


def test_other_problems_fail_the_matrix(tmp_path: Path, run_cli: Run) -> None:
    root = without_overrides(tmp_path)
    spec = root / "assistants" / "weather.yaml"
    spec.write_text(spec.read_text().replace("temperature: 0.5", "temprature: 0.5"))
    result = run_cli("validate", "--matrix", cwd=root)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "assistants/weather.yaml:12:1: unknown key 'temprature' (did you mean 'temperature'?)\n"
        "1 error found.\n"
    )
    as_json = run_cli("validate", "--matrix", "--json", cwd=root)
    assert as_json.returncode == 1
    assert [e["message"] for e in json.loads(as_json.stdout)["errors"]] == [
        "unknown key 'temprature'"
    ]
