"""Options and output helpers shared by the commands that talk to a target."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from asst_deploy.errors import AsstDeployError
from asst_deploy.plan import Plan

F = TypeVar("F", bound=Callable[..., Any])


def project_options(fn: F) -> F:
    """--env and --target, the options every remote command takes."""
    fn = click.option(
        "--target", "target", metavar="NAME", help="Target to use instead of the environment's."
    )(fn)
    fn = click.option(
        "--env", "env", metavar="NAME", help="Environment to apply (see asst-deploy.yaml)."
    )(fn)
    return fn


def use_colour(stream: Any = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def styler(stream: Any = None) -> Callable[[str, str], str]:
    if not use_colour(stream):
        return lambda text, colour: text
    return lambda text, colour: click.style(text, fg=colour) if colour else text


def log(message: str) -> None:
    """Progress and notes go to stderr, so stdout holds only the command's output."""
    click.echo(message, err=True)


def confirm_or_abort(question: str, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise AsstDeployError(
            "no terminal to ask for confirmation on, so nothing was changed; "
            "pass --auto-approve to apply without asking"
        )
    if not click.confirm(question, default=False, err=True):
        raise click.exceptions.Exit(1)


def refuse_if_refused(plan: Plan) -> None:
    """A plan with refused actions (protected objects, impossible adoptions) is not applied."""
    if plan.refused:
        raise AsstDeployError(
            "the plan cannot be applied; nothing was changed:\n"
            + "\n".join(f"  {r}" for r in plan.refused)
        )
