"""Every shell and Python block of the README and of docs/ runs, so neither can rot (how a
page's blocks run, and how a block says it cannot: tests/docs/doc_blocks.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.docs.doc_blocks import (
    DOCS,
    FENCE,
    REPO,
    bash,
    blocks,
    make_project,
    pages,
    run_blocks,
    runnable,
    setups,
)

pytestmark = pytest.mark.e2e  # slow: its own CI step (see pyproject.toml)

README = (REPO / "README.md").read_text()
INSTALL = 'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]" -c requirements/lock.txt && '


def readme_blocks(language: str) -> list[str]:
    return [m.group("body") for m in FENCE.finditer(README) if m.group("language") == language]


def page_blocks(page: str, language: str) -> list[str]:
    return [b.body for b in blocks(DOCS / page) if b.language == language]


def ci_test_command() -> str:
    lines = (REPO / ".ci" / "run").read_text().splitlines()
    return next(line for line in lines if line.startswith("python -m pytest"))


def schema_id(kind: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "asst_deploy", "schema", kind],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return str(json.loads(out)["$id"])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's specs/, and `.venv/bin` standing for this interpreter's."""
    return make_project(tmp_path)


# --- the README ------------------------------------------------------------------------


def test_the_first_two_commands_are_the_install_and_ci_test_command() -> None:
    install, tests = readme_blocks("sh")[:2]
    assert install.startswith(INSTALL), "the first command installs the project"
    assert 'pip install --quiet -e ".[dev]"' in (REPO / ".ci" / "run").read_text()
    # running the test command from inside the tests would recurse: CI runs it instead
    assert tests.strip() == ".venv/bin/" + ci_test_command()


def test_every_shell_block_runs_in_order(project: Path) -> None:
    everything = blocks(REPO / "README.md")
    scripts = [b for b in everything if b.language == "sh"]
    assert len(scripts) >= 3, "the install, the test command and the quick start"
    main_job = scripts[0].body.removeprefix(INSTALL)
    result = bash(main_job, project)
    assert result.returncode == 0, f"{main_job}\n{result.stdout}\n{result.stderr}"
    rest = [b for b in everything if b not in scripts[:2]]
    ran = run_blocks(rest, project)
    assert len(ran) == len([b for b in rest if b.language in ("sh", "python")])
    # what the blocks promise: apply made the objects, and the plan after it is empty
    assert "No changes." in bash(main_job, project).stdout
    # the documentation's pages hold the other blocks the README once did
    docs_scripts = [b for page in pages() for b in blocks(page) if b.language == "sh"]
    assert len(docs_scripts) >= 8


def quick_start() -> str:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (script,) = [m.group("body") for m in FENCE.finditer(section) if m.group("language") == "sh"]
    return script


def test_the_quick_start_tests_live_what_it_applied() -> None:
    # test_every_shell_block_runs_in_order runs this block as written, in a fresh copy of
    # specs/ (after the install block's base apply); a failing live test fails it there
    lines = [line.split("#")[0].split() for line in quick_start().splitlines()]
    apply_dev = lines.index(["asst-deploy", "apply", "specs/", "--env", "dev", "--auto-approve"])
    live_dev = lines.index(
        ["asst-deploy", "test", "specs/conversations", "--mode", "live", "--env", "dev"]
    )
    assert apply_dev < live_dev


def test_the_example_works_in_every_environment(project: Path) -> None:
    # the Quick start covers the base (replay) and dev (live); the tutorial names these too
    texts = [README, (DOCS / "tutorial" / "assistants.md").read_text()]
    found = [re.search(r"`(asst-deploy test [^`]*--env prod[^`]*)`", text) for text in texts]
    prod_replay = next(match for match in found if match is not None)
    script = "\n".join(
        [
            "asst-deploy test specs/conversations --mode replay --env dev",
            prod_replay.group(1),
            "asst-deploy apply specs/ --env prod --auto-approve",
            "asst-deploy test specs/conversations --mode live --env prod",
        ]
    )
    result = bash(script, project)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert result.stdout.count("5 passed") == 3, result.stdout


# --- the documentation's pages ---------------------------------------------------------


def check_editor_support(project: Path) -> None:
    """The editor page: the local modeline's path, seen from a spec file, names the schema
    its blocks wrote; the published ones are the schemas' own $ids."""
    modelines = [
        line.split("$schema=", 1)[1]
        for body in page_blocks("how-to/editor-support.md", "yaml")
        for line in body.splitlines()
        if "yaml-language-server" in line
    ]
    (local,) = [m for m in modelines if not m.startswith("https://")]
    schema = (project / "specs" / "assistants" / local).resolve()
    assert json.loads(schema.read_text())["$schema"].startswith("https://json-schema.org/")
    assert (project / "specs" / ".asst-deploy" / "conversation.schema.json").is_file()
    published = {m for m in modelines if m.startswith("https://")}
    assert published and published <= {schema_id("spec"), schema_id("conversation")}
    (settings,) = page_blocks("how-to/editor-support.md", "json")
    for schema_path, globs in json.loads(settings)["yaml.schemas"].items():
        assert (project / schema_path).is_file()
        for pattern in globs:
            assert list(project.glob(pattern)), pattern


def check_ci_shell(project: Path) -> None:
    assert (project / "plan.md").read_text().startswith("### asst-deploy plan")
    assert (project / "conversations.xml").is_file()


def check_cli_output(project: Path) -> None:
    # the global options' block: a quiet apply, then a verbose plan's JSON with nothing left
    summary = json.loads((project / "plan.json").read_text())["summary"]
    assert summary == {"add": 0, "change": 0, "destroy": 0}


def check_budgets(project: Path) -> None:
    assert (project / "specs" / "graded" / "graders.py").is_file()


CHECKS: dict[str, Callable[[Path], None]] = {
    "how-to/editor-support.md": check_editor_support,
    "how-to/ci-shell.md": check_ci_shell,
    "reference/cli/index.md": check_cli_output,
    "how-to/budgets-and-graders.md": check_budgets,
}


@pytest.mark.parametrize(
    "page", [str(p.relative_to(DOCS)) for p in pages() if runnable(p)], ids=str
)
def test_every_block_of_a_docs_page_runs_in_order(page: str, project: Path) -> None:
    path = DOCS / page
    ran = run_blocks(blocks(path), project, setups(path))
    assert ran or all(b.not_run for b in blocks(path) if b.language in ("sh", "python"))
    if page in CHECKS:
        CHECKS[page](project)


def test_every_page_with_a_check_runs() -> None:
    assert {page for page in CHECKS if runnable(DOCS / page)} == set(CHECKS)


def test_the_sandbox_rules_examples_load(tmp_path: Path) -> None:
    from asst_deploy.sandbox.model import ScriptedModel

    examples = [b for b in page_blocks("concepts/sandbox.md", "yaml") if b.startswith("rules:")]
    assert examples
    for number, rules in enumerate(examples):
        (tmp_path / f"rules{number}.yaml").write_text(rules)
        model = ScriptedModel.from_file(tmp_path / f"rules{number}.yaml")
        assert len(model.rules) == len(yaml.safe_load(rules)["rules"])
