"""`asst-deploy schema`: print the JSON Schema of spec files, conversation scripts or plans."""

from __future__ import annotations

import json

import click

from asst_deploy.spec.documents import document_schema


@click.command()
@click.argument("kind", type=click.Choice(["spec", "conversation", "plan"]), default="spec")
def schema(kind: str) -> None:
    """Print the JSON Schema of KIND (spec files, conversation scripts, or saved plans:
    `plan --out` files), for yaml-language-server and others."""
    if kind == "conversation":
        from asst_deploy.replay.scripts import conversation_schema

        click.echo(json.dumps(conversation_schema(), indent=2, sort_keys=False))
        return
    if kind == "plan":
        from asst_deploy.engine.planfile import plan_schema

        click.echo(json.dumps(plan_schema(), indent=2, sort_keys=False))
        return
    click.echo(json.dumps(document_schema(), indent=2, sort_keys=False))
