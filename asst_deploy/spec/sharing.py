"""Environments that deploy to one place: refused, since identity is the project and key only."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from asst_deploy.errors import Location, Problem
from asst_deploy.spec.model import OPENAI_BASE_URL, Project, Target
from asst_deploy.spec.yamlpos import parse_file
from asst_deploy.types import TargetType


def deployment(target: Target) -> tuple[object, ...]:
    """Where a target's objects live: the sandbox's state file, or the endpoint and account."""
    if target.type == TargetType.SANDBOX:
        return ("sandbox", target.db.resolve() if target.db else None)
    url = (target.base_url or OPENAI_BASE_URL).rstrip("/")
    return (target.type, url, target.organization, target.project)


def shared_targets(projects: Iterable[Project], project_file: Path) -> list[Problem]:
    """An error for every declared environment that deploys where an earlier one does.

    Managed objects are found by project name and spec key, so two environments on one
    deployment would take each other's objects over (applying dev renames prod's). The
    base (no --env) is not counted: an environment is the base with changes, and a
    project's environments are what run side by side."""
    first: dict[tuple[object, ...], Project] = {}
    problems: list[Problem] = []
    docs = parse_file(project_file, str(project_file), [])
    data = docs[0] if docs else None
    for project in sorted(
        (p for p in projects if p.environment is not None), key=lambda p: str(p.environment)
    ):
        place = deployment(project.target)
        earlier = first.setdefault(place, project)
        if earlier is project:
            continue
        where = (
            data.where(("environments", str(project.environment)), key=True)
            if data is not None
            else Location(str(project_file))
        )
        db = project.target.db
        shown = f" ({os.path.relpath(db, project_file.parent)})" if db else ""
        problems.append(
            Problem(
                where,
                f"environments '{earlier.environment}' and '{project.environment}' both deploy "
                f"to target '{project.target.name}'{shown}: their objects have the same project "
                "and keys, so applying one would change the other's",
                "give each environment its own target: for the sandbox, a target with its "
                "own `db:` as the example project does; else another endpoint or account",
            )
        )
    return problems
