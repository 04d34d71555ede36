"""`apply` of N new assistants at parallelism 16 and 20 ms per request, against the ideal.

Usage: python bench/bench_apply.py [--quick] [--runs 5] [--sizes 100,200,300,1000,3000]

The ideal is ceil(N/16) x 20 ms of creates plus the three list pages read first
(assistants, vector stores, files). Each run starts an empty sandbox server process with
20 ms added to every request and times (1) the real console command `asst-deploy apply
--auto-approve --parallelism 16` as a whole process, and (2) on a fresh server, the apply
phase alone in this process (reading the remote state, planning, applying; not imports,
spec loading or the server's start). The target: the apply phase of 200 within 1.5x the
ideal. --quick: N = 100 and 200 only.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from _bench import (
    KEY_ENV,
    LATENCY_MS,
    command,
    machine,
    median,
    serve,
    table,
    timed,
    verdict,
    write_project,
)

from asst_deploy.adapters.targets import connect
from asst_deploy.engine import operations
from asst_deploy.engine.apply import Options, apply_plan
from asst_deploy.spec.loader import load_project

PARALLELISM = 16
TARGET_N = 200
TARGET_RATIO = 1.5
LIST_PAGES = 3


def ideal(n: int) -> float:
    return (math.ceil(n / PARALLELISM) + LIST_PAGES) * LATENCY_MS / 1000


def apply_phase(root: Path) -> float:
    os.environ.setdefault(KEY_ENV, "sk-bench")
    project = load_project(root, None, None)
    with connect(project.target) as backend:
        start = time.perf_counter()
        plan, remote = operations.make_plan(project, backend)
        done = apply_plan(plan, root, backend, remote, options=Options(parallelism=PARALLELISM))
        elapsed = time.perf_counter() - start
    if done != len(plan.actions):
        sys.exit(f"apply did {done} of {len(plan.actions)} actions")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100 and 200 only")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="100,200,300,1000,3000")
    options = parser.parse_args()
    sizes = [100, 200] if options.quick else [int(n) for n in options.sizes.split(",")]
    rows: list[list[object]] = []
    ok = True
    apply = [*command(), "apply", "--auto-approve", "--parallelism", str(PARALLELISM)]
    for n in sizes:
        whole, phase = [], []
        with tempfile.TemporaryDirectory(prefix="asst-deploy-bench-") as tmp:
            root = Path(tmp) / "project"
            for _ in range(options.runs):
                with serve(latency_ms=LATENCY_MS) as url:
                    write_project(root, n, url)
                    whole.append(timed(apply, root).wall)
                with serve(latency_ms=LATENCY_MS) as url:
                    write_project(root, n, url)
                    phase.append(apply_phase(root))
        best = ideal(n)
        ratio = median(phase) / best
        target = "n/a"
        if n == TARGET_N:
            ok = ratio <= TARGET_RATIO
            target = f"<= {TARGET_RATIO}x: {verdict(ok)}"
        rows.append(
            [
                n,
                f"{best:.2f}",
                f"{median(whole):.2f}",
                f"{median(whole) / best:.1f}x",
                f"{min(phase):.2f}",
                f"{median(phase):.2f}",
                f"{max(phase):.2f}",
                f"{ratio:.2f}x",
                target,
            ]
        )
    print(
        f"apply of N new assistants, parallelism {PARALLELISM}, {LATENCY_MS:.0f} ms per request, "
        f"{options.runs} runs each; {machine()}\n"
    )
    print(
        table(
            [
                "assistants",
                "ideal (s)",
                "whole process, median (s)",
                "vs ideal",
                "apply phase, min (s)",
                "median (s)",
                "max (s)",
                "median vs ideal",
                "target",
            ],
            rows,
            "lrrrrrrrl",
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
