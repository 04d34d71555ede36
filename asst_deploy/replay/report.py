"""The HTML report of a test run (`asst-deploy test --html`): one self-contained file, no
network asset. A table of conversations (verdict, cost, latency), then each conversation's
transcript: user turns, tool calls with arguments and outputs, replies, citations, and each
expectation's verdict with the grader's reason. A parity run is shown side by side."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from asst_deploy import __version__
from asst_deploy.replay import costs, parity

_CSS = """
:root { --pass: #1a7f37; --fail: #cf222e; --inc: #9a6700; --na: #57606a; --line: #d0d7de;
  --soft: #f6f8fa; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
body { margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
.meta { color: var(--na); margin-top: 0; }
.totals span { display: inline-block; margin-right: 1rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .35rem .55rem; text-align: left; vertical-align: top; }
th { background: var(--soft); }
td { overflow-wrap: anywhere; }
table.parity { table-layout: fixed; }
table.parity col.name { width: 15%; } table.parity col.turn { width: 4.5rem; }
table.parity col.side { width: 33%; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; color: #fff;
  font-size: .85rem; font-weight: 600; white-space: nowrap; }
.pass { background: var(--pass); } .fail { background: var(--fail); }
.inconclusive { background: var(--inc); } .na, .skipped, .notrun { background: var(--na); }
details.conversation { border: 1px solid var(--line); border-radius: .5rem; margin: .8rem 0;
  padding: .4rem .8rem; }
details.conversation > summary { cursor: pointer; font-weight: 600; }
.why { background: #fff8f8; border-left: 4px solid var(--fail); padding: .5rem .8rem;
  white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .85rem; }
.why.inconclusive { background: #fff8e6; border-color: var(--inc); }
.turn { border-top: 1px dashed var(--line); padding: .6rem 0; }
.said { margin: .3rem 0; }
.said b { display: inline-block; min-width: 5.5rem; color: var(--na); }
.text { white-space: pre-wrap; }
.tool { font-family: ui-monospace, monospace; font-size: .85rem; background: var(--soft);
  padding: .3rem .5rem; border-radius: .3rem; margin: .2rem 0; white-space: pre-wrap; }
.checks td:first-child { white-space: nowrap; }
.reason { color: #1f2328; }
.failed-row { background: #fff8f8; } .lost-row { background: #fff8f8; }
.inconclusive-row { background: #fff8e6; }
.why.note { background: var(--soft); border-color: var(--na); }
.diff { background: #fff8e6; font-weight: 600; }
.small { color: var(--na); font-size: .85rem; }
"""

_LABELS = {"pass": "pass", "fail": "fail", "inconclusive": "inconclusive", "n/a": "n/a"}


def _badge(verdict: str) -> str:
    kind = {"n/a": "na", "not run": "notrun"}.get(verdict, verdict)
    return f'<span class="badge {escape(kind)}">{escape(_LABELS.get(verdict, verdict))}</span>'


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            *body,
            f'<p class="small">Written by asst-deploy {escape(__version__)}.</p>',
            "</body></html>",
            "",
        ]
    )


def _json(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True)


def _anchor(detail: Mapping[str, Any], index: int) -> str:
    return f"c{index}"


def html(
    details: Sequence[Mapping[str, Any]], title: str = "asst-deploy conversation tests"
) -> str:
    """The report of a run's conversations (the plugin's details, in the order they ran)."""
    counts: dict[str, int] = {}
    for detail in details:
        counts[detail["verdict"]] = counts.get(detail["verdict"], 0) + 1
    spent = costs.total([d.get("cost") for d in details])
    body = [
        f"<h1>{escape(title)}</h1>",
        '<p class="totals">'
        + "".join(
            f"<span>{_badge(v)} {n}</span>"
            for v, n in sorted(counts.items(), key=lambda kv: _ORDER.get(kv[0], 9))
        )
        + f"<span>cost {escape(costs.usd(spent))}</span></p>",
    ]
    if counts.get("inconclusive"):
        body.append(
            '<p class="why inconclusive">Inconclusive conversations were stopped by a budget '
            "before their verdict: they are not passes.</p>"
        )
    body += [
        '<table class="verdicts"><thead><tr><th>conversation</th><th>environment</th>'
        "<th>verdict</th><th>cost</th><th>latency</th><th>turns</th></tr></thead><tbody>"
    ]
    for i, detail in enumerate(details):
        where = detail.get("api") or ""
        if detail.get("env"):
            where += f" ({detail['env']})"
        row = {"fail": "failed-row", "inconclusive": "inconclusive-row"}.get(detail["verdict"], "")
        ran = bool(detail.get("runs"))
        latency = f"{detail.get('latency', 0):.2f} s" if ran else "-"
        body.append(
            f'<tr class="{row}"><td><a href="#{_anchor(detail, i)}">'
            f"{escape(detail['script'])}::{escape(detail['conversation'])}</a></td>"
            f"<td>{escape(where)}</td><td>{_badge(detail['verdict'])}</td>"
            f'<td class="num">{escape(costs.usd(detail.get("cost"))) if ran else "-"}</td>'
            f'<td class="num">{latency}</td>'
            f'<td class="num">{len(detail.get("turns") or ())}</td></tr>'
        )
    body.append("</tbody></table>")
    body.append("<h2>Transcripts</h2>")
    for i, detail in enumerate(details):
        body += _conversation(detail, _anchor(detail, i))
    return _page(title, body)


_ORDER = {"pass": 0, "fail": 1, "inconclusive": 2, "skipped": 3}


def _conversation(detail: Mapping[str, Any], anchor: str) -> list[str]:
    verdict = detail["verdict"]
    opened = " open" if verdict in ("fail", "inconclusive") else ""
    runs = detail.get("runs", 1)
    facts = [detail.get("api") or "", detail.get("mode") or ""]
    if runs > 1:
        facts.append(f"{detail.get('passes', 0)} of {runs} runs passed")
    if runs:
        facts.append(costs.usd(detail.get("cost")))
    head = (
        f"{_badge(verdict)} {escape(detail['script'])}::{escape(detail['conversation'])}"
        f' <span class="small">{escape(", ".join(f for f in facts if f))}</span>'
    )
    out = [f'<details class="conversation" id="{anchor}"{opened}><summary>{head}</summary>']
    if detail.get("message"):
        kind = {"inconclusive": " inconclusive", "skipped": " note"}.get(verdict, "")
        out.append(f'<div class="why{kind}">{escape(detail["message"])}</div>')
    for turn in detail.get("turns") or ():
        out += _turn(turn)
    out.append("</details>")
    return out


def _turn(turn: Mapping[str, Any]) -> list[str]:
    out = [
        f'<div class="turn"><div>{_badge(turn["verdict"])} <b>turn {turn["index"]}</b> '
        f'<span class="small">{escape(_facts(turn))}</span></div>'
    ]
    if "user" in turn:
        out.append(
            f'<div class="said"><b>user</b> <span class="text">{escape(turn["user"])}</span></div>'
        )
    for call in turn.get("tool_calls") or ():
        out.append(f'<div class="tool">{escape(_call(call))}</div>')
    if "reply" in turn:
        out.append(
            f'<div class="said"><b>assistant</b> <span class="text">{escape(turn["reply"])}</span></div>'
        )
    for citation in turn.get("citations") or ():
        out.append(f'<div class="said"><b>citation</b> {escape(citation["path"])}</div>')
    if turn.get("error"):
        out.append(f'<div class="why">{escape(turn["error"])}</div>')
    if turn.get("inconclusive"):
        out.append(f'<div class="why inconclusive">{escape(turn["inconclusive"])}</div>')
    checks = turn.get("checks") or []
    if checks:
        out.append(
            '<table class="checks"><thead><tr><th>expectation</th><th>verdict</th>'
            "<th>why</th></tr></thead><tbody>"
        )
        for check in checks:
            # a failure's message holds the grader's reason; a pass shows what it scored
            why = check.get("message") or check.get("detail") or ""
            row = ' class="failed-row"' if check["verdict"] == "fail" else ""
            out.append(
                f"<tr{row}><td>{escape(check['kind'])}</td><td>{_badge(check['verdict'])}</td>"
                f'<td class="reason text">{escape(why)}</td></tr>'
            )
        out.append("</tbody></table>")
    out.append("</div>")
    return out


def _facts(turn: Mapping[str, Any]) -> str:
    facts = []
    if turn.get("status"):
        facts.append(str(turn["status"]))
    if turn.get("model"):
        facts.append(str(turn["model"]))
    usage = turn.get("usage") or {}
    if usage.get("total_tokens") is not None:
        facts.append(f"{usage['total_tokens']} tokens")
    if "latency" in turn:
        facts.append(f"{turn['latency']:.2f} s")
    facts.append(costs.usd(turn.get("cost")))
    if turn.get("grading_cost"):
        facts.append(f"grading {costs.usd(turn['grading_cost'])}")
    return " · ".join(facts)


def _call(call: Mapping[str, Any]) -> str:
    if call.get("type") == "function":
        text = f"{call['name']}({_json(call.get('arguments'))})"
        return text + (f"\n→ {call['output']}" if call.get("output") is not None else "")
    if call.get("type") == "code_interpreter":
        text = f"code_interpreter:\n{call.get('input') or ''}"
        return text + (f"\n→ {call['logs']}" if call.get("logs") else "")
    text = str(call.get("name") or call.get("type"))
    if call.get("arguments"):
        text += f" {_json(call['arguments'])}"
    return text + (f"\n→ {call['output']}" if call.get("output") else "")


# --- parity -------------------------------------------------------------------------------


def _side(record: parity.TurnRecord) -> str:
    parts = [_badge(record.verdict)]
    for call in record.tool_calls:
        parts.append(f'<div class="tool">{escape(call)}</div>')
    if record.reply:
        parts.append(f'<div class="text">{escape(record.reply)}</div>')
    facts = [record.status] if record.status else []
    if record.tokens is not None:
        facts.append(f"{record.tokens} tokens")
    if record.latency is not None and record.verdict not in (parity.NOT_RUN, parity.SKIPPED):
        facts.append(f"{record.latency:.2f} s")
    if facts:
        parts.append(f'<div class="small">{escape(" · ".join(facts))}</div>')
    kind = {parity.SKIPPED: " note", parity.NOT_APPLICABLE: " note"}.get(record.verdict, "")
    for note in record.notes:
        parts.append(f'<div class="why{kind}">{escape(note)}</div>')
    return "".join(parts)


def parity_html(rows: Sequence[parity.Row], env_a: str, env_b: str) -> str:
    """Two environments side by side, turn by turn, differences marked."""
    lost = sum(row.lost for row in rows)
    title = f"Parity: {env_a} vs {env_b}"
    summary = (
        f"{env_b} kept every verdict {env_a} had ({len(rows)} turns)."
        if not lost
        else f"{env_b} lost {lost} of the verdicts {env_a} had ({len(rows)} turns)."
    )
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="totals">{_badge("pass" if not lost else "fail")} {escape(summary)}</p>',
        '<table class="verdicts parity"><colgroup><col class="name"><col class="turn">'
        '<col class="side"><col class="side"><col></colgroup>'
        "<thead><tr><th>conversation</th><th>turn</th>"
        f"<th>{escape(env_a)}</th><th>{escape(env_b)}</th><th>what differs</th></tr></thead>"
        "<tbody>",
    ]
    for row in rows:
        cls = ' class="lost-row"' if row.lost else ""
        differs = "".join(f'<div class="diff">{escape(d)}</div>' for d in row.differences)
        if row.lost:
            differs = f'<div class="diff">{escape(env_b)} lost the verdict</div>' + differs
        body.append(
            f'<tr{cls}><td>{escape(row.conversation)}</td><td class="num">{row.turn}</td>'
            f"<td>{_side(row.a)}</td><td>{_side(row.b)}</td><td>{differs or '-'}</td></tr>"
        )
    body.append("</tbody></table>")
    return _page(title, body)
