"""All problems at once: every JSON Schema error, and semantic checks beside schema errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from asst_deploy.errors import SpecError
from asst_deploy.spec.loader import load_project

PROJECT = "project: demo\ndefaults: {model: gpt-4o-mini}\n"


def problems(root: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_project(root)
    return [str(p).removeprefix(f"{root}/") for p in info.value.problems]


def test_every_json_schema_error_of_the_parameters_is_reported(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    parameters = {
        "type": "object",
        "properties": {"city": {"type": "strin"}, "days": {"type": "integer", "minimum": "1"}},
        "required": "city",
    }
    root = make_project(
        {
            "asst-deploy.yaml": PROJECT,
            "assistants/a.yaml": "kind: assistant\nkey: a\ntools:\n"
            "  - {type: function, file: functions/f.json}\n",
            "functions/f.json": json.dumps({"name": "f", "parameters": parameters}, indent=1),
        }
    )
    found = problems(root)
    assert [p.split(": ", 1)[0] for p in found] == [
        "functions/f.json:7:13",
        "functions/f.json:11:16",
        "functions/f.json:14:15",
    ]
    assert "unknown type 'strin'" in found[0]
    assert "'1' is not of type 'number'" in found[1]
    assert "'city' is not of type 'array'" in found[2]


def test_strict_mode_findings_come_with_the_schema_errors(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": PROJECT,
            "assistants/a.yaml": """
                kind: assistant
                key: a
                tools:
                  - type: function
                    function:
                      name: f
                      strict: true
                      parameters:
                        type: object
                        properties: {city: {type: strin}}
            """,
        }
    )
    found = problems(root)
    assert len(found) == 3, found
    assert "must list every property as required; missing: city" in found[0]
    assert "must set additionalProperties: false" in found[1]
    assert "unknown type 'strin'" in found[2]


def test_dependent_checks_show_beside_a_schema_error_in_the_same_file(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    metadata = "".join(f"    k{i}: v\n" for i in range(15))
    root = make_project(
        {
            "asst-deploy.yaml": PROJECT,
            "assistants/a.yaml": "kind: assistant\nkey: a\ntemprature: 1\n"
            "instructions: {file: prompts/missing.md}\nmetadata:\n" + metadata,
            "vector_stores/docs.yaml": """
                kind: vector_store
                key: docs
                name: 5
                files: [knowledge/a.md, {path: knowledge/b.md, colour: red}, knowledge/c.md]
                chunking_strategy:
                  type: static
                  static: {max_chunk_size_tokens: 800, chunk_overlap_tokens: 500}
            """,
            "knowledge/a.md": "a\n",
            "knowledge/b.md": "b\n",
        }
    )
    assert problems(root) == [
        "assistants/a.yaml:3:1: unknown key 'temprature' (did you mean 'temperature'?)",
        "assistants/a.yaml:4:22: file not found: 'prompts/missing.md' "
        "(paths are relative to the project directory)",
        "assistants/a.yaml:6:5: metadata has 15 pairs; at most 13 are allowed because "
        "asst-deploy keeps 3 of the API's 16 for identity (remove some pairs)",
        "vector_stores/docs.yaml:3:7: 'name' must be a string, not an integer",
        "vector_stores/docs.yaml:4:48: unknown key 'colour' (expected one of: 'attributes', 'path')",
        "vector_stores/docs.yaml:4:62: file not found: 'knowledge/c.md' "
        "(paths are relative to the project directory)",
        "vector_stores/docs.yaml:7:62: 'chunk_overlap_tokens' is 500; it must not exceed half "
        "of max_chunk_size_tokens (400) (lower the overlap)",
    ]


def test_an_invalid_model_is_not_also_reported_missing(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": "project: demo\n",
            "assistants/a.yaml": "kind: assistant\nkey: a\nmodel: 4\n",
        }
    )
    assert problems(root) == ["assistants/a.yaml:3:8: 'model' must be a string, not an integer"]


def test_a_refused_tools_list_does_not_also_report_its_tool_resources(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": PROJECT,
            "assistants/a.yaml": "kind: assistant\nkey: a\ntools: code_interpreter\n"
            "tool_resources: {code_interpreter: {files: [data/x.csv]}}\n",
            "data/x.csv": "a,b\n",
        }
    )
    assert problems(root) == ["assistants/a.yaml:3:8: 'tools' must be a list, not a string"]
