"""The project's error types: one base class, structured fields, shown at the CLI boundary."""

from __future__ import annotations

import re
from dataclasses import dataclass


class AsstDeployError(Exception):
    """An expected failure: the CLI prints its message and exits 1, without a traceback."""

    def render(self) -> str:
        return f"Error: {self}"


class OptionConflict(AsstDeployError):
    """Options that cannot be given together (the CLI shows it as a usage error)."""


@dataclass(frozen=True, order=True)
class Location:
    """Where a value came from: a file and a 1-based line and column (0 when unknown)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, with where it is and how to fix it."""

    location: Location
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "message": self.message,
            "hint": self.hint,
        }


# problems shown per kind (see problem_kind): one bad `include:` pattern can match
# thousands of files that all fail alike, and a wall of the same line hides the others
SHOWN_PER_KIND = 20
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\d+")


def problem_kind(problem: Problem) -> str:
    """A problem's message with its quoted names and its numbers left out: "missing
    required key 'kind'" in ten thousand files is one kind, and so are "unknown key 'a'"
    and "unknown key 'b'", whatever their files and lines."""
    return _QUOTED.sub("_", problem.message)


def shown_problems(problems: list[Problem]) -> list[str]:
    """One line per problem, in order, but at most SHOWN_PER_KIND of a kind: each kind
    cut short ends with a line saying how many more there are and what they say."""
    counts: dict[str, int] = {}
    first: dict[str, Problem] = {}
    lines = []
    for problem in problems:
        kind = problem_kind(problem)
        counts[kind] = counts.get(kind, 0) + 1
        first.setdefault(kind, problem)
        if counts[kind] <= SHOWN_PER_KIND:
            lines.append(str(problem))
    for kind, count in counts.items():
        if count > SHOWN_PER_KIND:
            more = count - SHOWN_PER_KIND
            lines.append(f"... and {more} more like: {first[kind].message} (not shown)")
    return lines


class SpecError(AsstDeployError):
    """The specs are invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.location, p.message))
        # what `plan --json` gives as the error's message, next to the problems themselves
        self.summary = f"{len(self.problems)} problem(s) in the specs"
        # str() lists them too: a library caller (asst_deploy.runtime) sees what and where
        super().__init__("\n  ".join([f"{self.summary}:", *shown_problems(self.problems)]))

    def render(self) -> str:
        lines = shown_problems(self.problems)
        count = len(self.problems)
        lines.append(f"{count} error{'s' if count != 1 else ''} found.")
        return "\n".join(lines)
