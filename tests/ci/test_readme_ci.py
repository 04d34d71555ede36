"""The documentation's pages on CI, pre-commit and editors (once the README's sections):
the configuration blocks are valid (tests/test_readme.py runs every command block of the
README and of docs/)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ("CI setup", "pre-commit", "Editor support")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)
# each of the README's former sections, and the pages of docs/ that hold it now
PAGES = {
    "CI setup": ("how-to/github-actions.md", "how-to/ci-shell.md"),
    "pre-commit": ("how-to/pre-commit.md",),
    "Editor support": ("how-to/editor-support.md",),
    "Terraform and pytest-recording terms": ("reference/terms.md",),
}


def section(title: str) -> str:
    assert title in PAGES, f"no page holds the section {title!r}"
    return "\n".join((REPO / "docs" / page).read_text() for page in PAGES[title])


def blocks(language: str) -> list[str]:
    return [
        body
        for title in SECTIONS
        for lang, body in BLOCK.findall(section(title))
        if lang == language
    ]


def test_the_pre_commit_config_block_is_valid(tmp_path: Path) -> None:
    from pre_commit.clientlib import load_config

    (config,) = [b for b in blocks("yaml") if b.startswith("repos:")]
    path = tmp_path / ".pre-commit-config.yaml"
    path.write_text(config)
    loaded = load_config(str(path))
    hook_ids = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for h in loaded["repos"][0]["hooks"]} == hook_ids


def test_the_documented_action_inputs_exist() -> None:
    inputs = yaml.safe_load((REPO / ".github/actions/asst-deploy/action.yml").read_text())["inputs"]
    documented = re.search(r"^Inputs: (.*?)\n\n", section("CI setup"), re.M | re.S)
    assert documented
    named = set(re.findall(r"`([a-z][\w-]*)`", documented.group(1)))
    assert set(inputs) <= named, set(inputs) - named


def test_the_terms_table_names_only_options_that_exist() -> None:
    import click

    from asst_deploy.cli import COMMANDS, cli

    text = section("Terraform and pytest-recording terms")
    ours = [line.rsplit("|", 2)[1] for line in text.splitlines() if line.startswith("| `")]
    named = {o for cell in ours for o in re.findall(r"(--[a-z][\w-]*)", cell)}
    assert {"--out", "--detailed-exitcode", "--auto-approve", "--mode", "--only"} <= named
    context = click.Context(cli)
    options = {"--asst-mode"}  # the pytest plugin's
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert command is not None
        options |= {o for p in command.params for o in getattr(p, "opts", [])}
    assert named <= options, named - options
