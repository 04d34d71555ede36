"""Parity of two environments, turn by turn: verdicts side by side and what differs (pure)."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

from asst_deploy.types import Json

PASS, FAIL, NOT_APPLICABLE, NOT_RUN = "pass", "fail", "n/a", "not run"
# not run on the environment, by the project's choice (replay.outcome.Excluded): its
# `exclude:` leaves the assistant out (the usual reason, EXCLUDED), or its target has no
# place for the conversation's session: no verdict to keep
SKIPPED = "skipped"
EXCLUDED = "their assistant is excluded from an environment"
# B's latency is worth a mention only when it is this much slower or faster than A's, and
# by more than LATENCY_FLOOR seconds: scheduling noise is not a difference of behaviour
LATENCY_RATIO = 1.5
LATENCY_FLOOR = 0.05
_EXCERPT = 60


@dataclass(frozen=True)
class TurnRecord:
    """One turn as one environment ran it (built from a transcript, or by hand in tests)."""

    # pass | fail | n/a (an expectation the generation cannot check) | not run | skipped
    verdict: str
    reply: str = ""
    tool_calls: tuple[str, ...] = ()  # "name(arguments)" or the tool's type
    status: str = ""
    tokens: int | None = None
    latency: float | None = 0.0  # None: not measured (a replay times no target)
    notes: tuple[str, ...] = ()  # the failures, or what was not applicable, one a line
    # skipped: why, in a few words, for the summary's count of skips
    why: str = EXCLUDED


@dataclass(frozen=True)
class Row:
    conversation: str
    turn: int
    a: TurnRecord
    b: TurnRecord
    differences: tuple[str, ...] = field(default_factory=tuple)

    @property
    def lost(self) -> bool:
        """A passed this turn and B did not (failed, could not check it all, never got
        there); B's environment excluding the assistant is its declared choice, not a loss."""
        return self.a.verdict == PASS and self.b.verdict not in (PASS, SKIPPED)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 3] + "..."


def reply_diff(a: str, b: str) -> str | None:
    """The words B's reply changed, as `-removed +added` runs; None when equal."""
    if a == b:
        return None
    words_a, words_b = a.split(), b.split()
    if words_a == words_b:
        return "reply: whitespace only"
    parts = []
    matcher = difflib.SequenceMatcher(a=words_a, b=words_b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if i2 > i1:
            parts.append("-" + _excerpt(" ".join(words_a[i1:i2])))
        if j2 > j1:
            parts.append("+" + _excerpt(" ".join(words_b[j1:j2])))
    return "reply: " + " ".join(parts)


def differences(a: TurnRecord, b: TurnRecord) -> tuple[str, ...]:
    """What B did otherwise than A, one short phrase each, in a fixed order."""
    if {NOT_RUN, SKIPPED} & {a.verdict, b.verdict}:
        return ()
    found = []
    text = reply_diff(a.reply, b.reply)
    if text:
        found.append(text)
    if a.tool_calls != b.tool_calls:
        found.append(
            f"tool calls: {', '.join(a.tool_calls) or 'none'} -> {', '.join(b.tool_calls) or 'none'}"
        )
    if a.status != b.status:
        found.append(f"status: {a.status or '?'} -> {b.status or '?'}")
    if a.tokens != b.tokens and None not in (a.tokens, b.tokens):
        found.append(f"tokens: {a.tokens} -> {b.tokens}")
    if a.latency is not None and b.latency is not None:
        slow, fast = max(a.latency, b.latency), min(a.latency, b.latency)
        if slow - fast > LATENCY_FLOOR and slow > fast * LATENCY_RATIO:
            found.append(f"latency: {a.latency:.2f} s -> {b.latency:.2f} s")
    return tuple(found)


def compare(
    a: Mapping[tuple[str, int], TurnRecord], b: Mapping[tuple[str, int], TurnRecord]
) -> list[Row]:
    """One row per (conversation, turn) either side has, sorted; a side that never got to
    a turn shows it `not run`."""
    missing = TurnRecord(NOT_RUN)
    rows = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key, missing), b.get(key, missing)
        rows.append(Row(key[0], key[1], left, right, differences(left, right)))
    return rows


def kept(rows: Iterable[Row]) -> bool:
    """Whether B kept every verdict A had."""
    return not any(row.lost for row in rows)


def _verdict(record: TurnRecord) -> str:
    return record.verdict


def _cells(row: Row) -> list[str]:
    notes = list(row.differences)
    shown = {side: r.notes for side, r in (("A", row.a), ("B", row.b)) if r.verdict != PASS}
    if len(shown) == 2 and shown["A"] == shown["B"]:
        shown = {"A, B": shown["A"]}
    for side, side_notes in shown.items():
        notes += [f"{side}: {n}" for n in side_notes]
    return [
        row.conversation,
        str(row.turn),
        _verdict(row.a),
        _verdict(row.b) + (" (lost)" if row.lost else ""),
        "; ".join(notes) or "-",
    ]


def _summary(rows: Sequence[Row], env_a: str, env_b: str) -> str:
    lost = sum(row.lost for row in rows)
    skipped = Counter(
        next(r.why for r in (row.a, row.b) if r.verdict == SKIPPED)
        for row in rows
        if SKIPPED in (row.a.verdict, row.b.verdict)
    )
    turns = f"{len(rows)} turns" + "".join(f", {n} skipped: {why}" for why, n in skipped.items())
    if not lost:
        return f"{env_b} kept every verdict {env_a} had ({turns})."
    return f"{env_b} lost {lost} of the verdicts {env_a} had ({turns})."


HEADER = ("conversation", "turn", "verdict {a}", "verdict {b}", "what differs")


def render_table(rows: Sequence[Row], env_a: str, env_b: str) -> str:
    """A plain-text table for a terminal, then one line of summary."""
    header = [h.format(a=env_a, b=env_b) for h in HEADER]
    body = [_cells(row) for row in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]
    lines = []
    for cells in [header, *body]:
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(cells[:4], widths, strict=True)) + "  " + cells[4]
        )
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(header[4]))
    return "\n".join(lines) + "\n\n" + _summary(rows, env_a, env_b)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: Sequence[Row], env_a: str, env_b: str) -> str:
    """A Markdown table for a pull-request comment."""
    header = [h.format(a=f"`{env_a}`", b=f"`{env_b}`") for h in HEADER]
    lines = [
        f"### Parity: `{env_a}` vs `{env_b}`",
        "",
        "| " + " | ".join(header) + " |",
        "| --- | ---: | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(_md(c) for c in _cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n\n" + _summary(rows, f"`{env_a}`", f"`{env_b}`") + "\n"


def to_json(rows: Sequence[Row], env_a: str, env_b: str) -> dict[str, Json]:
    return {
        "a": env_a,
        "b": env_b,
        "kept": kept(rows),
        "lost": sum(row.lost for row in rows),
        "turns": [
            {
                "conversation": row.conversation,
                "turn": row.turn,
                "a": asdict(row.a),
                "b": asdict(row.b),
                "differences": list(row.differences),
                "lost": row.lost,
            }
            for row in rows
        ],
    }


def render_json(rows: Sequence[Row], env_a: str, env_b: str) -> str:
    return json.dumps(to_json(rows, env_a, env_b), indent=2, ensure_ascii=False)
