"""`apply` of N new assistants at parallelism 16 and 20 ms per request, against the ideal
(target: the whole process, lock included, within 1.3x of its ideal at N = 200).

Usage: python bench/bench_apply.py [--quick] [--runs 5] [--sizes 100,200,300,1000,3000]

Each run starts an empty sandbox server process with 20 ms added to every request and
times the real console command `asst-deploy apply --auto-approve --parallelism 16` as a
whole process. Its ideal:

    start-up + (the lock's and the read's round trips, one after another) x 20 ms
             + ceil(N / 16) x 20 ms

start-up is what the process costs with no latency at all: the same project's
`asst-deploy plan` against an empty sandbox without latency (interpreter, imports, spec
loading, a read that finds nothing, the plan of N creates shown, exit), timed in each run
next to that run's apply; "vs ideal" is the median of the runs' ratios.
The round trips that cannot overlap: the lock's claim, the read (its collections side by
side: one page each on an empty target), the lock's first renewal and its release. The
creates are the requests: N of them, 16 at a time. A --verbose run counts the requests
really made (the creates, and any other write).

For comparison, the apply phase alone, in this process on a fresh server: reading the
remote state, planning, applying; not imports, spec loading, the lock or the server's
start; its ideal is ceil(N / 16) creates and the read's one page. --quick: N = 100 and 200.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _bench import (
    KEY_ENV,
    LATENCY_MS,
    command,
    machine,
    median,
    run,
    serve,
    table,
    timed,
    verdict,
    write_project,
)

from asst_deploy.engine import operations
from asst_deploy.engine.apply import Options, apply_plan
from asst_deploy.engine.targets import connect
from asst_deploy.spec.loader import load_project

PARALLELISM = 16
TARGET_N = 200
TARGET_RATIO = 1.3
READ_CHAIN = 1  # pages in the read's longest chain on an empty target
LOCK_TRIPS = 3  # the claim, its first renewal, the release
_REQUEST = re.compile(r"^\s+(GET|POST|DELETE) (\S+) ->", re.MULTILINE)


def trips(n: int) -> int:
    """Round trips of the ideal whole process: the lock's, the read's, the creates'."""
    return LOCK_TRIPS + READ_CHAIN + math.ceil(n / PARALLELISM)


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


def requests_made(root: Path, apply: list[str]) -> Counter[str]:
    """Requests of one `apply --verbose` by kind: list (GET), write (POST, DELETE)."""
    result = run([apply[0], "--verbose", *apply[1:]], root)
    made = _REQUEST.findall(result.stderr)
    return Counter("reads" if method == "GET" else "writes" for method, _ in made)


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
    plan = [*command(), "plan"]
    for n in sizes:
        whole, phase, startup = [], [], []
        with tempfile.TemporaryDirectory(prefix="asst-deploy-bench-") as tmp:
            root = Path(tmp) / "project"
            with serve(latency_ms=LATENCY_MS) as url:
                write_project(root, n, url)
                made = requests_made(root, apply)
            with serve() as url:
                write_project(root, n, url)
                timed(plan, root)  # warm-up
            for _ in range(options.runs):  # each run's three figures side by side in time
                with serve() as url:  # empty, no latency: what the process costs by itself
                    write_project(root, n, url)
                    startup.append(timed(plan, root).wall)
                with serve(latency_ms=LATENCY_MS) as url:
                    write_project(root, n, url)
                    whole.append(timed(apply, root).wall)
                with serve(latency_ms=LATENCY_MS) as url:
                    write_project(root, n, url)
                    phase.append(apply_phase(root))
        start = median(startup)
        best = start + trips(n) * LATENCY_MS / 1000
        # each run against its own start-up: steadier than medians on a busy machine
        ratio = median(
            [w / (s + trips(n) * LATENCY_MS / 1000) for w, s in zip(whole, startup, strict=True)]
        )
        best_phase = (math.ceil(n / PARALLELISM) + READ_CHAIN) * LATENCY_MS / 1000
        target = "n/a"
        if n == TARGET_N:
            met = ratio <= TARGET_RATIO
            ok = ok and met
            target = f"<= {TARGET_RATIO}x: {verdict(met)}"
        rows.append(
            [
                n,
                f"{made['writes']} / {made['reads']}",
                f"{start:.2f}",
                trips(n),
                f"{best:.2f}",
                f"{median(whole):.2f}",
                f"{ratio:.2f}x",
                target,
                f"{best_phase:.2f}",
                f"{median(phase):.2f}",
                f"{median(phase) / best_phase:.2f}x",
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
                "writes / reads made",
                "start-up (s)",
                "round trips",
                "ideal (s)",
                "whole process, median (s)",
                "vs ideal",
                "target",
                "apply phase: ideal (s)",
                "median (s)",
                "vs ideal",
            ],
            rows,
            "lrrrrrrlrrr",
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
