"""`validate --matrix`: for every assistant, which environments' targets can hold it, and why not."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from asst_deploy import generations
from asst_deploy.errors import Problem, SpecError
from asst_deploy.generations import Refusal
from asst_deploy.spec.loader import find_root, load_unchecked, project_info
from asst_deploy.yamlpos import shared_reads

OK, REFUSED, EXCLUDED = "ok", "refused", "excluded"


@dataclass(frozen=True)
class Cell:
    """One assistant in one environment: held, refused (with why), or left out."""

    environment: str | None
    target: str
    api: str
    excluded: bool
    refusals: tuple[Refusal, ...]

    @property
    def status(self) -> str:
        if self.excluded:
            return EXCLUDED
        return REFUSED if self.refusals else OK


@dataclass
class Matrix:
    root: Path
    name: str | None
    environments: list[str | None]
    rows: dict[str, list[Cell]] = field(default_factory=dict)  # assistant key -> cells


def matrix(path: str | Path, env: str | None = None) -> Matrix:
    """The matrix of `env`, or of the base and every environment; SpecError when an
    environment has problems other than what its API cannot hold (validate shows them)."""
    root = find_root(path)
    name, declared = project_info(root)
    envs: list[str | None] = [env] if env is not None else [None, *declared]
    result = Matrix(root, name, envs)
    problems: list[Problem] = []
    with shared_reads():
        for environment in envs:
            try:
                project, excluded = load_unchecked(root, environment)
            except SpecError as exc:
                problems += [p for p in exc.problems if p not in problems]
                continue
            api = generations.API_GENERATIONS[project.target.api]
            for assistant in project.assistants:
                result.rows.setdefault(assistant.key, []).append(
                    Cell(
                        environment,
                        project.target.name,
                        api.name,
                        assistant.key in excluded,
                        tuple(api.refusals(assistant)),
                    )
                )
    if problems:
        raise SpecError(problems)
    result.rows = dict(sorted(result.rows.items()))
    return result


def render(result: Matrix) -> str:
    """The matrix as a table per assistant, a reason per line under a row that refuses."""
    width_env = max(len(_env(e)) for e in result.environments)
    cells = [c for row in result.rows.values() for c in row]
    width_target = max((len(c.target) for c in cells), default=0)
    width_api = max((len(c.api) for c in cells), default=0)
    lines: list[str] = []
    for key, row in result.rows.items():
        lines.append(f"{key}:")
        for cell in row:
            lines.append(
                f"  {_env(cell.environment):<{width_env}}  {cell.target:<{width_target}}  "
                f"{cell.api:<{width_api}}  {_status(cell)}"
            )
            for refusal in cell.refusals:
                lines.append(f"      {refusal.label}: {refusal.reason}")
    return "\n".join(lines)


def to_json(result: Matrix) -> dict[str, object]:
    return {
        "format_version": 1,
        "project": result.name,
        "environments": [_env(e) for e in result.environments],
        "assistants": {
            key: [
                {
                    "environment": _env(cell.environment),
                    "target": cell.target,
                    "api": cell.api,
                    "status": cell.status,
                    "refusals": [
                        {
                            "field": r.label,
                            "path": list(r.path),
                            "reason": r.reason,
                            "fix": r.advice(cell.environment),
                        }
                        for r in cell.refusals
                    ],
                }
                for cell in row
            ]
            for key, row in result.rows.items()
        },
    }


def _env(environment: str | None) -> str:
    return environment if environment is not None else "(base)"


def _status(cell: Cell) -> str:
    if cell.status == EXCLUDED:
        return "excluded" + (", it cannot hold:" if cell.refusals else "")
    return "cannot hold:" if cell.refusals else OK
