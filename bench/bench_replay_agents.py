"""Replay of 100 three-turn conversations on each API generation (targets: < 3 s each, agents 1.2x).

Usage: python bench/bench_replay_agents.py [--quick] [--runs 5]. One project with an
environment per API generation (a sandbox each) is recorded once per generation, then
replayed by pytest with the plugin, --runs times each, alternating so that load falls on
all alike; times are medians of the whole pytest process (start-up, collection, replay):
wall-clock, and its CPU time, steadier on a busy machine. --quick: 3 runs, 30
conversations.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _bench import Sample, environment, machine, pytest_run, table, timed, verdict

CONVERSATIONS = 100
TARGET_RATIO = 1.2
TARGET_SECONDS = 3.0  # each generation's replay, serial

PROJECT = """\
project: bench
targets:
  classic: {type: sandbox, db: .asst-deploy/classic.db, rules: rules.yaml}
  agents: {type: sandbox, api: agents, db: .asst-deploy/agents.db, rules: rules.yaml}
  responses: {type: sandbox, api: responses, db: .asst-deploy/responses.db, rules: rules.yaml}
default_target: classic
environments:
  classic: {target: classic}
  agents: {target: agents}
  responses: {target: responses}
"""
ASSISTANT = """\
kind: assistant
key: weather
name: Weather Bot
model: gpt-4o-mini
instructions: Use get_weather before you answer, and say which unit you used.
tools:
  - type: function
    function:
      name: get_weather
      parameters:
        type: object
        properties: {location: {type: string}, unit: {type: [string, "null"]}}
        required: [location, unit]
"""
RULES = r"""step_delay: 0
rules:
  - match: '(?i)weather in (?P<city>[A-Z][\w ,]*?) in (?P<unit>celsius|fahrenheit)'
    function_calls:
      - {name: get_weather, arguments: {location: "{match[city]}", unit: "{match[unit]}"}}
    reply: "Weather in {arguments[get_weather][location]}: {outputs[get_weather]}"
  - match: '(?i)weather in (?P<city>[A-Z][\w ,]*?)\??$'
    function_calls: [{name: get_weather, arguments: {location: "{match[city]}", unit: null}}]
    reply: "Weather in {arguments[get_weather][location]}: {outputs[get_weather]}"
  - match: '(?i)^thanks'
    reply: "You're welcome!"
"""


def script(conversations: int, env: str) -> str:
    lines = [
        "assistant: weather",
        f"env: {env}",
        "functions: {get_weather: {output: {temperature: 18}}}",
        "conversations:",
    ]
    for i in range(conversations):
        lines += [
            f"  - name: c{i:03d}",
            "    turns:",
            f"      - {{user: 'What is the weather in City{i}?', expect: {{tool_call_count: 1}}}}",
            "      - {user: Thanks!, expect: {no_tool_calls: true}}",
            "      - {user: What is the weather in Oslo in fahrenheit?, expect: {contains: Oslo}}",
        ]
    return "\n".join(lines) + "\n"


GENERATIONS = (
    ("classic", "assistants (threads, runs)"),
    ("agents", "agents (sessions, events)"),
    ("responses", "responses (conversations, responses)"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs, 30 conversations")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    runs = 3 if options.quick else options.runs
    conversations = 30 if options.quick else CONVERSATIONS
    envs = [env for env, _ in GENERATIONS]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        (root / "assistants").mkdir(parents=True)
        (root / "conversations").mkdir()
        (root / "asst-deploy.yaml").write_text(PROJECT)
        (root / "assistants" / "weather.yaml").write_text(ASSISTANT)
        (root / "rules.yaml").write_text(RULES)
        for env in envs:  # an assistant, an agent, a request template
            apply = [sys.executable, "-m", "asst_deploy", "apply", str(root), "--env", env]
            subprocess.run(
                [*apply, "--auto-approve"], check=True, capture_output=True, env=environment()
            )
        paths = {}
        for env in envs:
            path = root / "conversations" / f"{env}.conv.yaml"
            path.write_text(script(conversations, env))
            paths[env] = str(path.relative_to(root))
            pytest_run(root, conversations, paths[env], "--asst-mode", "record")
        samples: dict[str, list[Sample]] = {env: [] for env in envs}
        for _ in range(runs):
            for env in envs:
                # exit status 0: every conversation passed
                replay = ["-m", "pytest", "-q", "-p", "no:cacheprovider", paths[env]]
                samples[env].append(timed([sys.executable, *replay, "--asst-mode", "replay"], root))
    walls = {env: statistics.median(s.wall for s in samples[env]) for env in envs}
    cpus = {env: statistics.median(s.cpu for s in samples[env]) for env in envs}
    ratio = walls["agents"] / walls["classic"]
    print(
        f"Replay of {conversations} three-turn conversations, serial, medians of {runs} runs "
        f"(targets: each under {TARGET_SECONDS:g} s, agents within {TARGET_RATIO}x of "
        f"assistants); {machine()}\n"
    )
    rows = [
        [
            name,
            f"{min(s.wall for s in samples[env]):.2f}",
            f"{walls[env]:.2f}",
            f"{max(s.wall for s in samples[env]):.2f}",
            f"{cpus[env]:.2f}",
            f"{walls[env] / conversations * 1000:.1f}",
            f"< {TARGET_SECONDS:g} s: {verdict(walls[env] < TARGET_SECONDS)}"
            if conversations == CONVERSATIONS
            else "n/a",
        ]
        for env, name in GENERATIONS
    ]
    print(
        table(
            [
                "replay",
                "min (s)",
                "median (s)",
                "max (s)",
                "CPU median (s)",
                "per conversation (ms)",
                "target",
            ],
            rows,
            "lrrrrrl",
        )
    )
    close = ratio <= TARGET_RATIO
    print(f"\nagents / assistants: {ratio:.2f}x (target <= {TARGET_RATIO}x: {verdict(close)})")
    ok = close and (
        conversations != CONVERSATIONS or all(m < TARGET_SECONDS for m in walls.values())
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
