"""The `asst-deploy` command line: a thin click group whose commands load lazily."""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import threading
import traceback
from typing import Any, NoReturn

import click

from asst_deploy import __version__
from asst_deploy.cli.common import NORMAL, QUIET, VERBOSE, Output, show_model_warnings
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations.sdk import sdk_types

# command name -> "module:attribute"; imported only when the command runs, so that
# network-free commands never import the openai SDK (start-up time is a feature).
COMMANDS: dict[str, str] = {
    "validate": "asst_deploy.cli.validate:validate",
    "schema": "asst_deploy.cli.schema:schema",
    "sandbox": "asst_deploy.cli.sandbox:sandbox",
    "plan": "asst_deploy.cli.plan:plan",
    "apply": "asst_deploy.cli.apply:apply",
    "destroy": "asst_deploy.cli.destroy:destroy",
    "force-unlock": "asst_deploy.cli.unlock:force_unlock",
    "import": "asst_deploy.cli.import_:import_",
    "export": "asst_deploy.cli.export:export",
    "scan-cassettes": "asst_deploy.cli.scan:scan_cassettes",
    "test": "asst_deploy.cli.test:test",
    "render": "asst_deploy.cli.render:render",
}

# Commands whose work ends with the project's size (they read it, plan, write, exit): the
# garbage collector is off while they run. What they build is trees of plain values and
# records, freed by reference counting; collecting finds next to nothing (the same peak
# memory at 10,000 assistants) and cost 150-190 ms there. `sandbox` and `test` keep it.
BOUNDED = frozenset(
    {"validate", "schema", "plan", "apply", "destroy", "force-unlock", "import", "export", "render"}
)

_pausing_gc = False  # True while main() runs a command: it turns the collector back on

EXIT_ERROR = 1
# Usage errors exit 1 like any other mistake: click's own 2 would read as "changes
# present" to `plan --detailed-exitcode` and to CI scripts built on it.
EXIT_USAGE = EXIT_ERROR
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            if cmd_name in BOUNDED and _pausing_gc:
                gc.disable()  # main() turns it back on
            module_name, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="asst-deploy")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print only results, warnings and errors.")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also print progress and per-call details (request ids, retries).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool, verbose: bool) -> None:
    """Assistant-as-code: keep OpenAI assistants, vector stores and files in git.

    Results go to stdout; notes, progress and errors to stderr. Colour only on a terminal
    and never when NO_COLOR is set.
    """
    if quiet and verbose:
        raise click.UsageError("choose one of --quiet and --verbose")
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["output"] = Output(QUIET if quiet else VERBOSE if verbose else NORMAL)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI with the error boundary: 1 expected error, 3 unexpected, 130 Ctrl-C.
    Run as the console script (no `argv`), the process then ends at once (see _exit)."""
    try:
        _main(argv)
    except SystemExit as done:
        if argv is None:
            _exit(done.code)
        raise


def _main(argv: list[str] | None) -> None:
    global _pausing_gc
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    # A command builds many small containers and frees few until it exits: collect less
    # often than the default (700 allocations), as one run of validate or plan would
    # otherwise walk the same live objects again and again.
    gc.set_threshold(10_000, 50, 100)
    # The SDK's type packages load name by name in this process: the CLI owns it, so the
    # hook goes in here and never in a library import (asst_deploy.runtime, the plugin).
    sdk_types.install()
    show_model_warnings()  # a model shutting down soon, however the command came to it
    collecting = gc.isenabled()
    _pausing_gc = collecting
    try:
        code = cli.main(args=argv, prog_name="asst-deploy", standalone_mode=False)
    except AsstDeployError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the boundary: anything else is a bug in asst-deploy
        if debug:
            traceback.print_exc()
        else:
            click.echo(
                f"Unexpected error: {type(exc).__name__}: {exc}\n"
                "This is a bug in asst-deploy; run again with --debug for the traceback.",
                err=True,
            )
        sys.exit(EXIT_UNEXPECTED)
    finally:
        _pausing_gc = False
        if collecting:
            gc.enable()
    sys.exit(code if isinstance(code, int) else 0)


def _exit(code: str | int | None) -> NoReturn:
    """End the process with `code` as `sys.exit(code)` would, without the interpreter's
    finalisation: with the SDK loaded, tearing down its modules and objects one by one
    takes 70-140 ms, and the command's work is done. Only where nothing else is left to
    do: no thread runs that the normal exit would wait for (a daemon thread it would stop
    as well), no exit hook is registered but logging's (run here: it flushes the log
    handlers), and the streams flush (else the normal exit reports the failure as usual)."""
    logging = sys.modules.get("logging")
    hooks = 1 if logging is not None else 0  # logging registers its shutdown on import
    waited = [t for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]
    if isinstance(code, int | None) and not waited and atexit._ncallbacks() <= hooks:
        try:
            if logging is not None:
                logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
        except (OSError, ValueError):
            pass
        else:
            os._exit(code or 0)
    sys.exit(code)
