"""What the bench scripts share: generated projects, a sandbox server process, timing, tables."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
LATENCY_MS = 20.0
KEY_ENV = "ASST_DEPLOY_BENCH_KEY"


def command() -> list[str]:
    """The console script next to this interpreter, as a user runs it; else `-m`."""
    script = Path(sys.executable).parent / "asst-deploy"
    return [str(script)] if script.exists() else [sys.executable, "-m", "asst_deploy"]


def environment() -> dict[str, str]:
    """The commands' environment. Python may cache compiled modules, as for a package pip
    installed (pip compiles them at install): this machine's shell sets
    PYTHONDONTWRITEBYTECODE, which would compile every asst_deploy module afresh per run."""
    env = {**os.environ, KEY_ENV: "sk-bench", "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(db: Path | None = None, latency_ms: float = 0.0) -> Iterator[str]:
    """`asst-deploy sandbox serve` in its own process (a remote has its own CPU too), with
    `latency_ms` added to every request; yields the base_url once it accepts connections."""
    port = free_port()
    args = [*command(), "sandbox", "serve", "--port", str(port), "--latency-ms", str(latency_ms)]
    if db is not None:
        args += ["--db", str(db)]
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment()
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start: {process.stderr}")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(10)


def write_project(root: Path, assistants: int, base_url: str, api: str = "assistants") -> Path:
    """A project of `assistants` assistants (one file each) on a `type: openai` target of
    API generation `api` (on agents: without the temperature agents cannot hold)."""
    (root / "assistants").mkdir(parents=True, exist_ok=True)
    for old in (root / "assistants").glob("*.yaml"):
        old.unlink()
    (root / "asst-deploy.yaml").write_text(
        "project: bench\n"
        "targets:\n"
        f"  bench: {{type: openai, api: {api}, base_url: '{base_url}', api_key_env: {KEY_ENV}}}\n"
        "default_target: bench\n"
        "defaults: {model: gpt-4o-mini, metadata: {team: bench}}\n"
    )
    for i in range(assistants):
        (root / "assistants" / f"a{i:04}.yaml").write_text(
            f"kind: assistant\nkey: a{i:04}\nname: Assistant {i}\n"
            f"instructions: You are assistant {i}. Answer briefly.\n"
            + (
                "tools: [{type: code_interpreter}]\ntemperature: 0.5\n"
                if api == "assistants"
                else ""
            )
        )
    return root


def run(args: Sequence[str], cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, env=environment(), check=False
    )
    if result.returncode != expect:
        sys.exit(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def pytest_run(root: Path, passed: int, *args: str) -> float:
    """Wall time of one pytest run in `root` (the replay plugin's), which must pass `passed`."""
    start = time.perf_counter()
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], root)
    elapsed = time.perf_counter() - start
    if f"{passed} passed" not in result.stdout:
        sys.exit(f"pytest {' '.join(args)}: not {passed} passed:\n{result.stdout[-3000:]}")
    return elapsed


class Sample(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds of the process: steadier than wall on a busy machine
    rss: float = 0.0  # the process's peak resident memory, MiB


def timed(args: Sequence[str], cwd: Path, expect: int = 0) -> Sample:
    """Wall time, CPU time and peak memory of one run of `args` (its own rusage, as
    wait4 reports it for that child alone)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(list(args), cwd=cwd, stdout=out, stderr=err, env=environment())
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != expect:
            out.seek(0)
            err.seek(0)
            sys.exit(
                f"{' '.join(args)} exited {process.returncode}:\n"
                f"{out.read().decode(errors='replace')}\n{err.read().decode(errors='replace')}"
            )
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median(times: Sequence[float]) -> float:
    return statistics.median(times)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str) -> str:
    """A Markdown table; `align` has an l or r per column (numbers go right)."""
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [headers, rule, *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def machine() -> str:
    """Cores, Python and the load average when done: a busy machine multiplies every time."""
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {load}"
