"""Validate a project in one or every environment, collecting all problems at once."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from asst_deploy import generations, models, speccache
from asst_deploy.desired import Project
from asst_deploy.errors import Location, Problem, SpecError
from asst_deploy.spec import sharing
from asst_deploy.spec.loader import PROJECT_FILE, find_root, load_project, project_info
from asst_deploy.yamlpos import shared_reads


@dataclass
class Report:
    root: Path
    environments: list[str | None]
    projects: list[Project] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    name: str | None = None  # the project's, when its file names one (valid or not)

    @property
    def valid(self) -> bool:
        return not self.problems


def validate(path: str | Path, env: str | None = None) -> Report:
    """Check `env`, or (when None) the base and every declared environment; a problem
    shared by several environments is reported once."""
    root = find_root(path)
    name, declared = project_info(root)
    envs: list[str | None] = [env] if env is not None else [None, *declared]
    report = Report(root, envs, name=name)
    seen: set[Problem] = set()
    shutting: dict[Problem, None] = {}  # each once, in order (hashed: thousands are common)
    # the environments overlay the same files: parse them once, and the cache once
    with shared_reads(), speccache.session(root):
        for environment in envs:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", models.ModelShutdownWarning)
                try:
                    report.projects.append(load_project(root, environment))
                except SpecError as exc:
                    for problem in exc.problems:
                        if problem not in seen:
                            seen.add(problem)
                            report.problems.append(problem)
            for found in caught:
                said = getattr(found.message, "problem", None)
                if isinstance(said, Problem):
                    shutting.setdefault(said)
                elif said is None:  # anything else warned of goes on as it came
                    warnings.warn_explicit(
                        found.message, found.category, found.filename, found.lineno
                    )
    if env is None:  # only the whole set of environments shows who shares a target
        report.problems.extend(sharing.shared_targets(report.projects, root / PROJECT_FILE))
    report.problems.sort(key=lambda p: (p.location, p.message))
    report.warnings = sorted(
        [*unlisted(report.projects), *shutting], key=lambda p: (p.location, p.message)
    )
    return report


def unlisted(projects: Iterable[Project]) -> list[Problem]:
    """Warnings for assistants whose model the target of a checked environment does not
    list for its API generation (a warning, not an error: a compatible endpoint may serve
    names nobody listed). One warning per spec and model, naming where it is not served."""
    where: dict[tuple[Location, str, str], dict[str, list[str]]] = {}
    for project in projects:
        target = project.target
        for spec in project.assistants:
            if spec.model not in generations.served_models(target.models, target.api):
                seen = where.setdefault((spec.location, spec.key, spec.model), {})
                seen.setdefault(target.api, []).append(project.environment or "base")
    warnings = [
        Problem(
            location,
            f"assistant '{key}': the model '{model}' is not listed for "
            + ", ".join(f"the {api} API ({', '.join(envs)})" for api, envs in seen.items())
            + f'; the sandbox answers "{models.not_found_message(model)}"',
            "check the name, or list it in the target's `models:`",
        )
        for (location, key, model), seen in where.items()
    ]
    return sorted(warnings, key=lambda p: (p.location, p.message))
