"""Environments that deploy to one place: refused, since identity is the project and key only."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from asst_deploy.desired import OPENAI_BASE_URL, Project, Target
from asst_deploy.errors import Location, Problem
from asst_deploy.reader import parse_file
from asst_deploy.types import TargetType


def deployment(target: Target) -> tuple[object, ...]:
    """Where a target's objects live: the sandbox's state file, or the endpoint and account."""
    if target.type == TargetType.SANDBOX:
        return ("sandbox", target.db.resolve() if target.db else None)
    url = (target.base_url or OPENAI_BASE_URL).rstrip("/")
    return (target.type, url, target.organization, target.project)


def _pairs(targets: Mapping[str, Target]) -> list[tuple[str, str, Target]]:
    """(earlier environment, later one, its target) for each environment that deploys where
    an earlier one (by name) does."""
    first: dict[tuple[object, ...], str] = {}
    pairs = []
    for environment in sorted(targets):
        earlier = first.setdefault(deployment(targets[environment]), environment)
        if earlier != environment:
            pairs.append((earlier, environment, targets[environment]))
    return pairs


def shared_targets(projects: Iterable[Project], project_file: Path) -> list[Problem]:
    """An error for every declared environment that deploys where an earlier one does.

    Managed objects are found by project name and spec key, so two environments on one
    deployment would take each other's objects over (applying dev renames prod's). The
    base (no --env) is not counted: an environment is the base with changes, and a
    project's environments are what run side by side."""
    targets = {str(p.environment): p.target for p in projects if p.environment is not None}
    return _problems(_pairs(targets), project_file)


def own_deployment(
    environment: str | None, targets: Mapping[str, Target], project_file: Path
) -> list[Problem]:
    """The problems of `shared_targets` that involve `environment` (the one about to be
    planned, applied or destroyed), from the declared environments' `targets`."""
    if environment is None:
        return []
    return _problems([pair for pair in _pairs(targets) if environment in pair[:2]], project_file)


def _problems(pairs: list[tuple[str, str, Target]], project_file: Path) -> list[Problem]:
    problems: list[Problem] = []
    docs = parse_file(project_file, str(project_file), [])
    data = docs[0] if docs else None
    for earlier, environment, target in pairs:
        where = (
            data.where(("environments", environment), key=True)
            if data is not None
            else Location(str(project_file))
        )
        db = target.db
        shown = f" ({os.path.relpath(db, project_file.parent)})" if db else ""
        problems.append(
            Problem(
                where,
                f"environments '{earlier}' and '{environment}' both deploy "
                f"to target '{target.name}'{shown}: their objects have the same project "
                "and keys, so applying one would change the other's",
                "give each environment its own target: for the sandbox, a target with its "
                "own `db:` as the example project does; else another endpoint or account",
            )
        )
    return problems
