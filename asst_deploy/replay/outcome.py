"""What running a conversation gives: its outcome over runs, each turn's verdict, and why
a conversation could not run at all."""

from __future__ import annotations

from dataclasses import dataclass, field

from asst_deploy.conversation.transcript import TurnResult
from asst_deploy.errors import AsstDeployError
from asst_deploy.replay.expect import Failure


@dataclass
class Outcome:
    runs: int = 0
    passes: int = 0
    required: float = 1.0
    failures: list[str] = field(default_factory=list)
    # expectations that cannot be checked on the target's API generation: never a pass
    not_applicable: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.passes / self.runs if self.runs else 0.0

    @property
    def passed(self) -> bool:
        return self.runs > 0 and self.rate >= self.required

    def summary(self) -> str:
        return f"passed {self.passes} of {self.runs} runs ({self.rate:.0%}; required {self.required:.0%})"


@dataclass
class TurnVerdict:
    """One turn of a run: what happened (None when a call failed first) and its verdict."""

    index: int
    result: TurnResult | None
    failures: list[Failure]
    not_applicable: list[Failure]
    error: str | None = None

    @property
    def verdict(self) -> str:
        if self.error or self.failures:
            return "fail"
        return "n/a" if self.not_applicable else "pass"


class ConversationError(AsstDeployError):
    """The conversation could not be run at all (no project, no cassette, not deployed)."""


class Excluded(ConversationError):
    """The environment's `exclude:` leaves the script's assistant out: nothing to run, by
    choice, so the conversation is skipped there (with this reason), neither passed nor failed."""
