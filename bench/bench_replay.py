"""Replay time of 100 recorded three-turn conversations, serial and with -n 2 (target < 5 s).

Run: python bench/bench_replay.py. The conversations are recorded once against the
built-in sandbox in a temporary copy of specs/, then replayed by pytest with the plugin;
times are wall-clock for the whole pytest process (start-up, collection, replay).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONVERSATIONS = 100
TARGET_SECONDS = 5.0


def script() -> str:
    lines = [
        "assistant: weather",
        "functions: {get_weather: {output: {temperature: 18}}}",
        "conversations:",
    ]
    for i in range(CONVERSATIONS):
        lines += [
            f"  - name: c{i:03d}",
            "    turns:",
            f"      - {{user: 'What is the weather in City{i}?', expect: {{tool_call_count: 1}}}}",
            "      - {user: Thanks!, expect: {no_tool_calls: true}}",
            "      - {user: What is the weather in Oslo in fahrenheit?, expect: {contains: Oslo}}",
        ]
    return "\n".join(lines) + "\n"


def pytest_run(root: Path, *args: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "conversations", *args],
        cwd=root,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0 or f"{CONVERSATIONS} passed" not in result.stdout:
        sys.exit(
            f"pytest {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        shutil.copytree(
            REPO / "specs", root, ignore=shutil.ignore_patterns(".asst-deploy", "conversations")
        )
        (root / "conversations").mkdir()
        (root / "conversations" / "bench.conv.yaml").write_text(script())
        subprocess.run(
            [sys.executable, "-m", "asst_deploy", "apply", str(root), "--auto-approve"],
            check=True,
            capture_output=True,
        )
        recorded = pytest_run(root, "--asst-mode", "record")
        rows = [
            ("record (live sandbox, streaming)", recorded),
            ("replay, serial", pytest_run(root, "--asst-mode", "replay")),
            ("replay, -n 2", pytest_run(root, "--asst-mode", "replay", "-n", "2")),
        ]
    print(
        f"{CONVERSATIONS} conversations x 3 turns (target: replay under {TARGET_SECONDS:.0f} s)\n"
    )
    print("| run | wall time (s) | per conversation (ms) | under target |")
    print("| --- | ---: | ---: | --- |")
    for name, seconds in rows:
        verdict = "yes" if seconds < TARGET_SECONDS else "no"
        verdict = verdict if name.startswith("replay") else "n/a"
        print(f"| {name} | {seconds:.2f} | {seconds / CONVERSATIONS * 1000:.1f} | {verdict} |")


if __name__ == "__main__":
    main()
