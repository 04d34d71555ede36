"""Every shell block of the README runs, so the README cannot rot."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e  # slow: its own CI step (see pyproject.toml)

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
INSTALL = 'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]" -c requirements/lock.txt && '
LONG_RUNNING = "# runs until Ctrl-C"


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == language]


def ci_test_command() -> str:
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    return next(line for line in lines if line.startswith("python -m pytest"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's specs/, and `.venv/bin` standing for this interpreter's."""
    shutil.copytree(
        REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns(".asst-deploy")
    )
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    return tmp_path


def env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_briefly(script: str, cwd: Path) -> None:
    """Start a block that serves until Ctrl-C, check it answers, then press Ctrl-C."""
    port = free_port()
    command = shlex.split(script.split("#")[0].replace("--port 8765", f"--port {port}"))
    process = subprocess.Popen(command, cwd=cwd, env=env(), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/assistants",
                    headers={"OpenAI-Beta": "assistants=v2", "Authorization": "Bearer x"},
                )
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert json.load(response)["object"] == "list"
                    break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode in (0, 130, -signal.SIGINT)


def test_the_first_two_commands_are_the_install_and_ci_test_command() -> None:
    install, tests = blocks("sh")[:2]
    assert install.startswith(INSTALL), "the first command installs the project"
    assert 'pip install --quiet -e ".[dev]"' in (REPO / ".ci" / "run").read_text()
    # running the test command from inside the tests would recurse: CI runs it instead
    assert tests.strip() == ".venv/bin/" + ci_test_command()


def test_every_shell_block_runs_in_order(project: Path) -> None:
    scripts = blocks("sh")
    assert len(scripts) >= 8
    main_job = scripts[0].removeprefix(INSTALL)
    ran = 0
    for script in [main_job, *scripts[2:]]:
        if LONG_RUNNING in script:
            serve_briefly(script, project)
        else:
            result = bash(script, project)
            assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
        ran += 1
    assert ran == len(scripts) - 1
    # what the blocks promise: apply made the objects, and the plans after it are empty
    assert "No changes." in bash(main_job, project).stdout
    assert (project / "plan.md").read_text().startswith("### asst-deploy plan")
    summary = json.loads((project / "plan.json").read_text())["summary"]
    assert summary == {"add": 0, "change": 0, "destroy": 0}
    # the editor section: the modeline's path, seen from a spec file, names the schema written
    (modeline,) = [
        line for b in blocks("yaml") for line in b.splitlines() if "yaml-language-server" in line
    ]
    schema = (project / "specs" / "assistants" / modeline.split("$schema=", 1)[1]).resolve()
    assert json.loads(schema.read_text())["$schema"].startswith("https://json-schema.org/")
    assert (project / "specs" / ".asst-deploy" / "conversation.schema.json").is_file()
    for schema_path, globs in json.loads(blocks("json")[0])["yaml.schemas"].items():
        assert (project / schema_path).is_file()
        for pattern in globs:
            assert list(project.glob(pattern)), pattern


def test_the_sandbox_rules_example_loads(tmp_path: Path) -> None:
    from asst_deploy.sandbox.model import ScriptedModel

    rules = next(b for b in blocks("yaml") if b.startswith("rules:"))
    (tmp_path / "rules.yaml").write_text(rules)
    model = ScriptedModel.from_file(tmp_path / "rules.yaml")
    assert len(model.rules) == len(yaml.safe_load(rules)["rules"]) == 1


def quick_start() -> str:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (script,) = [body for lang, body in BLOCK.findall(section) if lang == "sh"]
    return script


def test_the_quick_start_tests_live_what_it_applied() -> None:
    # test_every_shell_block_runs_in_order runs this block as written, in a fresh copy of
    # specs/ (after the install block's base apply); a failing live test fails it there
    lines = [line.split("#")[0].split() for line in quick_start().splitlines()]
    apply_dev = lines.index(["asst-deploy", "apply", "specs/", "--env", "dev", "--auto-approve"])
    live_dev = lines.index(
        ["asst-deploy", "test", "specs/conversations", "--mode", "live", "--env", "dev"]
    )
    assert apply_dev < live_dev


def test_the_example_works_in_every_environment(project: Path) -> None:
    # the Quick start covers the base (replay) and dev (live); the README names these too
    prod_replay = re.search(r"`(asst-deploy test [^`]*--env prod[^`]*)`", README)
    assert prod_replay is not None
    script = "\n".join(
        [
            "asst-deploy test specs/conversations --mode replay --env dev",
            prod_replay.group(1),
            "asst-deploy apply specs/ --env prod --auto-approve",
            "asst-deploy test specs/conversations --mode live --env prod",
        ]
    )
    result = bash(script, project)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert result.stdout.count("5 passed") == 3, result.stdout
