"""`asst-deploy render`: the runtime's arguments as JSON on stdout, errors on stderr, exit 1."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from asst_deploy import runtime
from asst_deploy.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(*args: str) -> Result:
    """Run the CLI through its error boundary (main)."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, out.getvalue().decode(), err.getvalue().decode())


def test_render_prints_what_the_runtime_returns(
    project_dir: Path, deploy_project: Callable[..., None]
) -> None:
    deploy_project("prod")
    result = run("render", "analyst", "--dir", str(project_dir), "--env", "prod")
    assert (result.code, result.err) == (0, "")
    assert json.loads(result.out) == runtime.load(project_dir, "prod").request("analyst")


def test_render_errors_go_to_stderr_with_exit_1(project_dir: Path) -> None:
    unknown = run("render", "nobody", "--dir", str(project_dir))
    assert (unknown.code, unknown.out) == (1, "")
    assert unknown.err == (
        "Error: project 'rt' has no assistant 'nobody' (known: analyst, helper, thinker)\n"
    )
    undeployed = run("render", "helper", "--dir", str(project_dir), "--env", "prod")
    assert (undeployed.code, undeployed.out) == (1, "")
    assert undeployed.err == (
        "Error: assistant 'helper' uses vector store 'docs', which is not deployed "
        f"(run asst-deploy apply {project_dir} --env prod)\n"
    )
    bad_env = run("render", "helper", "--dir", str(project_dir), "--env", "staging")
    assert bad_env.code == 1 and "unknown environment 'staging'" in bad_env.err
