"""Models that shut down: a warning when a spec (or the grader) uses one that shuts down
within WARN_DAYS days, naming the date and the replacement; an error from the date on.
The built-in table (models.SHUTDOWNS) holds OpenAI's announcements; a target's own
GET /models completes it where it reports a `shutdown_date`."""

from __future__ import annotations

import dataclasses
import datetime
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from asst_deploy import models
from asst_deploy.desired import OPENAI_BASE_URL, Project, Target
from asst_deploy.errors import Location, Problem
from asst_deploy.types import TargetType

WARN_DAYS = 60
# what "today" is (YYYY-MM-DD), for reproducible runs and tests; unset: the UTC date
TODAY_VARIABLE = "ASST_DEPLOY_TODAY"


def today() -> datetime.date:
    given = os.environ.get(TODAY_VARIABLE)
    if given:
        try:
            return datetime.date.fromisoformat(given)
        except ValueError:
            pass  # a malformed override is no reason to refuse a command: the real date
    return datetime.datetime.now(datetime.UTC).date()


def applies(target: Target) -> bool:
    """OpenAI's shutdowns hold on OpenAI and on the sandbox that stands for it; a compatible
    endpoint keeps its own schedule (its GET /models tells it)."""
    return target.type == TargetType.SANDBOX or (target.base_url or OPENAI_BASE_URL).rstrip(
        "/"
    ) == OPENAI_BASE_URL.rstrip("/")


@dataclass(frozen=True)
class Use:
    """A model a project uses, and who uses it where."""

    model: str
    who: str  # "assistant 'weather'", "the grader"
    location: Location


def uses(project: Project) -> list[Use]:
    found = [Use(a.model, f"assistant '{a.key}'", a.location) for a in project.assistants]
    grader = project.grader
    if grader.location is not None:
        found.append(Use(grader.model, "the grader (replay.grader.model)", grader.location))
    return found


def check(
    used: Iterable[Use],
    on: datetime.date,
    reported: Mapping[str, str] | None = None,
    where: str = "",
) -> tuple[list[Problem], list[Problem]]:
    """(warnings, errors) for the models in `used` on the date `on`; `reported`: model ->
    shutdown date (ISO) a target's GET /models gave, which wins over the built-in table.
    Each use past its date is an error; the warnings are one per model, at its first use,
    saying how many more use it (as Terraform folds similar warnings)."""
    warned: list[Problem] = []
    refused: list[Problem] = []
    warned_uses: dict[str, list[Use]] = {}  # model -> its uses, each warned alike
    for use in used:
        known = models.shutdown(use.model)
        date_text = (reported or {}).get(use.model) or (known.date if known else None)
        if not date_text:
            continue
        try:
            date = datetime.date.fromisoformat(date_text[:10])
        except ValueError:
            continue
        replacement = known.replacement if known else None
        move = (
            f"move to {replacement}, its recommended replacement"
            if replacement
            else "move to a model that stays"
        )
        days = (date - on).days
        said = f" (as {where} reports it)" if reported and use.model in reported else ""
        if days <= 0:
            refused.append(
                Problem(
                    use.location,
                    f"{use.who} uses model '{use.model}', which was shut down on {date}{said}",
                    move,
                )
            )
        elif days <= WARN_DAYS:
            alike = warned_uses.setdefault(use.model, [])
            alike.append(use)
            if len(alike) == 1:
                warned.append(
                    Problem(
                        use.location,
                        f"{use.who} uses model '{use.model}', which shuts down on {date}{said}, "
                        f"in {days} day{'s' if days != 1 else ''}",
                        move,
                    )
                )
    folded = [
        _folded(problem, len(alike) - 1)
        for problem, alike in zip(warned, warned_uses.values(), strict=True)
    ]
    return folded, refused


def _folded(problem: Problem, more: int) -> Problem:
    if not more:
        return problem
    uses = f"{more} more use{'s' if more != 1 else ''}"
    return dataclasses.replace(problem, message=f"{problem.message} (and {uses} of it elsewhere)")


def warn(problems: Iterable[Problem]) -> None:
    """Each warning as a ModelShutdownWarning: the CLI shows it, validate collects it."""
    for problem in problems:
        warning = models.ModelShutdownWarning(str(problem))
        warning.problem = problem  # type: ignore[attr-defined]
        warnings.warn(warning, stacklevel=2)


def check_reported(
    project: Project, reported: Mapping[str, str], on: datetime.date, where: str
) -> tuple[list[Problem], list[Problem]]:
    """What a target's GET /models adds to the built-in table for the project's models: the
    dates it reports that the table does not hold (or holds otherwise)."""
    news = {
        model: date
        for model, date in reported.items()
        if date and date[:10] != models.shutdown_date(model)
    }
    used = [u for u in uses(project) if u.model in news]
    return check(used, on, news, where) if used else ([], [])
