"""Options and output helpers shared by the commands: streams, verbosity, colour, confirmation."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from asst_deploy.errors import AsstDeployError, OptionConflict
from asst_deploy.plan import Plan

if TYPE_CHECKING:
    from asst_deploy.engine.apply import RetryPolicy
    from asst_deploy.engine.operations import Planning

F = TypeVar("F", bound=Callable[..., Any])

QUIET, NORMAL, VERBOSE = -1, 0, 1


ENV_HELP = "Environment of asst-deploy.yaml to use (its target, vars and overrides)."


def project_options(fn: F) -> F:
    """--env and --target, the options every remote command takes."""
    return project_options_for(ENV_HELP)(fn)


def deprecated_alias(
    old: str, new: str, dest: str
) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback for an old option name (an option of its own, expose_value=False) that
    still works: it hands its value to the new option's parameter `dest`, with a note."""

    def note(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value not in (None, ()):
            click.echo(f"Deprecated: {old} is now {new}; {old} will be removed.", err=True)
            if ctx.params.get(dest) not in (None, ()):
                raise click.UsageError(f"give {new} only (not also the old {old})")
            ctx.params[dest] = value
        return value

    return note


def project_options_for(env_help: str) -> Callable[[F], F]:
    """`project_options` with the command's own words for --env. `--endpoint` was called
    `--target`, which in Terraform names a resource: the old name works, with a note."""

    def decorate(fn: F) -> F:
        fn = click.option(
            "--target",
            "deprecated_target",
            metavar="NAME",
            hidden=True,
            expose_value=False,
            callback=deprecated_alias("--target", "--endpoint", "target"),
        )(fn)
        fn = click.option(
            "--endpoint",
            "target",
            metavar="NAME",
            help="Target (endpoint) of asst-deploy.yaml to use instead of the environment's.",
        )(fn)
        fn = click.option("--env", "env", metavar="NAME", help=env_help)(fn)
        return fn

    return decorate


def resource_option(help: str) -> Callable[[F], F]:
    """--resource KEY (repeatable), Terraform's -target; the old name --only still works."""

    def decorate(fn: F) -> F:
        fn = click.option(
            "--only",
            "deprecated_only",
            multiple=True,
            metavar="KEY",
            hidden=True,
            expose_value=False,
            callback=deprecated_alias("--only", "--resource", "only"),
        )(fn)
        return click.option("--resource", "only", multiple=True, metavar="KEY", help=help)(fn)

    return decorate


def replace_option(fn: F) -> F:
    """--replace KEY (repeatable), Terraform's -replace=ADDRESS."""
    return click.option(
        "--replace",
        "replace",
        multiple=True,
        metavar="KEY",
        help="Delete and re-create this assistant or vector store, changed or not (repeatable).",
    )(fn)


def refresh_only_option(fn: F) -> F:
    return click.option(
        "--refresh-only",
        "refresh_only",
        is_flag=True,
        help="Accept drift: rewrite the hash stamps of objects edited outside asst-deploy "
        "to what they are now, changing none of their fields.",
    )(fn)


def planning_of(**options: Any) -> Planning:
    """`operations.Planning.of(**options)`, a conflict shown as a usage error."""
    from asst_deploy.engine.operations import Planning  # the engine loads with the command

    try:
        return Planning.of(**options)
    except OptionConflict as exc:
        raise click.UsageError(str(exc)) from None


class Seconds(click.FloatRange):
    """A finite number of seconds >= 0. FloatRange alone takes `nan` (no comparison with
    nan is true, so no bound refuses it), `inf` and `1e999`: a wait that never ends."""

    name = "seconds"

    def __init__(self) -> None:
        super().__init__(min=0)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(
                f"{value!r} is not a number of seconds: give a finite number >= 0, e.g. 30",
                param,
                ctx,
            )
        return seconds


def lock_timeout_option(fn: F) -> F:
    """--lock-timeout, for the commands that take the target's lease (apply, destroy)."""
    return click.option(
        "--lock-timeout",
        "lock_timeout",
        default=0.0,
        show_default=True,
        type=Seconds(),
        metavar="SECONDS",
        help="Wait this long for another apply's lock on the target before giving up.",
    )(fn)


def project_dir_option(help: str) -> Callable[[F], F]:
    """--dir, for commands whose arguments are not the project directory (import, export)."""
    return click.option(
        "--dir",
        "directory",
        default=".",
        show_default=True,
        type=click.Path(exists=True),
        help=help,
    )


def is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def use_colour(stream: Any = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and is_tty(stream)


def styler(stream: Any = None) -> Callable[[str, str], str]:
    if not use_colour(stream):
        return lambda text, colour: text
    return lambda text, colour: click.style(text, fg=colour) if colour else text


@dataclass(frozen=True)
class Output:
    """Where each kind of message goes. stdout holds only a command's result (text, --json,
    --markdown); everything else goes to stderr, filtered by the verbosity:

    - result: stdout, always
    - error/warn: stderr, always (a warning is rare and asks for action, so --quiet keeps it)
    - note: stderr, hidden by --quiet (what was done, e.g. each applied action)
    - progress: stderr, only when stderr is a terminal or with --verbose (never --quiet)
    - detail: stderr, only with --verbose (per-call details: requests, request ids, retries)

    Streams are looked up when a message is written (not when the object is made), so
    click's test runner and pytest's capture see everything.
    """

    verbosity: int = NORMAL

    @property
    def quiet(self) -> bool:
        return self.verbosity <= QUIET

    @property
    def verbose(self) -> bool:
        return self.verbosity >= VERBOSE

    def result(self, text: str, nl: bool = True) -> None:
        click.echo(text, nl=nl)

    def styler(self) -> Callable[[str, str], str]:
        """Colours for the result on stdout."""
        return styler(sys.stdout)

    def warn(self, message: str) -> None:
        click.echo(f"{self._style('Warning:', 'yellow')} {message}", err=True)

    def note(self, message: str) -> None:
        if not self.quiet:
            click.echo(message, err=True)

    def progress(self, message: str) -> None:
        if not self.quiet and (self.verbose or is_tty(sys.stderr)):
            click.echo(message, err=True)

    def detail(self, message: str) -> None:
        if self.verbose:
            click.echo(self._style(message, "bright_black"), err=True)

    def trace(self) -> Callable[[str], None] | None:
        """For `connect(target, trace=...)`: a line per HTTP request, with --verbose only."""
        return self.detail if self.verbose else None

    def retry_policy(self) -> RetryPolicy:
        """The engine's retry policy, telling of each retry with --verbose."""
        from asst_deploy.engine.apply import RetryPolicy

        def on_retry(error: Exception, delay: float) -> None:
            self.detail(f"  retrying in {delay:.1f} s: {error}")

        return RetryPolicy(on_retry=on_retry)

    def _style(self, text: str, colour: str) -> str:
        return styler(sys.stderr)(text, colour)


def show_model_warnings() -> None:
    """The core's ModelShutdownWarnings (a spec's model shuts down soon) as the CLI's own
    warnings on stderr, once each; every other warning as Python shows it."""
    import warnings

    from asst_deploy.models import ModelShutdownWarning

    shown: set[str] = set()
    original = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, ModelShutdownWarning):
            if str(message) not in shown:
                shown.add(str(message))
                current_output().warn(str(message))
            return
        original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.simplefilter("always", ModelShutdownWarning)


def current_output() -> Output:
    """The Output the `asst-deploy` group made from --quiet/--verbose (kept on the click
    context object, not in a global); a default one when a command runs on its own."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    found = obj.get("output") if isinstance(obj, dict) else None
    return found if isinstance(found, Output) else Output()


def log(message: str) -> None:
    """Notes go to stderr, so stdout holds only the command's output (hidden by --quiet)."""
    current_output().note(message)


def stdin_is_terminal() -> bool:
    return is_tty(sys.stdin)


def confirm_or_abort(question: str, auto_approve: bool, verb: str = "apply") -> None:
    """Ask on the terminal; "no" says "Apply cancelled." (as Terraform does) and exits 1."""
    if auto_approve:
        return
    if not stdin_is_terminal():
        raise AsstDeployError(
            "no terminal to ask for confirmation on, so nothing was changed; "
            f"pass --auto-approve to {verb} without asking"
        )
    if not click.confirm(question, default=False, err=True):
        click.echo(f"{verb.capitalize()} cancelled.", err=True)
        raise click.exceptions.Exit(1)


def refuse_if_refused(plan: Plan) -> None:
    """A plan with refused actions (protected objects, impossible adoptions) is not applied."""
    if plan.refused:
        raise AsstDeployError(
            "the plan cannot be applied; nothing was changed:\n"
            + "\n".join(f"  {r}" for r in plan.refused)
        )


class ActionProgress:
    """Where apply_plan's `progress` and `status` go. In a terminal (stderr a TTY, not
    --quiet or --verbose) a click progress bar counts the steps, each line of what was
    done printed above it; anywhere else (a CI log) one line per action."""

    def __init__(self, output: Output, total: int, *, force_bar: bool | None = None) -> None:
        import threading

        self.output = output
        bar = force_bar if force_bar is not None else is_tty(sys.stderr)
        self.bar: Any = None
        if bar and total > 1 and not (output.quiet or output.verbose):
            self.bar = click.progressbar(
                length=total, label="Applying", file=sys.stderr, show_pos=True
            )
            self.bar._is_atty = True  # forced: click draws no bar where it sees no TTY
        self.lock = threading.Lock()

    def __enter__(self) -> ActionProgress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def done(self, message: str) -> None:
        if self.bar is None:
            self.output.note(message)
            return
        with self.lock:
            click.echo("\r\x1b[K" + message, err=True)  # above the bar, which redraws
            self.bar.update(1)

    def status(self, message: str) -> None:
        if self.bar is None:
            self.output.progress(message)
            return
        with self.lock:
            self.bar.label = message.strip()[:40]
            self.bar.render_progress()


@contextmanager
def json_on_failure(enabled: bool, report: Callable[[Exception], object]) -> Iterator[None]:
    """With `--json`, a failure prints `report(exc)` on stdout too (a script reading stdout
    gets JSON either way); the message still goes to stderr and the exit status is kept."""
    try:
        yield
    except click.exceptions.Exit:
        raise
    except Exception as exc:
        if enabled:
            import json

            current_output().result(json.dumps(report(exc), indent=2))
        raise
