"""`asst-deploy test`: run conversation scripts through pytest with the replay plugin."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import click

from asst_deploy.cli import EXIT_INTERRUPTED
from asst_deploy.cli.common import project_options
from asst_deploy.errors import AsstDeployError
from asst_deploy.spec.loader import find_root

PLUGIN = "asst_deploy.replay.plugin"
# pytest's exit codes (pytest.ExitCode, not imported: pytest loads only when tests run)
PYTEST_INTERRUPTED = 2
PYTEST_USAGE_ERROR = 4
PYTEST_NO_TESTS = 5
# the test extra: plan/apply and the pre-commit hooks install without them
TEST_EXTRA = ("pytest", "vcr")


def require_test_extra() -> None:
    missing = [m for m in TEST_EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        names = ", ".join("vcrpy" if m == "vcr" else m for m in missing)
        raise AsstDeployError(
            f"`asst-deploy test` needs {names}, which {'is' if len(missing) == 1 else 'are'} "
            "not installed: install the test extra, pip install 'asst-deploy[test]'"
        )


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": True})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED, metavar="[PATHS] [PYTEST_OPTIONS]")
@click.option(
    "--mode",
    type=click.Choice(["live", "record", "replay", "once", "none", "rewrite"]),
    help="live, record (rewrite), replay (none), or once (record only the missing "
    "cassettes). Default: $ASST_DEPLOY_MODE, else replay when $CI is set, else live.",
)
@project_options
@click.option("--cassettes", type=click.Path(path_type=Path), help="Cassette directory.")
@click.option("--poll", "poll", is_flag=True, help="Poll runs instead of streaming them.")
@click.option("-k", "keyword", metavar="EXPR", help="Only conversations matching EXPR.")
@click.option("-x", "exitfirst", is_flag=True, help="Stop at the first failure.")
@click.option("-n", "workers", metavar="N", help="Run in N processes (pytest-xdist).")
@click.option("--junitxml", type=click.Path(path_type=Path), help="Write a JUnit XML report.")
@click.option(
    "--envs",
    metavar="ENV,ENV",
    help="Run every conversation on each environment; the test id names the API generation.",
)
@click.option(
    "--parity",
    nargs=2,
    metavar="ENV_A[:MODE] ENV_B[:MODE]",
    help="Run the scripts on both environments (each in --mode, or its own MODE) and print, "
    "turn by turn, both verdicts and what differs; exit 1 when B lost a verdict A had.",
)
@click.option("--json", "as_json", is_flag=True, help="With --parity: the table as JSON.")
@click.option("--markdown", is_flag=True, help="With --parity: the table as Markdown.")
@click.option(
    "--budget-usd",
    type=click.FloatRange(min=0, min_open=True),
    metavar="USD",
    help="The most the whole run may spend, priced from usage; a conversation it stops is "
    "inconclusive (never a pass).",
)
@click.option(
    "--allow-inconclusive",
    is_flag=True,
    help="Exit 0 when conversations are inconclusive (stopped by a budget) but none failed.",
)
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a self-contained HTML report: verdicts, costs, latencies, transcripts (with "
    "--parity: both environments side by side).",
)
def test(
    pytest_args: tuple[str, ...],
    mode: str | None,
    env: str | None,
    target: str | None,
    cassettes: Path | None,
    poll: bool,
    keyword: str | None,
    exitfirst: bool,
    workers: str | None,
    junitxml: Path | None,
    envs: str | None,
    parity: tuple[str, str] | None,
    as_json: bool,
    markdown: bool,
    budget_usd: float | None,
    allow_inconclusive: bool,
    html: Path | None,
) -> None:
    """Run the conversation scripts in PATHS (default: the project's conversations/).

    PATHS may be pytest node ids (`conversations/weather.conv.yaml::paris`), and any other
    pytest option passes through (`-q`, `-v`, `--maxfail=1`, `-p no:cacheprovider`; after
    `--`, everything does)."""
    require_test_extra()
    if as_json and markdown:
        raise click.UsageError("choose one of --json and --markdown")
    if parity:
        # the two sides name the environments (and their targets): another choice of
        # environment would be silently dropped, and the table read as if it applied
        for name, given in (("--envs", envs), ("--env", env), ("--endpoint", target)):
            if given:
                raise click.UsageError(
                    f"--parity ENV_A ENV_B names the environments to compare; drop {name}, "
                    "or run without --parity"
                )
        paths = [Path(a) for a in pytest_args if _is_path(a)]
        code = run_parity(
            parity, paths, mode, cassettes, poll, keyword, as_json, markdown, html, budget_usd
        )
        raise click.exceptions.Exit(code)
    if as_json or markdown:
        raise click.UsageError("--json and --markdown go with --parity")
    import pytest

    args = list(pytest_args)
    if not any(_is_path(a) for a in args):
        default = find_root(".") / "conversations"
        if not default.is_dir():
            raise AsstDeployError(f"no conversations directory at {default}; pass PATHS")
        args.append(str(default))
    flags = {
        "--asst-mode": mode,
        "--asst-env": env,
        "--asst-target": target,
        "--asst-cassettes": cassettes,
        "-k": keyword,
        "-n": workers,
        "--junitxml": junitxml,
        "--asst-envs": envs,
        "--asst-budget-usd": budget_usd,
        "--asst-html": html,
    }
    args += [part for flag, value in flags.items() if value for part in (flag, str(value))]
    if poll:
        args += ["--asst-runs", "poll"]
    if exitfirst:
        args.append("-x")
    if allow_inconclusive:
        args.append("--asst-allow-inconclusive")
    args.append("--asst-record-hint=--mode record")  # hints name this command's options
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):  # else the entry point loads it
        args += ["-p", PLUGIN]
    # asst_deploy is imported already; pytest need not warn that it cannot rewrite it
    args += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    interrupted = _Interrupted()
    code = int(pytest.main(args, plugins=[interrupted]))
    raise click.exceptions.Exit(exit_code(code, interrupted.seen))


class _Interrupted:
    """A pytest plugin that notes a Ctrl-C: pytest exits 2 for it and for collection errors
    alike (both call this hook, the latter with its Session.Interrupted), which this
    command tells apart: 130, and 1."""

    seen = False

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        import pytest

        self.seen = not isinstance(excinfo.value, pytest.Session.Interrupted)


def exit_code(pytest_code: int, keyboard_interrupt: bool = False) -> int:
    """pytest's exit status in the project's terms: 2 means "changes present" to scripts
    built on `plan --detailed-exitcode`, so pytest's 2 (a script that does not parse, an
    unknown environment in --envs: collection errors) is a mistake to fix, 1; its usage
    error (4) and "no tests collected" (5: a path or -k that selects nothing) too."""
    if pytest_code == PYTEST_INTERRUPTED:
        return EXIT_INTERRUPTED if keyboard_interrupt else 1
    if pytest_code in (PYTEST_USAGE_ERROR, PYTEST_NO_TESTS):
        return 1
    return pytest_code  # 0 passed, 1 failed, 3 pytest's internal error (a bug)


def _is_path(arg: str) -> bool:
    """A path or node id the user named (an option's value, like `-p no:x`, is not one)."""
    return not arg.startswith("-") and Path(arg.split("::", 1)[0]).exists()


def _side(value: str, mode: str | None) -> tuple[str, str]:
    """ENV or ENV:MODE -> (env, mode)."""
    env, _, own = value.partition(":")
    chosen = own or mode or "live"
    if chosen not in MODES:
        raise click.BadParameter(f"mode {chosen!r} of {value!r} is not one of {', '.join(MODES)}")
    return env, chosen


MODES = ("live", "record", "replay", "once", "none", "rewrite")


def run_parity(
    sides: tuple[str, str],
    paths: list[Path],
    mode: str | None,
    cassettes: Path | None,
    poll: bool,
    keyword: str | None,
    as_json: bool,
    markdown: bool,
    html: Path | None = None,
    budget_usd: float | None = None,
) -> int:
    """Not a pytest run: parity needs both environments' transcripts of each turn at once,
    which one pytest item per conversation and environment does not give. The options
    mean what they mean for a test run."""
    from asst_deploy.replay import parity, parity_run
    from asst_deploy.replay.harness import Settings, canonical_mode

    if not paths:
        default = find_root(".") / "conversations"
        if not default.is_dir():
            raise AsstDeployError(f"no conversations directory at {default}; pass PATHS")
        paths = [default]
    loaded = parity_run.scripts(paths)
    (env_a, mode_a), (env_b, mode_b) = (_side(s, mode) for s in sides)
    parity_run.check_environments(loaded, (env_a, env_b))
    records = []
    for env, side_mode in ((env_a, mode_a), (env_b, mode_b)):
        settings = Settings(
            mode=canonical_mode(side_mode),
            cassettes=cassettes,
            streaming=False if poll else None,
            record_hint="--mode record",
            budget_usd=budget_usd,  # each side its own
        )
        records.append(parity_run.run_side(settings, env, loaded, keyword))
    rows = parity.compare(records[0], records[1])
    render = (
        parity.render_json
        if as_json
        else parity.render_markdown
        if markdown
        else parity.render_table
    )
    click.echo(render(rows, env_a, env_b))
    if html is not None:
        from asst_deploy.replay import report

        html.write_text(report.parity_html(rows, env_a, env_b), encoding="utf-8")
    return 0 if parity.kept(rows) else 1
