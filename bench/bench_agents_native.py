"""No-change `plan` of N agents, each with an environment, a vault and an automation: lists only.

Usage: python bench/bench_agents_native.py [--agents 200] [--runs 5]

A generated project of N assistant specs (code_interpreter and an mcp tool) deployed on an
agents target, each running in its own `kind: environment`, with its own vault of 2
credentials (a static_bearer one its mcp tool names as `credential: vault/cred`, an
environment_variable one) and its own automation (daily, given the vault), is applied once
to a sandbox server process that answers every request 20 ms late. Then the real console
command `asst-deploy plan` runs --runs times in a fresh process each (after one warm-up),
timed as a whole process, and once more with --verbose, whose trace lines give every
request it made. The table counts them by method and path: a no-change plan must make
GET list calls only (no retrieve, no write), as many as the collections have pages: a page
of 100 per collection (agents, environment templates, vaults, automations; skills, files
and vector stores hold none here but are listed once), and one credentials list per vault
(the API lists a vault's credentials only), and the models' list (their shutdown dates).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _bench import KEY_ENV, LATENCY_MS, command, machine, median, run, serve, table, timed

PAGE = 100
SECRETS = {"BENCH_MCP_TOKEN": "bench-mcp-token", "BENCH_DB_TOKEN": "bench-db-token"}
_REQUEST = re.compile(r"^\s+(GET|POST|DELETE|PUT|PATCH) (\S+) ->", re.MULTILINE)
_ID = re.compile(r"[a-z]+_[A-Za-z0-9]{8,}")  # an object id, prefix_random
_LISTS = {
    "/v1/agents",
    "/v1/agents/environments/templates",
    "/v1/agents/automations",
    "/v1/vaults",
    "/v1/vaults/{id}/credentials",
    "/v1/skills",
    "/v1/files",
    "/v1/vector_stores",
    "/v1/models",
}


def write_project(root: Path, agents: int, base_url: str) -> Path:
    for folder in ("assistants", "environments", "vaults", "automations"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "asst-deploy.yaml").write_text(
        "project: bench\n"
        "targets:\n"
        f"  bench: {{type: openai, api: agents, base_url: '{base_url}', api_key_env: {KEY_ENV}}}\n"
        "default_target: bench\n"
        "defaults: {model: gpt-4o-mini, metadata: {team: bench}}\n"
    )
    for i in range(agents):
        n = f"{i:04}"
        (root / "environments" / f"e{n}.yaml").write_text(
            f"kind: environment\nkey: e{n}\npackages: {{python: [pandas==2.3.3]}}\n"
            "network: {access: restricted, allowed_domains: [api.example.com]}\n"
            f"env: {{REGION: eu, SHARD: '{i}'}}\n"
        )
        (root / "vaults" / f"v{n}.yaml").write_text(
            f"kind: vault\nkey: v{n}\ncredentials:\n"
            "  - name: mcp\n    auth:\n      type: static_bearer\n"
            f"      mcp_server_url: https://mcp.example.com/{n}\n"
            "      token: {from_env: BENCH_MCP_TOKEN}\n"
            "  - name: db\n    auth:\n      type: environment_variable\n"
            "      secret_name: DB_TOKEN\n      secret_value: {from_env: BENCH_DB_TOKEN}\n"
            "      networking: {type: limited, allowed_hosts: [db.example.com]}\n"
        )
        (root / "assistants" / f"a{n}.yaml").write_text(
            f"kind: assistant\nkey: a{n}\nname: Agent {i}\n"
            f"instructions: You are agent {i}. Answer briefly.\nenvironment: e{n}\n"
            "tools:\n  - type: code_interpreter\n"
            f"  - type: mcp\n    server_label: tools\n    credential: v{n}/mcp\n"
            f"    transport: {{type: http, server_url: 'https://mcp.example.com/{n}'}}\n"
        )
        (root / "automations" / f"t{n}.yaml").write_text(
            f"kind: automation\nkey: t{n}\ntype: periodic\nexpression: '0 6 * * *'\n"
            "timezone: UTC\n"
            f"target: {{new_session: {{agent: a{n}, vaults: [v{n}], input: Run the daily job.}}}}\n"
        )
    return root


def endpoint(path: str) -> str:
    """A request's path without its query and with its ids as {id}."""
    parts = path.split("?", 1)[0].split("/")
    return "/".join("{id}" if _ID.fullmatch(part) else part for part in parts)


def expected_pages(agents: int) -> Counter[str]:
    """The fewest list calls a no-change plan can make, by endpoint."""
    pages = math.ceil(agents / PAGE)
    return Counter(
        {
            "/v1/agents": pages,
            "/v1/agents/environments/templates": pages,
            "/v1/agents/automations": pages,
            "/v1/vaults": pages,
            "/v1/vaults/{id}/credentials": agents,  # 2 each: one page a vault
            "/v1/skills": 1,
            "/v1/files": 1,
            "/v1/vector_stores": 1,
            "/v1/models": 1,  # the models' shutdown dates, which plan reports
        }
    )


def requests_made(root: Path) -> Counter[tuple[str, str]]:
    """(method, endpoint) of every request of one `plan --verbose`, counted."""
    result = run([*command(), "--verbose", "plan", "--detailed-exitcode"], root)
    return Counter((method, endpoint(path)) for method, path in _REQUEST.findall(result.stderr))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    os.environ.update(SECRETS)
    n = options.agents
    with tempfile.TemporaryDirectory(prefix="asst-deploy-bench-") as tmp:
        root = Path(tmp) / "project"
        with serve(latency_ms=LATENCY_MS) as url:
            write_project(root, n, url)
            applied = timed([*command(), "apply", "--auto-approve", "--parallelism", "16"], root)
            plan = [*command(), "plan", "--detailed-exitcode"]
            timed(plan, root)  # warm-up
            samples = [timed(plan, root) for _ in range(options.runs)]
            made = requests_made(root)
    wanted = expected_pages(n)
    lists = {(m, e): c for (m, e), c in made.items() if m == "GET" and e in _LISTS}
    others = {(m, e): c for (m, e), c in made.items() if (m, e) not in lists}
    only_lists = not others
    rows: list[list[object]] = [
        [f"{m} {e}", c, wanted.get(e, 0), "" if c == wanted.get(e, 0) else "more than needed"]
        for (m, e), c in sorted(lists.items())
    ]
    rows += [[f"{m} {e}", c, 0, "NOT A LIST CALL"] for (m, e), c in sorted(others.items())]
    rows += [["**total**", sum(made.values()), sum(wanted.values()), ""]]
    print(
        f"No-change plan of {n} agents (each: an environment, a vault of 2 credentials, an "
        f"automation), {LATENCY_MS:.0f} ms per request, {options.runs} runs; {machine()}\n"
    )
    print(table(["request", "made", "fewest (list pages)", "note"], rows, "lrrl"))
    walls = [s.wall for s in samples]
    print(
        f"\nonly list calls: {'yes' if only_lists else 'no'}; requests {sum(made.values())} "
        f"for {sum(wanted.values())} list pages\n"
        f"plan, whole process: median {median(walls):.2f} s (min {min(walls):.2f}, max "
        f"{max(walls):.2f}), CPU median {median([s.cpu for s in samples]):.2f} s, peak "
        f"memory {median([s.rss for s in samples]):.0f} MiB; the apply before it "
        f"{applied.wall:.1f} s"
    )
    return 0 if only_lists and sum(made.values()) == sum(wanted.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
