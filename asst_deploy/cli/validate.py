"""`asst-deploy validate`: offline schema and semantic checks with exact locations."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from asst_deploy.cli.common import current_output
from asst_deploy.errors import Problem, SpecError
from asst_deploy.spec.documents import DOCUMENTS
from asst_deploy.spec.validate import validate as run_validate


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=True, dir_okay=True))
@click.option(
    "--env",
    "env",
    metavar="NAME",
    help="Check one environment (default: the base and every environment).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
@click.option(
    "--matrix",
    is_flag=True,
    help="Print, for every assistant, the environments whose target (and its API) can "
    "hold it, and why not; exit 0 (a report) unless the specs have other problems.",
)
def validate(directory: str, env: str | None, as_json: bool, matrix: bool) -> None:
    """Check the specs in DIRECTORY without touching the network, each environment
    against its target's API.

    Exit status: 0 when valid, 1 with the list of problems otherwise.
    """
    if matrix:
        _matrix(directory, env, as_json)
        return
    try:
        report = run_validate(directory, env)
    except SpecError as exc:  # no project here: still a report when JSON was asked for
        if not as_json:
            raise
        _echo_json(False, None, [], exc.problems)
        raise click.exceptions.Exit(1) from exc
    if as_json:
        _echo_json(
            report.valid,
            report.projects[0].name if report.projects else report.name,
            [e or "(base)" for e in report.environments],
            report.problems,
            report.warnings,
        )
        if not report.valid:
            raise click.exceptions.Exit(1)
        return
    for warning in report.warnings:
        current_output().warn(str(warning))
    if not report.valid:
        raise SpecError(report.problems)
    project = report.projects[0]
    envs = ", ".join(e or "base" for e in report.environments)
    counts = [
        f"{len(project.records[name])} {name.replace('_', ' ')}(s)"
        for name in DOCUMENTS
        if project.records.get(name)
    ]
    current_output().result(
        f"{report.root}: valid: project '{project.name}', "
        f"{', '.join([*counts, f'{len(project.files)} file(s)'])} (checked: {envs})"
    )


def _echo_json(
    valid: bool,
    project: str | None,
    environments: list[str],
    problems: list[Problem],
    warnings: Sequence[Problem] = (),
) -> None:
    report = {
        "format_version": 1,
        "valid": valid,
        "project": project,
        "environments": environments,
        "errors": [p.to_json() for p in problems],
        "warnings": [p.to_json() for p in warnings],
    }
    current_output().result(json.dumps(report, indent=2))


def _matrix(directory: str, env: str | None, as_json: bool) -> None:
    from asst_deploy.spec import matrix as api_matrix  # only for --matrix: a plain run skips it

    try:
        result = api_matrix.matrix(directory, env)
    except SpecError as exc:
        if not as_json:
            raise
        _echo_json(False, None, [], exc.problems)
        raise click.exceptions.Exit(1) from exc
    if as_json:
        current_output().result(json.dumps(api_matrix.to_json(result), indent=2))
    else:
        current_output().result(api_matrix.render(result))
