"""Replay time of 100 recorded three-turn conversations, serial and with -n 2 (target < 3 s).

Usage: python bench/bench_replay.py [--quick] [--runs 5]. The conversations are recorded
once against the built-in sandbox in a temporary copy of specs/, then replayed by pytest
with the plugin, --runs times each way; times are wall-clock medians for the whole pytest
process (start-up, collection, replay). --quick: 3 runs, serial only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench import environment, pytest_run

REPO = Path(__file__).resolve().parents[1]
CONVERSATIONS = 100
TARGET_SECONDS = 3.0


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs, serial only")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    runs = 3 if options.quick else options.runs
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
            env=environment(),
        )
        recorded = pytest_run(root, CONVERSATIONS, "conversations", "--asst-mode", "record")
        rows = [("record (live sandbox, streaming), once", [recorded])]
        ways = [("replay, serial", ())] + ([] if options.quick else [("replay, -n 2", ("-n", "2"))])
        for name, extra in ways:
            times = [
                pytest_run(root, CONVERSATIONS, "conversations", "--asst-mode", "replay", *extra)
                for _ in range(runs)
            ]
            rows.append((name, times))
    print(
        f"{CONVERSATIONS} conversations x 3 turns, medians of {runs} runs "
        f"(target: replay under {TARGET_SECONDS:.0f} s); load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
        + "\n"
    )
    print("| run | min (s) | median (s) | max (s) | per conversation (ms) | target |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    ok = True
    for name, times in rows:
        seconds = statistics.median(times)
        verdict = "n/a"
        if name.startswith("replay"):
            ok = ok and seconds < TARGET_SECONDS
            verdict = f"< {TARGET_SECONDS:.0f} s: " + (
                "meets" if seconds < TARGET_SECONDS else "MISSES"
            )
        print(
            f"| {name} | {min(times):.2f} | {seconds:.2f} | {max(times):.2f} "
            f"| {seconds / CONVERSATIONS * 1000:.1f} | {verdict} |"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
