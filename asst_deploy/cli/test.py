"""`asst-deploy test`: run conversation scripts through pytest with the replay plugin."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import click

from asst_deploy.cli.common import project_options
from asst_deploy.errors import AsstDeployError
from asst_deploy.spec.loader import find_root

PLUGIN = "asst_deploy.replay.plugin"
PYTEST_USAGE_ERROR = 4  # pytest's code; the project's usage errors exit 1
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
) -> None:
    """Run the conversation scripts in PATHS (default: the project's conversations/).

    PATHS may be pytest node ids (`conversations/weather.conv.yaml::paris`), and any other
    pytest option passes through (`-q`, `-v`, `--maxfail=1`, `-p no:cacheprovider`; after
    `--`, everything does)."""
    require_test_extra()
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
    }
    args += [part for flag, value in flags.items() if value for part in (flag, str(value))]
    if poll:
        args += ["--asst-runs", "poll"]
    if exitfirst:
        args.append("-x")
    args.append("--asst-record-hint=--mode record")  # hints name this command's options
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):  # else the entry point loads it
        args += ["-p", PLUGIN]
    # asst_deploy is imported already; pytest need not warn that it cannot rewrite it
    args += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    code = int(pytest.main(args))
    raise click.exceptions.Exit(1 if code == PYTEST_USAGE_ERROR else code)


def _is_path(arg: str) -> bool:
    """A path or node id the user named (an option's value, like `-p no:x`, is not one)."""
    return not arg.startswith("-") and Path(arg.split("::", 1)[0]).exists()
