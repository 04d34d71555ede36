"""Run conversation scripts on two environments through the harness, as parity records."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from asst_deploy.errors import AsstDeployError
from asst_deploy.replay import parity
from asst_deploy.replay.harness import Harness, Settings, TurnVerdict
from asst_deploy.replay.script import Script, load_script

Records = dict[tuple[str, int], parity.TurnRecord]


def record(verdict: TurnVerdict) -> parity.TurnRecord:
    """A turn's verdict and what happened in it, as the parity table compares them."""
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
        latency=result.latency,
        notes=notes,
    )


def scripts(paths: Iterable[Path]) -> list[Script]:
    """The scripts in `paths` (files, or directories searched for *.conv.yaml), sorted."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.rglob("*.conv.yaml")) if path.is_dir() else [path]
    return [load_script(p) for p in found]


def run_side(
    settings: Settings, env: str, loaded: Iterable[Script], keyword: str | None
) -> Records:
    """Every conversation of `loaded` on `env`: its turns' records, keyed by
    ("script::conversation", turn); a turn after the one that failed is left out (not run)."""
    harness = Harness(replace(settings, env=env))
    records: Records = {}
    try:
        for script in loaded:
            for conversation in script.conversations:
                name = f"{script.path.name}::{conversation.name}"
                if keyword and keyword not in name:
                    continue
                try:
                    _, verdicts = harness.transcribe(script, conversation, env)
                except AsstDeployError as exc:
                    message = exc.render().removeprefix("Error: ")
                    records[(name, 1)] = parity.TurnRecord(parity.FAIL, notes=(message,))
                    continue
                for verdict in verdicts:
                    records[(name, verdict.index)] = record(verdict)
    finally:
        harness.close()
    return records
