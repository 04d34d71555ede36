"""`asst-deploy validate`: offline schema and semantic checks with exact locations."""

from __future__ import annotations

import json

import click

from asst_deploy.errors import SpecError
from asst_deploy.spec.validate import validate as run_validate


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--env", "env", metavar="NAME", help="Check one environment (default: the base and every environment).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
def validate(directory: str, env: str | None, as_json: bool) -> None:
    """Check the specs in DIRECTORY without touching the network.

    Exit status: 0 when valid, 1 with the list of problems otherwise.
    """
    report = run_validate(directory, env)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "format_version": 1,
                    "valid": report.valid,
                    "project": report.projects[0].name if report.projects else None,
                    "environments": [e or "(base)" for e in report.environments],
                    "errors": [p.to_json() for p in report.problems],
                },
                indent=2,
            )
        )
        if not report.valid:
            raise click.exceptions.Exit(1)
        return
    if not report.valid:
        raise SpecError(report.problems)
    project = report.projects[0]
    envs = ", ".join(e or "base" for e in report.environments)
    click.echo(
        f"{report.root}: valid: project '{project.name}', {len(project.assistants)} assistant(s), "
        f"{len(project.vector_stores)} vector store(s), {len(project.files)} file(s) "
        f"(checked: {envs})"
    )
