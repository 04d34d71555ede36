"""The project's error types: one base class, structured fields, shown at the CLI boundary."""

from __future__ import annotations

from dataclasses import dataclass


class AsstDeployError(Exception):
    """An expected failure: the CLI prints its message and exits 1, without a traceback."""

    def render(self) -> str:
        return f"Error: {self}"


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


class SpecError(AsstDeployError):
    """The specs are invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.location, p.message))
        super().__init__(f"{len(self.problems)} problem(s) in the specs")

    def render(self) -> str:
        lines = [str(p) for p in self.problems]
        count = len(self.problems)
        lines.append(f"{count} error{'s' if count != 1 else ''} found.")
        return "\n".join(lines)
