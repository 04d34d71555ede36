"""Run conversation scripts on two environments through the harness, as parity records."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from asst_deploy.conversation.script import Script
from asst_deploy.errors import AsstDeployError
from asst_deploy.replay import parity
from asst_deploy.replay.harness import BASE, Excluded, Harness, Settings, TurnVerdict, project_root
from asst_deploy.replay.scripts import load_script
from asst_deploy.spec.loader import environment_names

Records = dict[tuple[str, int], parity.TurnRecord]


def record(verdict: TurnVerdict, timed: bool = True) -> parity.TurnRecord:
    """A turn's verdict and what happened in it, as the parity table compares them; not
    `timed`, its latency is unknown (a replay's is the time to read a cassette)."""
    notes = tuple(f"{f.kind}: {f.message}" for f in [*verdict.failures, *verdict.not_applicable])
    if verdict.error:
        notes += (verdict.error,)
    result = verdict.result
    if result is None:
        return parity.TurnRecord(parity.FAIL, notes=notes)
    calls = tuple(
        f"{c.name}({json.dumps(c.arguments, sort_keys=True) if c.arguments is not None else c.raw_arguments})"
        if c.type == "function"
        else c.name
        for c in result.tool_calls
    )
    return parity.TurnRecord(
        verdict.verdict,
        reply=result.reply,
        tool_calls=calls,
        status=result.status,
        tokens=result.usage.get("total_tokens"),
        latency=result.latency if timed else None,
        notes=notes,
    )


def scripts(paths: Iterable[Path]) -> list[Script]:
    """The scripts in `paths` (files, or directories searched for *.conv.yaml), sorted."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.rglob("*.conv.yaml")) if path.is_dir() else [path]
    return [load_script(p) for p in found]


def check_environments(loaded: Iterable[Script], envs: Iterable[str]) -> None:
    """Before anything runs: each environment named is one of every script's project (or
    `base`, the project file's own targets), else every conversation would fail alike."""
    roots = {project_root(script) for script in loaded}
    for env in envs:
        for root in sorted(roots):
            names = environment_names(root)
            if env != BASE and env not in names:
                raise AsstDeployError(
                    f"the project in {root} has no environment '{env}' (it has: "
                    f"{', '.join((BASE, *names))}; `{BASE}` is the project file's own targets)"
                )


def run_side(
    settings: Settings, env: str, loaded: Iterable[Script], keyword: str | None
) -> Records:
    """Every conversation of `loaded` on `env`: its turns' records, keyed by
    ("script::conversation", turn); a turn after the one that failed is left out (not run),
    and every turn of a conversation whose assistant `env` excludes is skipped."""
    harness = Harness(replace(settings, env=env))
    # `once` replays only some: a latency measured on one side and not the other says nothing
    timed = settings.mode in ("live", "record")
    records: Records = {}
    try:
        for script in loaded:
            for conversation in script.conversations:
                name = f"{script.path.name}::{conversation.name}"
                if keyword and keyword not in name:
                    continue
                try:
                    _, verdicts = harness.transcribe(script, conversation, env)
                except Excluded as exc:
                    skipped = parity.TurnRecord(parity.SKIPPED, notes=(str(exc),), why=exc.why)
                    for turn in conversation.turns:
                        records[(name, turn.index)] = skipped
                    continue
                except AsstDeployError as exc:
                    message = exc.render().removeprefix("Error: ")
                    records[(name, 1)] = parity.TurnRecord(parity.FAIL, notes=(message,))
                    continue
                for verdict in verdicts:
                    records[(name, verdict.index)] = record(verdict, timed)
    finally:
        harness.close()
    return records
