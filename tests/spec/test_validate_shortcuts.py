"""validate's shortcuts (tools checked by their tag, function files built once for all
environments) give the answers the full checks give."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from asst_deploy.errors import Location
from asst_deploy.spec import schemacheck
from asst_deploy.spec.documents import document_schema
from asst_deploy.spec.validate import validate

Make = Callable[[dict[str, str]], Path]

TOOLS: list[Any] = [
    {"type": "code_interpreter"},
    {"type": "code_interpreter", "extra": 1},
    {"type": "file_search", "max_num_results": 10},
    {"type": "file_search", "max_num_results": 99},
    {"type": "function", "file": "functions/a.json"},
    {"type": "function", "file": "functions/a.json", "strict": "yes"},
    {"type": "function", "function": {"name": "f"}, "file": "functions/a.json"},
    {"type": "function"},
    {"type": "function", "function": {"name": "bad name!"}},
    {"type": "mcp", "server_label": "x"},
    {"type": "unknown"},
    {"type": 3},
    {},
    "code_interpreter",
    None,
]


@pytest.mark.parametrize("tool", TOOLS, ids=[json.dumps(t) for t in TOOLS])
def test_a_tool_checked_by_its_tag_is_valid_exactly_when_the_schema_says(tool: Any) -> None:
    defs = document_schema()["$defs"]
    tagged = schemacheck._Tagged(defs, {"$ref": "#/$defs/tool"})
    assert tagged.tags, "the tool schema is no longer a union tagged by type"
    full = Draft202012Validator({"$defs": defs, "$ref": "#/$defs/tool"})
    assert tagged.is_valid(tool) == full.is_valid(tool)


PROJECT = """
project: demo
defaults: {model: gpt-4o-mini}
targets:
  dev: {type: sandbox, db: .asst-deploy/dev.db}
  prod: {type: sandbox, db: .asst-deploy/prod.db}
environments:
  dev: {target: dev}
  prod: {target: prod}
"""
ASSISTANT = "kind: assistant\nkey: a\ntools:\n  - type: function\n    file: functions/f.json\n"
FUNCTION = {
    "name": "lookup",
    "description": "Look up in ${env}.",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
}


def test_a_function_file_is_built_per_environment_when_what_it_refers_to_differs(
    make_project: Make,
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": PROJECT,
            "assistants/a.yaml": ASSISTANT,
            "functions/f.json": json.dumps(FUNCTION),
        }
    )
    report = validate(root)
    functions = {p.environment: p.assistants[0].tools[0]["function"] for p in report.projects}
    assert {e: f["description"] for e, f in functions.items()} == {
        None: "Look up in .",
        "dev": "Look up in dev.",
        "prod": "Look up in prod.",
    }
    assert not report.problems


def test_an_instructions_file_is_substituted_per_environment_when_what_it_refers_to_differs(
    make_project: Make,
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": PROJECT.replace("{target: dev}", "{target: dev, vars: {v: x}}")
            + "vars: {v: ''}\n",
            "assistants/a.yaml": "kind: assistant\nkey: a\ninstructions: {file: prompts/a.md}\n",
            "assistants/b.yaml": "kind: assistant\nkey: b\ninstructions: {file: prompts/b.md}\n",
            "prompts/a.md": "In ${env}, v=${v}.",
            "prompts/b.md": "v=${v}; ${missing}",
        }
    )
    report = validate(root)
    assert [(p.location, p.message) for p in report.problems] == [
        (
            Location(str(root / "prompts" / "b.md"), 1, 9),
            "undefined variable 'missing' (defined: env, project, v)",
        )
    ]
    assert not report.projects  # every environment has the problem: reported once
    root.joinpath("prompts/b.md").write_text("v=${v}")
    report = validate(root)
    texts = {p.environment: [a.instructions for a in p.assistants] for p in report.projects}
    assert texts == {
        None: ["In , v=.", "v="],
        "dev": ["In dev, v=x.", "v=x"],
        "prod": ["In prod, v=.", "v="],
    }
