"""No-change `plan` of N assistants against a sandbox answering in 20 ms (targets: < 0.6 s
at 1000, < 4 s at 10,000, the cost per added assistant flat from 300 on).

Usage: python bench/bench_plan.py [--quick] [--runs 5] [--sizes 100,300,1000,3000,10000]
                                  [--api assistants|agents]

For each N a generated project is applied once to a sandbox server process (no latency),
then the server restarts on the same state with 20 ms added to every request and the
real console command `asst-deploy plan` runs --runs times in a fresh process each (after
one warm-up), timed as a whole process: start-up, imports, spec loading, the read, the
plan, its output and the exit. The fewest requests a plan can make are ceil(N/100)
assistant list pages plus one each of vector stores, files and models (on agents:
ceil(N/100) agent pages, and one each of environment templates, vector stores, files and
models). The collections are read side by side, and a list of more than three pages from
both ends at once (newest first too), so the read's floor is its longest chain of
pages: about half of ceil(N/100) round trips of 20 ms, for a few pages more where the
two ends overlap (the bench's objects are made a few hundred a second, and the two reads
meet only across a second). One more run with --verbose counts the requests the plan
really made, the round trips of its longest chain (its pages read from the oldest end),
and whether any was not a list call. The time per added assistant (between consecutive
N) shows the growth: flat when the largest from 300 on is within 1.3x of the smallest.
--quick: N = 100 and 300 only.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from pathlib import Path

from _bench import (
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

# N: seconds the whole process must stay under
TARGETS = {1000: 0.6, 10_000: 4.0}
FLAT_FROM = 300  # growth is judged from this N on
FLAT_WITHIN = 1.3  # largest / smallest ms per added assistant
# the lists a no-change plan reads besides the assistants' (or agents') pages: vector
# stores, files and models (and on agents environment templates)
OTHER_LISTS = {"assistants": 3, "agents": 4}
_REQUEST = re.compile(r"^\s+(GET|POST|DELETE) (\S+) ->", re.MULTILINE)


def requests_made(root: Path) -> list[tuple[str, str]]:
    """(method, path) of every request of one `plan --verbose`, from its trace lines."""
    result = run([*command(), "--verbose", "plan", "--detailed-exitcode"], root)
    return _REQUEST.findall(result.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100 and 300 only")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="100,300,1000,3000,10000")
    parser.add_argument("--api", choices=sorted(OTHER_LISTS), default="assistants")
    options = parser.parse_args()
    api = options.api
    sizes = [100, 300] if options.quick else [int(n) for n in options.sizes.split(",")]
    rows: list[list[object]] = []
    ok = True
    growth: list[float] = []  # ms per added assistant, from FLAT_FROM on
    previous: tuple[int, float] | None = None
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="asst-deploy-bench-") as tmp:
            root, db = Path(tmp) / "project", Path(tmp) / "state.db"
            with serve(db) as url:
                write_project(root, n, url, api)
                run([*command(), "apply", "--auto-approve", "--parallelism", "16"], root)
            with serve(db, latency_ms=LATENCY_MS) as url:
                write_project(root, n, url, api)
                plan = [*command(), "plan", "--detailed-exitcode"]
                timed(plan, root)  # warm-up
                samples = [timed(plan, root) for _ in range(options.runs)]
                made = requests_made(root)
        times = [s.wall for s in samples]
        pages = math.ceil(n / 100)
        calls = pages + OTHER_LISTS[api]
        writes = [r for r in made if r[0] != "GET"]
        # the longest chain: the main collection's pages read from its oldest end
        chain = sum(1 for _, path in made if path.startswith(f"/v1/{api}?") and "order=asc" in path)
        # every page listed, none more than twice
        read = calls <= len(made) <= calls + pages and not writes
        ok = ok and read
        m = median(times)
        target = "n/a"
        if n in TARGETS:
            met = m < TARGETS[n] and read
            ok = ok and met
            target = f"< {TARGETS[n]:g} s: {verdict(met)}"
        per_added = ""
        if previous is not None:
            added = (m - previous[1]) / (n - previous[0]) * 1000
            per_added = f"{added:.3f}"
            if previous[0] >= FLAT_FROM:
                growth.append(added)
        previous = (n, m)
        rows.append(
            [
                n,
                calls,
                f"{len(made)}" + (f" ({len(writes)} not lists!)" if writes else ""),
                f"{chain} ({chain * LATENCY_MS / 1000:.2f} s)",
                f"{min(times):.2f}",
                f"{m:.2f}",
                f"{max(times):.2f}",
                f"{median([s.cpu for s in samples]):.2f}",
                f"{median([s.rss for s in samples]):.0f}",
                per_added,
                target,
            ]
        )
    print(
        f"No-change plan on an {api} target, {LATENCY_MS:.0f} ms per request, "
        f"{options.runs} runs each; {machine()}\n"
    )
    print(
        table(
            [
                api,
                "list calls (fewest)",
                "requests made",
                "longest chain of pages",
                "min (s)",
                "median (s)",
                "max (s)",
                "CPU, median (s)",
                "peak memory (MiB)",
                f"ms per added {api[:-1]}",
                "target",
            ],
            rows,
            "lrrrrrrrrrl",
        )
    )
    if len(growth) >= 2:
        spread = max(growth) / min(growth) if min(growth) > 0 else math.inf
        flat = spread <= FLAT_WITHIN
        ok = ok and flat
        print(
            f"\nGrowth from {FLAT_FROM} on: {', '.join(f'{g:.3f}' for g in growth)} ms per added "
            f"{api[:-1]}, largest / smallest {spread:.2f} (target <= {FLAT_WITHIN}: "
            f"{verdict(flat)})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
