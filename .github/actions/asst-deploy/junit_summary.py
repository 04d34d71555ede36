"""Turn the JUnit XML of `asst-deploy test --junitxml` into a job-summary table.

One row per conversation, the state of each of its turns beside it: turns run in order
and a conversation stops at its first failing turn, so the turns before it passed and
those after it did not run. A conversation a budget stopped is inconclusive (shown apart,
never as passed), and when the report has costs each row has its cost and the summary the
run's; a conversation's cost is split by turn (and grading) as the terminal's summary
splits it. Usage: python junit_summary.py JUNIT_XML [TITLE] (stdlib only).
"""

from __future__ import annotations

import math
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# the harness names the turn in every expectation failure and replay mismatch
_FAILED_TURN = re.compile(r"conversation '[^']*', turn (\d+)")
_STOPPED_TURN = re.compile(r"conversation '[^']*' stopped at turn (\d+)")
_TURN_COST = "asst_cost_usd_turn_"
PASSED, FAILED, NOT_RUN, INCONCLUSIVE = "✅", "❌", "⏭️", "⏸️"


@dataclass(frozen=True)
class Case:
    script: str
    conversation: str
    outcome: str  # passed, failed, error, skipped, inconclusive
    message: str
    turns: int | None  # from the asst_turns property; None when it was not recorded
    failed_turn: int | None
    cost: float | None = None  # USD, from the asst_cost_usd property
    # (turn, USD) from the asst_cost_usd_turn_N properties, and grading's apart
    turn_costs: tuple[tuple[int, float | None], ...] = ()
    grading_cost: float | None = None

    def cost_cell(self) -> str:
        """The conversation's cost, turn by turn and grading apart, as the terminal has it."""
        if self.cost is None:
            return ""
        parts = [f"turn {turn} {usd(amount)}" for turn, amount in self.turn_costs]
        if self.grading_cost is not None:
            parts.append(f"grading {usd(self.grading_cost)}")
        return usd(self.cost) + (f" ({', '.join(parts)})" if parts else "")

    def turn_marks(self) -> str:
        if self.turns is None:
            return ""
        marks = []
        for turn in range(1, self.turns + 1):
            if self.outcome == "passed":
                mark = PASSED
            elif self.outcome == "inconclusive" and turn == self.failed_turn:
                mark = INCONCLUSIVE
            elif self.failed_turn is None or turn > self.failed_turn:
                mark = NOT_RUN  # skipped, failed before its first turn, or after the failure
            else:
                mark = FAILED if turn == self.failed_turn else PASSED
            marks.append(f"{turn} {mark}")
        return " · ".join(marks)


def read(path: Path) -> list[Case]:
    root = ET.parse(path).getroot()
    cases = []
    for testcase in root.iter("testcase"):
        properties = {
            p.get("name"): p.get("value", "") for p in testcase.iter("property") if p.get("name")
        }
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = testcase.find(tag)
            if found is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = found.get("message") or (found.text or "")
                text = (found.text or "") + "\n" + message
                break
        else:
            text = ""
        if properties.get("asst_verdict") == "inconclusive":
            outcome = "inconclusive"  # a failure or a skip to pytest: neither here
            message = properties.get("asst_inconclusive") or message
            text = message
        turn = _FAILED_TURN.search(text) or _STOPPED_TURN.search(text)
        turns = properties.get("asst_turns", "")
        cases.append(
            Case(
                # pytest's classname is the path with dots for slashes: the plugin's own
                # property keeps the path as written
                script=properties.get("asst_script") or testcase.get("classname", ""),
                conversation=testcase.get("name", ""),
                outcome=outcome,
                message=message,
                turns=int(turns) if turns.isdigit() else None,
                failed_turn=int(turn.group(1)) if turn and outcome != "passed" else None,
                cost=_float(properties.get("asst_cost_usd")),
                turn_costs=tuple(
                    sorted(
                        (int(name.rsplit("_", 1)[1]), _float(value))
                        for name, value in properties.items()
                        if name.startswith(_TURN_COST) and name[len(_TURN_COST) :].isdigit()
                    )
                ),
                grading_cost=_float(properties.get("asst_grading_cost_usd")),
            )
        )
    return cases


def _cell(text: str, limit: int = 200) -> str:
    """One line of `text` that cannot break the table (pipes escaped, no newlines)."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return line.replace("|", "\\|").replace("`", "'")


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def usd(amount: float | None) -> str:
    """$1.50, $0.0123, $0.000128 (as asst-deploy prints them); $? when unknown."""
    if amount is None:
        return "$?"
    if amount == 0:
        return "$0"
    digits = max(2, 2 - math.floor(math.log10(abs(amount))))
    whole, _, decimals = f"{amount:.{digits}f}".partition(".")
    return f"${whole}.{decimals.rstrip('0').ljust(2, '0')}"


OUTCOMES = ("passed", "failed", "inconclusive", "error", "skipped")


def table(
    cases: list[Case], title: str = "asst-deploy conversation tests", run_cost: float | None = None
) -> str:
    counts = {o: sum(c.outcome == o for c in cases) for o in OUTCOMES}
    totals = ", ".join(f"{n} {o}" for o, n in counts.items() if n) or "no conversations ran"
    lines = [f"### {title}", "", f"**{totals}**", ""]
    costed = any(c.cost is not None for c in cases) or run_cost is not None
    if costed:
        spent = run_cost if run_cost is not None else sum(c.cost or 0 for c in cases)
        lines[-1:-1] = [f"Cost of the run: **{usd(spent)}** (priced from usage)", ""]
    if counts["inconclusive"]:
        lines[-1:-1] = [
            f"{INCONCLUSIVE} {counts['inconclusive']} inconclusive: stopped by a budget "
            "before their verdict (not passed)",
            "",
        ]
    if cases:
        head = "| | script | conversation | turns |" + (" cost |" if costed else "") + " details |"
        lines += [head, "|---" * head.count("|", 1) + "|"]
        icon = {
            "passed": PASSED,
            "failed": FAILED,
            "error": FAILED,
            "skipped": NOT_RUN,
            "inconclusive": INCONCLUSIVE,
        }
        for case in cases:
            cost = f" {case.cost_cell()} |" if costed else ""
            lines.append(
                f"| {icon[case.outcome]} {case.outcome} | `{_cell(case.script)}` "
                f"| `{_cell(case.conversation)}` | {case.turn_marks()} |{cost} "
                f"{_cell(case.message)} |"
            )
    return "\n".join(lines) + "\n"


def run_cost(path: Path) -> float | None:
    """The run's cost, from the suite's asst_run_cost_usd property (None: not reported)."""
    for prop in ET.parse(path).getroot().iter("property"):
        if prop.get("name") == "asst_run_cost_usd":
            return _float(prop.get("value"))
    return None


if __name__ == "__main__":
    junit = Path(sys.argv[1])
    title = sys.argv[2] if len(sys.argv) > 2 else "asst-deploy conversation tests"
    if not junit.is_file():
        sys.stdout.write(f"### {title}\n\nNo JUnit report was written ({junit}).\n")
    else:
        sys.stdout.write(table(read(junit), title, run_cost(junit)))
