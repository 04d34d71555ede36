"""MkDocs hooks: the parts of the site made from the code when it is built, never copied.

- A page's `<!-- generated: NAME ARGS -->` is replaced by what GENERATORS[NAME] makes of
  ARGS: tables of the CLI's global options and commands, exit codes, limits, the schemas'
  keys and URLs, example outputs of the commands (run on a copy of specs/ against the
  built-in sandbox), files of the repository (the example workflow), the changelog. An unknown NAME, or a generator that fails, fails the
  build.
- The JSON Schemas that `asst-deploy schema` prints are published at their `$id` URLs
  under the site (schema/spec.json, schema/conversation.json), the saved plan's at
  schema/plan.json.
- mkdocs-click renders each command from the click group the program runs
  (asst_deploy.cli:cli): its commands are put in a module of their own, CLI_MODULE, one
  attribute per command name, which the pages name as `:module:`.
- `<!-- test-setup: ... -->` comments (read by tests/test_readme.py) are dropped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import click
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

REPO = Path(__file__).resolve().parents[2]
CLI_MODULE = "asst_deploy_cli_reference"
MARKER = re.compile(r"<!-- generated: (?P<name>[\w-]+)(?P<args>[^>]*?) -->")
TEST_SETUP = re.compile(r"^<!-- test-setup: .*? -->\n\n?", re.M)
SCHEMA_KINDS = ("spec", "conversation", "plan")
# where the outputs are generated; replaced by a path a reader recognises as theirs
PLACEHOLDER_DIR = "/home/you/project"


# --- the CLI -------------------------------------------------------------------------


def _cli() -> tuple[click.Group, click.Context]:
    from asst_deploy.cli import cli

    return cli, click.Context(cli, info_name="asst-deploy", **cli.context_settings)


def _commands() -> dict[str, click.Command]:
    cli, ctx = _cli()
    commands = {}
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        if command is None:
            raise PluginError(f"the CLI lists a command '{name}' it cannot load")
        commands[name] = command
    return commands


def _register_cli_module() -> None:
    module = types.ModuleType(CLI_MODULE, "The commands of asst_deploy.cli:cli, by name.")
    for name, command in _commands().items():
        setattr(module, name, command)
    sys.modules[CLI_MODULE] = module


def _option_rows(params: list[click.Parameter]) -> list[str]:
    rows = []
    for param in params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        text = (param.help or "").replace("|", "\\|")
        rows.append(f"| {names} | {text} |")
    return rows


def cli_global_options(_: str, page: Page, files: Files) -> str:
    cli, ctx = _cli()
    help_option = cli.get_help_option(ctx)
    rows = _option_rows([*cli.params, *([help_option] if help_option else [])])
    return "| Global option | Description |\n| --- | --- |\n" + "\n".join(rows)


def cli_commands(_: str, page: Page, files: Files) -> str:
    rows = []
    for name, command in _commands().items():
        src = f"reference/cli/{name}.md"
        if files.get_file_from_path(src) is None:
            raise PluginError(f"the command '{name}' has no reference page, {src}")
        text = (command.get_short_help_str(limit=200) or "").replace("|", "\\|")
        rows.append(f"| [`asst-deploy {name}`]({name}.md) | {text} |")
    return "| Command | What it does |\n| --- | --- |\n" + "\n".join(rows)


# Meanings of the exit codes, by the constant's name; a new constant without one here
# fails the build, so the page never misses a code.
EXIT_MEANINGS = {
    "EXIT_ERROR": "an expected error (bad specs, an unreachable endpoint, ...), with a "
    "message saying what to do",
    "EXIT_USAGE": "a usage error: an unknown option or command, a missing directory, "
    "options that exclude each other",
    "EXIT_CHANGES": "changes present (`plan --detailed-exitcode` only)",
    "EXIT_UNEXPECTED": "an unexpected error: a bug in asst-deploy (`--debug` shows the traceback)",
    "EXIT_INTERRUPTED": "interrupted (Ctrl-C)",
}


def exit_codes(_: str, page: Page, files: Files) -> str:
    import asst_deploy.cli as cli_module

    plan_module = sys.modules[_commands()["plan"].callback.__module__]  # type: ignore[union-attr]
    found: dict[int, list[tuple[str, str]]] = {0: [("", "success")]}
    for module in (cli_module, plan_module):
        for name in sorted(vars(module)):
            if not name.startswith("EXIT_"):
                continue
            if name not in EXIT_MEANINGS:
                raise PluginError(f"exit code {name} has no meaning in docs/hooks/generated.py")
            found.setdefault(getattr(module, name), []).append((name, EXIT_MEANINGS[name]))
    rows = []
    for code in sorted(found):
        names = ", ".join(f"`{n}`" for n, _m in found[code] if n)
        meaning = "; or ".join(m for _n, m in found[code])
        rows.append(f"| {code} | {names} | {meaning} |")
    return "| Exit code | Constant | Meaning |\n| ---: | --- | --- |\n" + "\n".join(rows)


# --- limits ----------------------------------------------------------------------------

# What each constant of asst_deploy/limits.py bounds. A constant without a label here
# is shown with the comment above it in limits.py (or its name), so the table is never
# short of a limit; a label reads better.
LIMIT_LABELS = {
    "NAME_MAX": "name, characters",
    "DESCRIPTION_MAX": "description, characters",
    "INSTRUCTIONS_MAX": "instructions, characters",
    "TOOLS_MAX": "tools per assistant",
    "FUNCTION_NAME_MAX": "function and json_schema name, characters",
    "FUNCTION_NAME_PATTERN": "function and json_schema name, pattern",
    "METADATA_PAIRS_MAX": "metadata pairs (asst-deploy keeps 3 of them, 4 on an agent that runs code)",
    "METADATA_KEY_MAX": "metadata key, characters",
    "METADATA_VALUE_MAX": "metadata value, characters",
    "CODE_INTERPRETER_FILES_MAX": "code_interpreter files per assistant",
    "FILE_SEARCH_VECTOR_STORES_MAX": "vector stores per assistant (file_search)",
    "FILE_SEARCH_MAX_NUM_RESULTS": "file_search `max_num_results`",
    "TEMPERATURE": "`temperature`",
    "TOP_P": "`top_p`",
    "CHUNK_SIZE_TOKENS": "static chunk size, tokens (the overlap at most half)",
    "EXPIRES_AFTER_DAYS": "vector store `expires_after`, days",
    "FILE_SIZE_MAX": "file size",
    "AGENT_TOOLS_MAX_BYTES": "an agent's tools, as compact JSON",
    "REASONING_EFFORTS": "`reasoning_effort`",
    "MAX_PROMPT_TOKENS_MIN": "a run's `max_prompt_tokens`, at least",
    "MAX_COMPLETION_TOKENS_MIN": "a run's `max_completion_tokens`, at least",
    "FILE_SEARCH_EXTENSIONS": "file types a vector store indexes (file_search)",
    "CODE_INTERPRETER_EXTENSIONS": "file types code_interpreter reads",
    "CASSETTE_MAX_BYTES": "a cassette replay reads (asst-deploy's own limit)",
}


def _comment_above(source: list[str], name: str) -> str:
    """The comment lines right above `NAME =` in a module's source, joined."""
    for number, line in enumerate(source):
        if line.startswith(f"{name} ="):
            comments: list[str] = []
            for previous in reversed(source[:number]):
                if not previous.startswith("#"):
                    break
                comments.insert(0, previous.lstrip("# ").rstrip())
            return " ".join(comments)
    return ""


