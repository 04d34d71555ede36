"""`asst-deploy schema`: a draft 2020-12 schema that accepts the example spec files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from asst_deploy.cli import cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "specs"

SPEC_FILES = sorted(
    [
        EXAMPLES / "asst-deploy.yaml",
        *EXAMPLES.glob("assistants/*.yaml"),
        *EXAMPLES.glob("vector_stores/*.yaml"),
    ]
)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_it_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_it_accepts_every_example_file(schema: dict[str, Any], path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(document)]
        assert errors == []


@pytest.mark.parametrize(
    "document",
    [
        {"kind": "assistant", "key": "a", "temprature": 0.5},
        {"kind": "assistant", "key": "a", "temperature": 3},
        {
            "kind": "vector_store",
            "key": "v",
            "expires_after": {"anchor": "last_active_at", "days": 0},
        },
        {"kind": "assistent", "key": "a"},
        {"project": "demo", "enviroments": {}},
        {"project": "demo", "targets": {"t": {"type": "sandbox", "api": "chat"}}},
        {"kind": "assistant", "key": "a", "service_tier": "scale"},
        {"kind": "assistant", "key": "a", "multi_agent": {"max_concurrent_subagents": 2}},
        {"kind": "assistant", "key": "a", "tools": [{"type": "mcp", "server_label": "x"}]},
        {"kind": "assistant", "key": "a", "tools": [{"type": "web_search", "mode": "off"}]},
        {"kind": "assistant", "key": "a", "tools": [{"type": "tool_search", "limit": 3}]},
        {"project": "demo", "environments": {"e": {"exclude": {"assistants": "a"}}}},
    ],
)
def test_it_rejects_what_validate_rejects(schema: dict[str, Any], document: Any) -> None:
    assert list(Draft202012Validator(schema).iter_errors(document))


def test_it_describes_the_apis_a_target_can_name(schema: dict[str, Any]) -> None:
    api = schema["$defs"]["target"]["properties"]["api"]
    assert api["enum"] == ["assistants", "agents", "responses"]
    assert api["default"] == "assistants"
    assert "The sandbox serves all of them." in api["description"]
    exclude = schema["$defs"]["project_environment"]["properties"]["exclude"]
    assert "exclude: {assistants: [handbook]}" in exclude["description"]
