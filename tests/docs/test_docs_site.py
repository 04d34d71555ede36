"""The built site (`mkdocs build --strict`, the `site` fixture): the JSON Schemas at their
`$id` URLs, every command and option on its generated page, the generated tables and
examples in place, the Python API from its docstrings, the unreleased changelog."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from asst_deploy import limits
from asst_deploy.cli import cli
from tests.docs.doc_blocks import REPO

pytestmark = pytest.mark.e2e  # builds the site: seconds, and runs the example's commands

SITE_URL = yaml.safe_load((REPO / "mkdocs.yml").read_text())["site_url"]


def schema(kind: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "asst_deploy", "schema", kind],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded: dict[str, object] = json.loads(out)
    return loaded


def text_of(page: Path) -> str:
    """The page's article as text: tags dropped, entities decoded."""
    source = page.read_text()
    article = source[source.index("<article") : source.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", article))


def test_the_schemas_are_published_at_their_ids(site: Path) -> None:
    for kind in ("spec", "conversation", "plan"):
        expected = schema(kind)
        schema_id = expected.get("$id")
        if kind == "plan":
            assert schema_id is None
            path = "schema/plan.json"
        else:
            assert isinstance(schema_id, str) and schema_id.startswith(SITE_URL)
            path = schema_id.removeprefix(SITE_URL)
        assert json.loads((site / path).read_text()) == expected, kind
    # the SchemaStore entry is published too, for reviewers of the submission
    assert (site / "schemastore-entry.json").is_file()


def commands(group: click.Group, prefix: str = "asst-deploy") -> list[tuple[str, click.Command]]:
    context = click.Context(group)
    found = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found += commands(command, f"{prefix} {name}")
    return found


def plain(text: str) -> str:
    """Text as it reads rendered: Markdown's backticks gone, whitespace collapsed."""
    return " ".join(text.replace("`", "").split())


def test_every_command_and_option_is_on_its_generated_page(site: Path) -> None:
    for path, command in commands(cli):
        top = path.split()[1]
        page = text_of(site / "reference" / "cli" / top / "index.html")
        assert f"{path} [OPTIONS]" in page, f"{path}: no usage line"
        assert (command.help or "").split("\n", 1)[0].strip()[:40] in page, path
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            for opt in [*param.opts, *param.secondary_opts]:
                if param.hidden:  # deprecated names: said in the page's prose
                    assert (
                        f"`{opt}`" in (REPO / "docs" / "reference" / "cli" / "plan.md").read_text()
                    )
                else:
                    assert re.search(rf"(^|[\s,]){re.escape(opt)}\b", page, re.M), (path, opt)
    index = text_of(site / "reference" / "cli" / "index.html")
    for param in cli.params:
        for opt in getattr(param, "opts", []):
            assert opt in index, opt


def test_the_generated_tables_and_examples_are_in_place(site: Path) -> None:
    for page in site.rglob("*.html"):
        source = page.read_text()
        assert "<!-- generated:" not in source, page
        assert "<!-- test-setup:" not in source, page
        assert "fonts.googleapis.com" not in source, (
            f"{page}: the site loads nothing from elsewhere"
        )
    table = text_of(site / "reference" / "limits" / "index.html")
    for name in (n for n in vars(limits) if n.isupper()):
        assert name in table, name
    codes = text_of(site / "reference" / "exit-codes" / "index.html")
    for code in ("EXIT_ERROR", "EXIT_CHANGES", "EXIT_UNEXPECTED", "EXIT_INTERRUPTED"):
        assert code in codes
    outputs = text_of(site / "reference" / "output-formats" / "index.html")
    assert outputs.count('"format_version": 1') >= 4
    assert "<testsuite" in outputs and '"lost": 1' in outputs
    assert "/home/you/project" in outputs and "asst-deploy-docs-" not in outputs
    keys = text_of(site / "reference" / "schemas" / "index.html")
    for key in ("conversations", "pass_rate", "tool_resources", "chunking_strategy"):
        assert key in keys, key


def test_the_python_api_comes_from_the_docstrings(site: Path) -> None:
    from asst_deploy import runtime

    page = text_of(site / "reference" / "python-api" / "index.html")
    for obj in (runtime.load, runtime.Runtime.request, runtime.Runtime.refresh):
        assert obj.__doc__ is not None
        assert plain(obj.__doc__)[:50] in plain(page), obj.__qualname__


def test_the_changelog_shows_the_unreleased_fragments(site: Path) -> None:
    page = text_of(site / "changelog" / "index.html")
    assert "Unreleased" in page
    for fragment in (REPO / "changelog.d").glob("2*.md"):
        first = re.search(r"^- (.{30})", fragment.read_text(), re.M)
        assert first is not None and plain(first.group(1)) in plain(page), fragment.name
