"""A conversation's run as plain data: its verdict, cost and latency, and turn by turn what
was said, called, cited and checked (for the HTML report, through pytest's reports)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asst_deploy.conversation.transcript import TurnResult
from asst_deploy.replay.outcome import Outcome, TurnVerdict
from asst_deploy.types import Json


def _result(result: TurnResult) -> dict[str, Json]:
    return {
        "user": result.user,
        "reply": result.reply,
        "status": result.status,
        "error": result.error,
        "model": result.model,
        "usage": dict(result.usage),
        "latency": round(result.latency, 3),
        "spend": dict(result.spend),
        "tool_calls": [
            {
                "type": c.type,
                "name": c.name,
                "arguments": c.arguments if c.arguments is not None else c.raw_arguments,
                "output": c.output,
                "input": c.input,
                "logs": c.logs,
            }
            for c in result.tool_calls
        ],
        "citations": [{"path": c.path, "quote": c.quote} for c in result.citations],
    }


def turn(verdict: TurnVerdict) -> dict[str, Json]:
    found: dict[str, Json] = {
        "index": verdict.index,
        "verdict": verdict.verdict,
        "error": verdict.error,
        "inconclusive": verdict.inconclusive,
        "cost": verdict.cost,
        "grading_cost": verdict.grading_cost,
        "checks": [
            {
                "kind": c.kind,
                "verdict": c.verdict,
                "message": c.message,
                "detail": c.detail,
                "where": str(c.location),
            }
            for c in verdict.checks
        ],
    }
    if verdict.result is not None:
        found.update(_result(verdict.result))
    return found


def conversation(
    *,
    script: str,
    name: str,
    env: str | None,
    api: str,
    mode: str,
    outcome: Outcome,
    verdicts: Sequence[TurnVerdict],
    message: str = "",
) -> dict[str, Any]:
    """The whole record of one conversation (its last run's turns)."""
    return {
        "script": script,
        "conversation": name,
        "env": env,
        "api": api,
        "mode": mode,
        "verdict": outcome.verdict,
        "runs": outcome.runs,
        "passes": outcome.passes,
        "cost": outcome.cost,
        "latency": round(sum(outcome.latencies), 3),
        "message": message,
        "turns": [turn(v) for v in verdicts],
    }
