"""The code blocks of the README and of docs/, and how the tests run them.

A page's fenced blocks run in order in a fresh copy of the example project (specs/, with
`.venv/bin` standing for this interpreter's), as a reader would type them:

- `sh` blocks run in bash (-e, pipefail), `python` blocks in this interpreter;
- a block whose first line is `# not run: WHY` is only checked for syntax (WHY must say
  why, and where it runs if it runs elsewhere);
- a block that says `# runs until Ctrl-C` (a server) is started in the background and
  waited for until it answers; the page's later blocks run while it serves, and it is
  stopped with Ctrl-C at the end of the page. Its `--port 8765` becomes a free port, in it
  and in the later blocks;
- `<!-- test-setup: COMMAND -->` lines run COMMAND first, unseen by a reader.

`yaml` and `json` blocks must parse; other blocks (`text`, `xml`, ...) are shown only.
"""

from __future__ import annotations

import ast
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
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
README = REPO / "README.md"
FENCE = re.compile(r"^```(?P<language>[\w-]*)\n(?P<body>.*?)^```$", re.M | re.S)
NOT_RUN = re.compile(r"^# not run: (?P<why>.*)$")
LONG_RUNNING = "# runs until Ctrl-C"
SETUP = re.compile(r"^<!-- test-setup: (?P<command>.+?) -->$", re.M)
RUN = {"sh", "python"}
PARSE = {"yaml", "json"}
SHOWN = {"text", "xml", "toml"}
DEFAULT_PORT = "8765"


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    body: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    @property
    def not_run(self) -> str | None:
        """Why the block does not run here, from its `# not run: WHY` first line."""
        match = NOT_RUN.match(self.body.split("\n", 1)[0])
        return match.group("why").strip() if match else None

    @property
    def long_running(self) -> bool:
        return LONG_RUNNING in self.body


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    return [
        Block(path, text.count("\n", 0, m.start()) + 1, m.group("language"), m.group("body"))
        for m in FENCE.finditer(text)
    ]


def runnable(path: Path) -> bool:
    return any(b.language in RUN for b in blocks(path)) or bool(SETUP.search(path.read_text()))


def setups(path: Path) -> list[str]:
    return [m.group("command") for m in SETUP.finditer(path.read_text())]


def make_project(root: Path) -> Path:
    """A copy of the repository's specs/, and `.venv/bin` standing for this interpreter's."""
    for example in ("specs", "examples"):
        shutil.copytree(
            REPO / example, root / example, ignore=shutil.ignore_patterns(".asst-deploy")
        )
    (root / ".venv").mkdir()
    (root / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    return root


def env() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    variables = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    variables["NO_COLOR"] = "1"
    # a reader's shell: conversation tests default to live, not to CI's replay
    for name in ("CI", "ASST_DEPLOY_MODE", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER"):
        variables.pop(name, None)
    return variables


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def python(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script],
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


def port_of(script: str) -> str | None:
    match = re.search(r"--port (\d+)", script)
    return match.group(1) if match else None


@contextmanager
def serving(script: str, cwd: Path) -> Iterator[None]:
    """Start a block that serves until Ctrl-C, wait until it answers, then (on leaving)
    press Ctrl-C and check it stopped as a server should."""
    port = port_of(script)
    assert port, f"a block that runs until Ctrl-C names its --port: {script}"
    command = shlex.split(script.split("#")[0])
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
            except OSError:  # not listening yet, or an injected fault: ask again
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        yield
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode in (0, 130, -signal.SIGINT), process.returncode


def check_syntax(block: Block) -> None:
    if block.language == "sh":
        result = subprocess.run(["bash", "-n", "-c", block.body], capture_output=True, text=True)
        assert result.returncode == 0, f"{block.where}: {result.stderr}"
    elif block.language == "python":
        ast.parse(block.body, block.where)


def check_parses(block: Block) -> None:
    if block.language == "yaml":
        list(yaml.safe_load_all(block.body))
    elif block.language == "json":
        json.loads(block.body)


def run_blocks(page: list[Block], cwd: Path, setup: Sequence[str] = ()) -> list[Block]:
    """Run a page's blocks in order in `cwd` (see the module's docstring); the blocks run."""
    ran = []
    for command in setup:
        result = bash(command, cwd)
        assert result.returncode == 0, f"test-setup {command}\n{result.stdout}\n{result.stderr}"
    ports: dict[str, str] = {}
    with ExitStack() as servers:
        for block in page:
            if block.language in PARSE:
                check_parses(block)
                continue
            if block.language not in RUN:
                continue
            if block.not_run is not None:
                check_syntax(block)
                continue
            body = block.body
            for old, new in ports.items():
                body = body.replace(old, new)
            if block.long_running:
                if port_of(body) == DEFAULT_PORT:
                    ports[DEFAULT_PORT] = str(free_port())
                    body = body.replace(f"--port {DEFAULT_PORT}", f"--port {ports[DEFAULT_PORT]}")
                servers.enter_context(serving(body, cwd))
            else:
                result = (bash if block.language == "sh" else python)(body, cwd)
                assert result.returncode == 0, (
                    f"{block.where} failed (exit {result.returncode}):\n{body}\n"
                    f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
                )
            ran.append(block)
    return ran