def _limit_value(name: str, value: Any) -> str:
    if name == "FILE_SIZE_MAX":  # as OpenAI states it
        return f"{value // (1024 * 1024)} MB"
    if name.endswith("_BYTES") and isinstance(value, int):
        return f"{value / (1024 * 1024):g} MiB"
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return f"{value[0]}..{value[1]}"
    if isinstance(value, (tuple, frozenset, set)):
        return " ".join(
            f"`{v}`" for v in (sorted(value) if not isinstance(value, tuple) else value)
        )
    if isinstance(value, int):
        return f"{value:,}"
    return f"`{value}`"


def limits(_: str, page: Page, files: Files) -> str:
    from asst_deploy import limits as module

    source = Path(module.__file__ or "").read_text().splitlines()
    rows = []
    for name, value in vars(module).items():
        if not name.isupper() or name.startswith("_"):
            continue
        label = LIMIT_LABELS.get(name) or _comment_above(source, name) or name
        rows.append(f"| {label} | {_limit_value(name, value)} | `{name}` |")
    return "| What | Limit | Constant |\n| --- | --- | --- |\n" + "\n".join(rows)


# --- schemas ---------------------------------------------------------------------------


def _run(*args: str, cwd: Path | None = None, ok: tuple[int, ...] = (0,)) -> str:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    env.pop("CI", None)  # outputs as a person's run shows them, whatever machine builds
    result = subprocess.run(
        [sys.executable, "-m", "asst_deploy", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode not in ok:
        raise PluginError(
            f"`asst-deploy {' '.join(args)}` exited {result.returncode}:\n{result.stderr}"
        )
    return result.stdout


@cache
def schema(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_run("schema", kind))
    return loaded


def schema_path(kind: str, site_url: str) -> str:
    """Where the site publishes a schema: its `$id` under the site's URL, else schema/KIND.json."""
    schema_id = schema(kind).get("$id")
    if schema_id is None:
        return f"schema/{kind}.json"
    if not site_url or not schema_id.startswith(site_url):
        raise PluginError(
            f"the {kind} schema's $id {schema_id} is not under site_url {site_url!r} "
            "(mkdocs.yml): the site would not publish it at its own URL"
        )
    return str(schema_id[len(site_url) :])


_SITE_URL = [""]


def schema_urls(_: str, page: Page, files: Files) -> str:
    rows = []
    for kind in SCHEMA_KINDS:
        path = schema_path(kind, _SITE_URL[0])
        url = _SITE_URL[0] + path
        title = schema(kind).get("title", "")
        rows.append(f"| `asst-deploy schema {kind}` | {title} | [{url}](../{path}) |")
    return "| Command | Schema | Published at |\n| --- | --- | --- |\n" + "\n".join(rows)


def _type_of(node: dict[str, Any]) -> str:
    if "$ref" in node:
        return node["$ref"].rsplit("/", 1)[-1]
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    kinds = node.get("type")
    if kinds is None:
        for key in ("oneOf", "anyOf"):
            if key in node:
                return " or ".join(_type_of(n) for n in node[key])
        return "any"
    return " or ".join(kinds) if isinstance(kinds, list) else str(kinds)


def _keys_table(node: dict[str, Any]) -> str:
    required = set(node.get("required", []))
    rows = []
    for key, value in node.get("properties", {}).items():
        description = (value.get("description") or "").replace("|", "\\|").replace("\n", " ")
        rows.append(
            f"| `{key}` | {_type_of(value)} | {'yes' if key in required else ''} | {description} |"
        )
    return "| Key | Type | Required | Description |\n| --- | --- | --- | --- |\n" + "\n".join(rows)


def schema_keys(args: str, page: Page, files: Files) -> str:
    kind = args.strip()
    document = schema(kind)
    if kind != "spec":
        return _keys_table(document)
    # a spec file is the project file (it has `project:`) or a document of a kind
    defs = document["$defs"]
    parts = [("The project file, `asst-deploy.yaml`", document["then"]["$ref"])]
    for branch in document["else"]["allOf"]:
        name = branch["if"]["properties"]["kind"]["const"]
        parts.append((f"`kind: {name}`", branch["then"]["$ref"]))
    return "\n\n".join(
        f"**{title}**\n\n{_keys_table(defs[ref.rsplit('/', 1)[-1]])}" for title, ref in parts
    )


# --- example outputs -------------------------------------------------------------------


def _block(text: str, language: str) -> str:
    return f"```{language}\n{text.rstrip()}\n```"


def _example(title: str, text: str, language: str) -> str:
    """A block in a collapsible admonition, open when it is short."""
    block = _block(text, language)
    opener = "???+" if block.count("\n") < 40 else "???"
    indented = "\n".join(f"    {line}" if line else "" for line in block.splitlines())
    return f'{opener} example "{title}"\n\n{indented}\n'


@cache
def outputs() -> dict[str, tuple[str, str, str]]:
    """Each example output: (command, text, language), from commands run on a copy of
    specs/ against the built-in sandbox, in an order that gives each its state."""
    work = Path(tempfile.mkdtemp(prefix="asst-deploy-docs-"))
    found: dict[str, tuple[str, str, str]] = {}

    def run(name: str, language: str, *args: str, ok: tuple[int, ...] = (0,)) -> None:
        found[name] = (" ".join(["asst-deploy", *args]), _run(*args, cwd=work, ok=ok), language)

    try:
        shutil.copytree(
            REPO / "specs", work / "specs", ignore=shutil.ignore_patterns(".asst-deploy")
        )
        run("validate-json", "json", "validate", "specs", "--json")
        parity = ("test", "specs/parity", "--parity", "base:replay", "agents:replay", "--json")
        run("parity-json", "json", *parity, ok=(1,))
        junit = ("test", "specs/conversations", "--mode", "replay", "-q", "-k", "paris")
        run("junit-xml", "xml", *junit, "--junitxml", "junit.xml")
        found["junit-xml"] = (found["junit-xml"][0], (work / "junit.xml").read_text(), "xml")
        run("apply-json", "json", "apply", "specs", "--auto-approve", "--json")
        weather = work / "specs" / "assistants" / "weather.yaml"
        weather.write_text(weather.read_text().replace("temperature: 0.5", "temperature: 0.3"))
        run("plan-json", "json", "plan", "specs", "--json", "--resource", "weather")
        run("plan-markdown", "text", "plan", "specs", "--markdown")
        weather.write_text(weather.read_text().replace("\nname:", "\nmodle: gpt-4o\nname:", 1))
        run("plan-error-json", "json", "plan", "specs", "--json", ok=(1,))
        return {
            name: (command, text.replace(str(work), PLACEHOLDER_DIR), language)
            for name, (command, text, language) in found.items()
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def output(args: str, page: Page, files: Files) -> str:
    name = args.strip()
    if name not in outputs():
        raise PluginError(f"no example output '{name}' (known: {', '.join(outputs())})")
    command, text, language = outputs()[name]
    return _example(f"{command} (generated when this site was built)", text, language)


def file(args: str, page: Page, files: Files) -> str:
    """A file of the repository as it is, in a block of the given language."""
    name, language = args.split()
    path = (REPO / name).resolve()
    if not path.is_relative_to(REPO) or not path.is_file():
        raise PluginError(f"{page.file.src_uri}: no file {name} in the repository")
    return _example(f"{name}, as the repository has it", path.read_text(), language)


# --- the changelog ---------------------------------------------------------------------

CATEGORY = re.compile(r"^### (.+)$", re.M)
COMMENT = re.compile(r"<!--.*?-->", re.S)


def changelog(_: str, page: Page, files: Files) -> str:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["scriv"]
    order = config.get("categories", [])
    merged: dict[str, list[str]] = {}
    fragments = sorted((REPO / "changelog.d").glob("*.md"))
    for fragment in fragments:
        if fragment.name.lower().startswith("readme"):
            continue
        text = COMMENT.sub("", fragment.read_text())
        pieces = CATEGORY.split(text)
        for category, body in zip(pieces[1::2], pieces[2::2], strict=True):
            if category not in order:
                raise PluginError(f"{fragment}: unknown category '{category}' (scriv: {order})")
            merged.setdefault(category, []).append(body.strip())
    parts = []
    if merged:
        parts.append("## Unreleased\n")
        for category in order:
            if category in merged:
                parts.append(f"### {category}\n\n" + "\n".join(merged[category]) + "\n")
    released = (REPO / "CHANGELOG.md").read_text().split("<!-- scriv-insert-here -->", 1)[1]
    parts.append(released.strip() or "No release has been collected yet.")
    return "\n".join(parts)


GENERATORS: dict[str, Callable[[str, Page, Files], str]] = {
    "cli-global-options": cli_global_options,
    "cli-commands": cli_commands,
    "exit-codes": exit_codes,
    "limits": limits,
    "schema-urls": schema_urls,
    "schema-keys": schema_keys,
    "output": output,
    "changelog": changelog,
    "file": file,
}


# --- the hooks -------------------------------------------------------------------------


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    schema.cache_clear()
    outputs.cache_clear()
    _SITE_URL[0] = config.site_url or ""
    _register_cli_module()
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for kind in SCHEMA_KINDS:
        content = json.dumps(schema(kind), indent=2) + "\n"
        files.append(File.generated(config, schema_path(kind, _SITE_URL[0]), content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in GENERATORS:
            raise PluginError(f"{page.file.src_uri}: no generator '{name}' ({match.group(0)})")
        return GENERATORS[name](match.group("args"), page, files)

    return MARKER.sub(replace, TEST_SETUP.sub("", markdown))
