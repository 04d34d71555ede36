"""What running a conversation gives: its outcome over runs, each turn's verdict, and why
a conversation could not run at all."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from asst_deploy.conversation.transcript import TurnResult
from asst_deploy.errors import AsstDeployError
from asst_deploy.replay import costs
from asst_deploy.replay.expect import Check, Failure
from asst_deploy.replay.parity import EXCLUDED

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass
class Outcome:
    runs: int = 0
    passes: int = 0
    required: float = 1.0
    failures: list[str] = field(default_factory=list)
    # expectations that cannot be checked on the target's API generation: never a pass
    not_applicable: list[str] = field(default_factory=list)
    # why runs stopped short of a verdict (a budget spent): never a pass, never a failure
    inconclusive: list[str] = field(default_factory=list)
    # per run: what it cost (None: a model has no price) and how long its turns took
    costs: list[float | None] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.passes / self.runs if self.runs else 0.0

    @property
    def passed(self) -> bool:
        return self.runs > 0 and self.rate >= self.required and not self.inconclusive

    @property
    def verdict(self) -> str:
        """pass; inconclusive when the runs that stopped short (a budget) could still make
        the required pass rate; else fail."""
        if self.passed:
            return PASS
        stopped = len(self.inconclusive)
        if stopped and self.runs and (self.passes + stopped) / self.runs >= self.required:
            return INCONCLUSIVE
        return FAIL

    @property
    def cost(self) -> float | None:
        """What every run together cost (None: a model has no price)."""
        return costs.total(self.costs)

    def summary(self) -> str:
        return f"passed {self.passes} of {self.runs} runs ({self.rate:.0%}; required {self.required:.0%})"

    def spread(self) -> str:
        """Cost and latency over the runs: min, median, max."""
        parts = []
        known = [c for c in self.costs if c is not None]
        if known:
            parts.append(
                f"cost {costs.usd(min(known))} / {costs.usd(statistics.median(known))} / "
                f"{costs.usd(max(known))}"
            )
        if self.latencies:
            parts.append(
                f"latency {min(self.latencies):.2f} / {statistics.median(self.latencies):.2f} / "
                f"{max(self.latencies):.2f} s"
            )
        return ("min / median / max: " + ", ".join(parts)) if parts else ""


@dataclass
class TurnVerdict:
    """One turn of a run: what happened (None when a call failed first) and its verdict."""

    index: int
    result: TurnResult | None
    failures: list[Failure]
    not_applicable: list[Failure]
    error: str | None = None
    # every expectation's verdict (with a grader's reason); why the turn has no verdict
    checks: list[Check] = field(default_factory=list)
    inconclusive: str | None = None
    cost: float | None = 0.0  # the turn's own (None: its model has no price)
    grading_cost: float | None = 0.0  # what grading its expectations cost

    @property
    def verdict(self) -> str:
        if self.error or self.failures:
            return "fail"
        if self.inconclusive:
            return INCONCLUSIVE
        return "n/a" if self.not_applicable else "pass"


class ConversationError(AsstDeployError):
    """The conversation could not be run at all (no project, no cassette, not deployed)."""


class Excluded(ConversationError):
    """Nothing to run on this environment, by the project's choice: its `exclude:` leaves
    the script's assistant out, or its target has no place for the session the script
    gives. The conversation is skipped there (with this reason), neither passed nor failed;
    `why` says it in a few words, for summaries that count skips."""

    def __init__(self, message: str, why: str = EXCLUDED) -> None:
        super().__init__(message)
        self.why = why
