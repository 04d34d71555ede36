"""Turn the JUnit XML of `asst-deploy test --junitxml` into a job-summary table.

One row per conversation, the state of each of its turns beside it: turns run in order
and a conversation stops at its first failing turn, so the turns before it passed and
those after it did not run. Usage: python junit_summary.py JUNIT_XML [TITLE] (stdlib only).
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# the harness names the turn in every expectation failure and replay mismatch
_FAILED_TURN = re.compile(r"conversation '[^']*', turn (\d+)")
PASSED, FAILED, NOT_RUN = "✅", "❌", "⏭️"


@dataclass(frozen=True)
class Case:
    script: str
    conversation: str
    outcome: str  # passed, failed, error, skipped
    message: str
    turns: int | None  # from the asst_turns property; None when it was not recorded
    failed_turn: int | None

    def turn_marks(self) -> str:
        if self.turns is None:
            return ""
        marks = []
        for turn in range(1, self.turns + 1):
            if self.outcome == "passed":
                mark = PASSED
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
        turn = _FAILED_TURN.search(text)
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
            )
        )
    return cases


def _cell(text: str, limit: int = 200) -> str:
    """One line of `text` that cannot break the table (pipes escaped, no newlines)."""
    line = " ".join(text.split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return line.replace("|", "\\|").replace("`", "'")


def table(cases: list[Case], title: str = "asst-deploy conversation tests") -> str:
    counts = {
        o: sum(c.outcome == o for c in cases) for o in ("passed", "failed", "error", "skipped")
    }
    totals = ", ".join(f"{n} {o}" for o, n in counts.items() if n) or "no conversations ran"
    lines = [f"### {title}", "", f"**{totals}**", ""]
    if cases:
        lines += ["| | script | conversation | turns | details |", "|---|---|---|---|---|"]
        icon = {"passed": PASSED, "failed": FAILED, "error": FAILED, "skipped": NOT_RUN}
        for case in cases:
            lines.append(
                f"| {icon[case.outcome]} {case.outcome} | `{_cell(case.script)}` "
                f"| `{_cell(case.conversation)}` | {case.turn_marks()} | {_cell(case.message)} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    junit = Path(sys.argv[1])
    title = sys.argv[2] if len(sys.argv) > 2 else "asst-deploy conversation tests"
    if not junit.is_file():
        sys.stdout.write(f"### {title}\n\nNo JUnit report was written ({junit}).\n")
    else:
        sys.stdout.write(table(read(junit), title))
