"""Render a plan for people (terminal, Markdown for PR comments) and machines (JSON)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from functools import singledispatch

from asst_deploy import kinds, schedule, secretref
from asst_deploy.plan import Action, Create, Delete, FieldChange, NextRun, Plan, Replace, Update
from asst_deploy.types import Json

Style = Callable[[str, str], str]  # (text, colour name) -> styled text

_COLOURS = {"+": "green", "~": "yellow", "-": "red", "-/+": "magenta"}
_INLINE_MAX = 72
LOOKALIKES = (
    "Not managed: tagged as this project's but without its proof of authorship "
    "(made or edited by someone else; never changed or deleted)"
)


def plain(text: str, colour: str) -> str:
    return text


def _value(value: Json) -> str:
    return json.dumps(secretref.shown(value), ensure_ascii=False, sort_keys=True)


def _is_long(value: Json) -> bool:
    if isinstance(value, str):
        return "\n" in value or len(value) > _INLINE_MAX
    return isinstance(value, dict | list) and len(_value(value)) > _INLINE_MAX


def _lines(value: Json) -> list[str]:
    value = secretref.shown(value)
    if value is None:
        return []
    if isinstance(value, str):
        return value.splitlines()
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).splitlines()


def field_lines(change: FieldChange, style: Style, indent: str = "      ") -> list[str]:
    """One changed field: `before -> after` inline, or a unified line diff for long values."""
    if secretref.shown(change.before) == secretref.shown(change.after):
        # nothing a person can read changed: only a secret's value (its digest)
        names = ", ".join(f"${n}" for n in secretref.rotated_names(change.before, change.after))
        return [f"{indent}{change.field}: secret changed (from {names})"]
    if not (_is_long(change.before) or _is_long(change.after)):
        return [f"{indent}{change.field}: {_value(change.before)} -> {_value(change.after)}"]
    diff = difflib.unified_diff(
        _lines(change.before), _lines(change.after), "before", "after", lineterm="", n=2
    )
    lines = [f"{indent}{change.field}:"]
    for line in diff:
        colour = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
        lines.append(
            f"{indent}  "
            + (style(line, colour) if colour and line[:3] not in ("+++", "---") else line)
        )
    return lines


def _title(action: Action, style: Style) -> str:
    symbol = style(action.symbol.rjust(3), _COLOURS[action.symbol])
    where = f" ({action.remote_id})" if action.remote_id else ""
    return f"{symbol} {action.kind} {action.key}{where}"


@singledispatch
def action_lines(action: Action, style: Style) -> list[str]:
    raise TypeError(f"no renderer for {type(action).__name__}")


@action_lines.register
def _(action: Create, style: Style) -> list[str]:
    after = action.after or {}
    summary = kinds.get(action.kind).summary(after)
    if summary is not None:
        return [f"{_title(action, style)}  {summary}"]
    lines = [_title(action, style)]
    for name in sorted(after):
        value = after[name]
        if value in (None, [], {}):
            continue
        if _is_long(value):
            lines.append(f"      {name} =")
            lines += [f"          {line}" for line in _lines(value)]
        else:
            lines.append(f"      {name} = {_value(value)}")
    return lines


@action_lines.register
def _(action: Update, style: Style) -> list[str]:
    note = ""
    if action.refresh:
        note = style(
            "  (refresh-only: accept the live values into the hash stamp; no field changes)",
            "cyan",
        )
    elif action.drift:
        note = style("  (drift: edited outside asst-deploy since the last apply)", "yellow")
    elif action.adopt:
        note = style("  (adopt: add the ownership tags)", "cyan")
    lines = [_title(action, style) + note]
    for change in action.changes:
        lines += field_lines(change, style)
    return lines


@action_lines.register
def _(action: Replace, style: Style) -> list[str]:
    lines = [f"{_title(action, style)}  must be replaced: {action.reason}"]
    for change in action.changes:
        lines += field_lines(change, style)
    return lines


@action_lines.register
def _(action: Delete, style: Style) -> list[str]:
    return [_title(action, style)]


def summary(plan: Plan) -> str:
    add, change, destroy = plan.counts()
    return f"Plan: {add} to add, {change} to change, {destroy} to destroy."


def text(plan: Plan, style: Style = plain) -> str:
    env = f", environment {plan.environment}" if plan.environment else ""
    header = f"Project {plan.project}{env}, target {plan.target}."
    lines = [header, ""]
    if plan.empty:
        lines.append("No changes. The remote side matches the specs.")
    else:
        lines.append("asst-deploy will perform the following actions:")
        lines.append("")
        for action in plan.actions:
            lines += action_lines(action, style)
            lines.append("")
    if plan.kept:
        lines.append("Kept (managed, no longer in the specs; --prune deletes them):")
        lines += [
            f"    {k.kind} {k.key} ({k.remote_id})" + (f": {k.reason}" if k.reason else "")
            for k in plan.kept
        ]
        lines.append("")
    if plan.lookalikes:
        lines.append(LOOKALIKES + ":")
        lines += [f"    {x.kind} {x.key} ({x.remote_id})" for x in plan.lookalikes]
        lines.append("")
    if plan.refused:
        lines.append(style("Refused (protected):", "red"))
        lines += [f"    {r}" for r in plan.refused]
        lines.append("")
    if not plan.empty:
        lines.append(summary(plan))
    return "\n".join(lines).rstrip() + "\n"


# GitHub colours a line of a ```diff block by its first character only: + green, - red,
# ! orange (~ it does not know). The Markdown "style" tags what the terminal colours;
# _diff_line then moves that marker to column 0 and keeps the text where it was.
_DIFF_MARK = {"~": "!"}
_TAG = "\x00"


def _diff_style(text: str, colour: str) -> str:
    return _TAG + text if colour in ("green", "red", "yellow", "magenta") else text


def _diff_line(line: str) -> str:
    indent, tagged, rest = line.partition(_TAG)
    rest = rest.replace(_TAG, "")
    if not tagged or indent.strip():  # untagged, or a note after the title
        return line.replace(_TAG, "")
    text = rest.lstrip()
    symbol = "-/+" if text.startswith("-/+") else text[:1]
    pad = " " * (len(indent) + len(rest) - len(text))
    return _DIFF_MARK.get(symbol, symbol) + pad + text[len(symbol) :]


# ---- next runs: computed once by `plan` (generations.next_runs), shown in each format --


def _when(run: NextRun) -> str:
    """When the run is, after "<kind> <key>: " (the text plan's note, the Markdown list)."""
    if run.at is None:  # validate refuses such an expression
        return f"'{run.expression}' never runs"
    zone = schedule.zone(run.timezone)
    local = schedule.describe(run.at, zone)
    if run.type == "once":
        when = f"{local} ({schedule.iso(run.at)})"
        return f"paused; its one run, once resumed: {when}" if run.paused else f"runs once, {when}"
    when = f"{local} ({run.timezone}; {schedule.iso(run.at)})"
    return (
        f"paused; its next run once resumed would be {when}" if run.paused else f"next run {when}"
    )


def next_run_lines(runs: Sequence[NextRun]) -> list[str]:
    """The text plan's notes (stderr), one a run: "automation nightly: next run ..."."""
    return [f"{run.kind} {run.key}: {_when(run)}" for run in runs]


def next_run_json(run: NextRun) -> dict[str, Json]:
    """A run in `plan --json` (planfile.NEXT_RUN_SCHEMA is its schema)."""
    return {
        "kind": run.kind,
        "key": run.key,
        "type": run.type,
        "expression": run.expression,
        "timezone": run.timezone,
        "paused": run.paused,
        "next_run": None if run.at is None else schedule.iso(run.at),
        "local": None if run.at is None else schedule.describe(run.at, schedule.zone(run.timezone)),
    }


def _next_runs_markdown(runs: Sequence[NextRun]) -> list[str]:
    if not runs:
        return []
    return ["", "**Next runs:**", *[f"- {r.kind} `{r.key}`: {_when(r)}" for r in runs]]


def markdown(plan: Plan, runs: Sequence[NextRun] = ()) -> str:
    """A summary for a pull-request comment; `runs`: the next runs of what the specs
    schedule (generations.next_runs)."""
    env = f" `{plan.environment}`" if plan.environment else ""
    lines = [f"### asst-deploy plan: `{plan.project}`{env} on `{plan.target}`", ""]
    if plan.empty:
        lines.append("No changes. The remote side matches the specs.")
    else:
        lines.append(f"**{summary(plan)}**")
        lines += ["", "| | kind | key | changes |", "|---|---|---|---|"]
        for a in plan.actions:
            fields = ", ".join(f"`{c.field}`" for c in getattr(a, "changes", ())) or ""
            if isinstance(a, Update) and a.refresh:
                fields += "(refresh-only)"
            elif isinstance(a, Update) and a.drift:
                fields += " (drift)"
            if isinstance(a, Update) and a.adopt:
                fields += " (adopt)"
            lines.append(f"| `{a.symbol}` {a.verb} | {a.kind} | `{a.key}` | {fields} |")
        details = [_diff_line(x) for a in plan.actions for x in action_lines(a, _diff_style)]
        lines += [
            "",
            "<details><summary>Details</summary>",
            "",
            "```diff",
            *details,
            "```",
            "</details>",
        ]
    if plan.kept:
        lines += [
            "",
            "Kept (no longer in the specs; `--prune` deletes them): "
            + ", ".join(f"{k.kind} `{k.key}`" for k in plan.kept),
        ]
    if plan.lookalikes:
        lines += [
            "",
            LOOKALIKES
            + ": "
            + ", ".join(f"{x.kind} `{x.key}` ({x.remote_id})" for x in plan.lookalikes),
        ]
    if plan.refused:
        lines += ["", "**Refused (protected):**", *[f"- {r}" for r in plan.refused]]
    lines += _next_runs_markdown(runs)
    return "\n".join(lines) + "\n"


def to_json(plan: Plan, runs: Sequence[NextRun] = ()) -> str:
    """The plan as `plan --json` prints it: the saved plan's document, with `next_runs`."""
    data = {**plan.to_json(), "next_runs": [next_run_json(r) for r in runs]}
    return json.dumps(data, indent=2, ensure_ascii=False)
