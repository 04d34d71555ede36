"""The documentation's sources, checked without building or running them: the README's
size and links, the code blocks' languages and markers, the navigation, one reference
page per command, the version in one place, the changelog's fragments, the SchemaStore
entry. (tests/test_readme.py runs the blocks; test_docs_site.py builds the site.)"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import click
import pytest
import yaml

import asst_deploy
from asst_deploy.cli import cli
from tests.docs.doc_blocks import (
    DOCS,
    PARSE,
    README,
    REPO,
    RUN,
    SHOWN,
    blocks,
    pages,
)

ALL = [README, *pages()]
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
MKDOCS = yaml.safe_load((REPO / "mkdocs.yml").read_text().replace("!!python", "#"))


def relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def slug(heading: str) -> str:
    """The anchor Python-Markdown's toc (and GitHub) give a heading, for plain headings."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[\s]+", "-", text).strip("-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```$", "", path.read_text(), flags=re.M | re.S)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def schema_ids() -> dict[str, str]:
    found = {}
    for kind in ("spec", "conversation"):
        out = subprocess.run(
            [sys.executable, "-m", "asst_deploy", "schema", kind],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found[kind] = json.loads(out)["$id"]
    return found


# --- the README ------------------------------------------------------------------------


def test_the_readme_is_a_page_not_a_manual() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; the rest goes to docs/"
    sections = [line for line in lines if line.startswith("## ")]
    assert sections[:2] == ["## Status", "## Quick start"]
    quick = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (script,) = [b.body for b in blocks(README) if b.language == "sh" and b.body in quick]
    commands = [line for line in script.splitlines() if line.strip()]
    assert len(commands) == 5, "a five-command quick start"


@pytest.mark.parametrize("path", ALL, ids=relative)
def test_relative_links_lead_to_a_file_and_its_heading(path: Path) -> None:
    text = re.sub(r"^```.*?^```$", "", path.read_text(), flags=re.M | re.S)
    for match in LINK.finditer(text):
        target = match.group("target")
        if re.match(r"[a-z]+:", target) or target.startswith("<"):
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.exists(), f"{relative(path)}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{relative(path)}: no heading #{anchor}"


def test_the_readme_links_into_every_section_of_the_docs() -> None:
    linked = {
        (README.parent / m.group("target").partition("#")[0]).resolve()
        for m in LINK.finditer(README.read_text())
    }
    for section in ("tutorial", "how-to", "concepts", "reference", "contributing"):
        assert any(DOCS / section in p.parents for p in linked), section


# --- code blocks -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL, ids=relative)
def test_every_block_is_run_parsed_or_shown_and_says_why_not_run(path: Path) -> None:
    for block in blocks(path):
        assert block.language in RUN | PARSE | SHOWN, (
            f"{block.where}: a block's language is one of {sorted(RUN | PARSE | SHOWN)} "
            f"(```{block.language}): tests/test_readme.py runs sh and python, parses "
            "yaml and json, and leaves text, xml and toml alone"
        )
        if block.not_run is not None:
            assert block.language in RUN, f"{block.where}: only sh and python blocks run"
            assert len(block.not_run.split()) >= 4, f"{block.where}: say why it does not run"
    # a fence indented (in a list, an admonition) would escape the test that runs blocks
    indented = re.findall(r"^[ \t]+```(sh|python)\b", path.read_text(), re.M)
    assert not indented, f"{relative(path)}: indented sh/python blocks do not run"


def test_blocks_that_run_elsewhere_name_the_test_that_runs_them() -> None:
    for path in pages():
        for block in blocks(path):
            reason = block.not_run or ""
            for test in re.findall(r"tests/[\w/]+\.py", reason):
                assert (REPO / test).is_file(), f"{block.where}: {test} does not exist"


# --- the site's structure --------------------------------------------------------------


def nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [p for value in node.values() for p in nav_pages(value)]
    if isinstance(node, list):
        return [p for item in node for p in nav_pages(item)]
    return []


def test_every_page_is_in_the_navigation_once() -> None:
    listed = nav_pages(MKDOCS["nav"])
    assert len(listed) == len(set(listed))
    assert set(listed) == {str(p.relative_to(DOCS)) for p in pages()}


def test_every_command_has_a_reference_page_generated_from_its_click_definition() -> None:
    context = click.Context(cli)
    commands = cli.list_commands(context)
    assert commands
    for name in commands:
        page = DOCS / "reference" / "cli" / f"{name}.md"
        assert page.is_file(), f"no reference page for `asst-deploy {name}`"
        text = page.read_text()
        assert "::: mkdocs-click" in text
        assert f"    :command: {name}\n" in text and f":prog_name: asst-deploy {name}\n" in text
    listed = nav_pages(MKDOCS["nav"])
    assert {f"reference/cli/{name}.md" for name in commands} <= set(listed)


def test_the_site_url_holds_the_schemas_ids() -> None:
    site_url = MKDOCS["site_url"]
    for kind, schema_id in schema_ids().items():
        assert schema_id.startswith(site_url), (kind, schema_id, site_url)


def test_the_schemastore_entry_points_at_the_published_schemas() -> None:
    catalog = json.loads((DOCS / "schemastore-entry.json").read_text())
    assert catalog["$schema"] == "https://json.schemastore.org/schema-catalog.json"
    entries = catalog["schemas"]
    for entry in entries:
        assert set(entry) == {"name", "description", "fileMatch", "url"}
        assert entry["description"] and entry["fileMatch"]
    ids = schema_ids()
    by_url = {entry["url"]: entry for entry in entries}
    assert set(by_url) == {ids["spec"], ids["conversation"]}
    # each pattern matches the example project's files of that kind
    examples = {
        ids["spec"]: [REPO / "specs" / "asst-deploy.yaml"],
        ids["conversation"]: sorted((REPO / "specs").rglob("*.conv.yaml")),
    }
    for url, files in examples.items():
        assert files
        for file in files:
            assert any(fnmatch.fnmatch(file.name, p) for p in by_url[url]["fileMatch"]), file


# --- the version, the changelog --------------------------------------------------------


def test_the_version_is_kept_in_one_place() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "asst_deploy/__init__.py"
    assert project["tool"]["scriv"]["version"] == "literal: asst_deploy/__init__.py: __version__"
    assert metadata.version("asst-deploy") == asst_deploy.__version__


def test_asst_deploy_version_prints_the_package_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "asst_deploy", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"asst-deploy, version {asst_deploy.__version__}"


def test_changelog_fragments_use_the_configured_categories() -> None:
    categories = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["scriv"]["categories"]
    fragments = [p for p in (REPO / "changelog.d").glob("*.md") if p.name != "README.md"]
    assert fragments, "this release's entries are fragments in changelog.d/"
    for fragment in fragments:
        text = re.sub(r"<!--.*?-->", "", fragment.read_text(), flags=re.S)
        found = re.findall(r"^### (.+)$", text, re.M)
        assert found and set(found) <= set(categories), fragment.name
        assert re.search(r"^- \S", text, re.M), f"{fragment.name}: no entry"
    assert "<!-- scriv-insert-here -->" in (REPO / "CHANGELOG.md").read_text()


def test_ci_builds_the_docs_and_the_package() -> None:
    run = (REPO / ".ci" / "run").read_text().splitlines()
    assert any(line.startswith("mkdocs build --strict") for line in run)
    assert any(line.startswith("python -m build") for line in run)
    assert "site/" in (REPO / ".gitignore").read_text().splitlines()
