"""`asst-deploy schema`: print the JSON Schema of the spec format for editors."""

from __future__ import annotations

import json

import click

from asst_deploy.spec.schema import document_schema


@click.command()
@click.argument("kind", type=click.Choice(["spec"]), default="spec")
def schema(kind: str) -> None:
    """Print the JSON Schema of KIND (spec files), for yaml-language-server and others."""
    click.echo(json.dumps(document_schema(), indent=2, sort_keys=False))
