"""`asst-deploy render`: an assistant as the JSON arguments of `responses.create`."""

from __future__ import annotations

import json

import click

from asst_deploy import runtime
from asst_deploy.cli.common import current_output, project_dir_option, project_options_for


@click.command()
@click.argument("key")
@project_dir_option("Project directory.")
@project_options_for("Environment whose specs and target to use (see asst-deploy.yaml).")
def render(key: str, directory: str, env: str | None, target: str | None) -> None:
    """Print the request for assistant KEY: the keyword arguments of
    `client.responses.create(...)`, with the ids of the vector stores and files deployed
    on the environment's target (listed once). Add `input` (and `conversation` or
    `previous_response_id`) in the application.

    Exit status: 0 with the JSON on stdout, 1 with the reason on stderr.
    """
    output = current_output()
    assistants = runtime.load(directory, env, target=target)
    assistants.trace = output.trace()
    kwargs = assistants.request(key)
    output.result(json.dumps(kwargs, indent=2, ensure_ascii=False))
