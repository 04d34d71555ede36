"""`asst-deploy validate` of a generated 1000-assistant project, all environments (target < 0.5 s).

Usage: python bench/bench_validate.py [--quick] [--assistants 1000] [--runs 7]

Generates the project in a temporary directory (functions in JSON files, instructions in
Markdown files with ${var} interpolation, one vector store over knowledge files, a dev
and a prod environment), runs the real console command in a fresh process several times
and prints a markdown table of wall times: with the project's spec cache
(.asst-deploy/spec-cache) warm, as every run after the first finds it, and cold (deleted
before each run). The target is a median under 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _bench import Sample, command, machine, run, timed

TARGET_SECONDS = 0.5
TARGET_ASSISTANTS = 1000
CACHE = Path(".asst-deploy") / "spec-cache"
# gpt-4o and gpt-4o-mini shut down on 2027-01-14: from 60 days before, every assistant
# would also warn of it (2000 warnings, a figure of its own); the day is fixed before then
TODAY = "2026-09-01"


def generate(root: Path, assistants: int) -> None:
    """Write a valid project of `assistants` assistants under `root`."""
    for folder in ("assistants", "functions", "prompts", "knowledge", "vector_stores"):
        (root / folder).mkdir(parents=True)
    (root / "asst-deploy.yaml").write_text(
        "project: bench\n"
        "vars: {company: Example Corp, suffix: ''}\n"
        "defaults: {model: gpt-4o-mini, metadata: {team: bench}}\n"
        "targets:\n"  # one sandbox per environment, as validate requires
        "  dev: {type: sandbox, db: .asst-deploy/dev.db}\n"
        "  prod: {type: sandbox, db: .asst-deploy/prod.db}\n"
        "environments:\n"
        "  dev: {target: dev, vars: {suffix: ' (dev)'}}\n"
        "  prod:\n"
        "    target: prod\n"
        "    defaults: {model: gpt-4o}\n"
        "    overrides: {assistants: {a00: {temperature: 0.2}}}\n"
    )
    for i in range(20):
        (root / "knowledge" / f"doc{i:02}.md").write_text(f"# Document {i}\n" + "text\n" * 50)
    (root / "vector_stores" / "docs.yaml").write_text(
        "kind: vector_store\nkey: docs\nname: ${company} docs${suffix}\n"
        "files:\n  - knowledge/*.md\n"
        "chunking_strategy:\n  type: static\n"
        "  static: {max_chunk_size_tokens: 800, chunk_overlap_tokens: 400}\n"
    )
    for i in range(assistants):
        key = f"a{i:02}"
        function = {
            "name": f"lookup_{i}",
            "description": "Look something up for ${company}.",
            "strict": True,
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "filters": {
                        "type": "object",
                        "properties": {"year": {"type": ["integer", "null"]}},
                        "required": ["year"],
                        "additionalProperties": False,
                    },
                },
                "required": ["query", "filters"],
                "additionalProperties": False,
            },
        }
        (root / "functions" / f"{key}.json").write_text(json.dumps(function, indent=2))
        (root / "prompts" / f"{key}.md").write_text(
            f"You are assistant {i} of ${{company}}.\n" + "Answer briefly and cite sources.\n" * 40
        )
        (root / "assistants" / f"{key}.yaml").write_text(
            f"kind: assistant\nkey: {key}\nname: Assistant {i}${{suffix}}\n"
            f"description: Generated assistant number {i}.\n"
            f"instructions:\n  file: prompts/{key}.md\n"
            "tools:\n"
            "  - type: file_search\n    max_num_results: 10\n"
            f"  - type: function\n    file: functions/{key}.json\n"
            "tool_resources:\n  file_search:\n    vector_stores: [docs]\n"
            "temperature: 0.7\n"
            f"metadata: {{owner: team-{i % 5}}}\n"
        )


def measure(args: list[str], cwd: Path, runs: int, cold: bool = False) -> list[Sample]:
    """`runs` timed runs after one warm-up; `cold`: each without the spec cache."""
    run(args, cwd)  # warm the file system's caches (and the spec cache)
    samples = []
    for _ in range(runs):
        if cold:
            (cwd / CACHE).unlink(missing_ok=True)
        samples.append(timed(args, cwd))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 assistants, 5 runs")
    parser.add_argument("--assistants", type=int, default=TARGET_ASSISTANTS)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    if options.quick:
        options.assistants, options.runs = 100, 5
    os.environ["ASST_DEPLOY_TODAY"] = TODAY
    root = Path(tempfile.mkdtemp(prefix="asst-deploy-bench-"))
    try:
        generate(root, options.assistants)
        base = command()
        every = [*base, "validate"]
        cases: list[tuple[str, list[str], bool, bool]] = [  # label, command, cold, target
            (
                "`python -c pass` (interpreter start-up)",
                [sys.executable, "-c", "pass"],
                False,
                False,
            ),
            ("`asst-deploy --version`", [*base, "--version"], False, False),
            (
                "`asst-deploy validate --env prod`, spec cache warm",
                [*every, "--env", "prod"],
                False,
                False,
            ),
            ("`asst-deploy validate` (base, dev, prod), spec cache cold", every, True, True),
            ("`asst-deploy validate` (base, dev, prod), spec cache warm", every, False, True),
        ]
        print(f"{options.assistants} assistants, 1 vector store, 20 knowledge files; ", end="")
        print(f"{options.runs} runs each after one warm-up; {machine()}\n")
        print("| command | min (s) | median (s) | max (s) | CPU, median (s) | target |")
        print("|---|---:|---:|---:|---:|---|")
        met = True
        for label, args, cold, targeted in cases:
            samples = measure(args, root, options.runs, cold)
            times = [x.wall for x in samples]
            cpu = statistics.median(x.cpu for x in samples)
            median = statistics.median(times)
            target = "n/a"
            if targeted and options.assistants == TARGET_ASSISTANTS:
                ok = median < TARGET_SECONDS
                met = met and (ok or cold)  # the verdict is the warm run's: the usual one
                target = f"< {TARGET_SECONDS:g} s: " + ("meets" if ok else "MISSES")
            print(
                f"| {label} | {min(times):.3f} | {median:.3f} | {max(times):.3f} "
                f"| {cpu:.3f} | {target} |"
            )
        return 0 if met else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
