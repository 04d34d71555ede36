"""The one table of limits (asst_deploy/limits.py) says what ../shared/openai/openapi.yaml says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from asst_deploy import limits
from asst_deploy.replay import scripts
from asst_deploy.sandbox import validation
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.routes import runs as runs_route
from asst_deploy.spec import schema

OPENAPI = Path("/work/shared/openai/openapi.yaml")


@pytest.fixture(scope="session")
def schemas() -> dict[str, Any]:
    if not OPENAPI.is_file():
        pytest.skip(f"no OpenAPI description at {OPENAPI}")
    with OPENAPI.open(encoding="utf-8") as f:  # 1 s with the C loader: once per session
        return yaml.load(f, Loader=yaml.CSafeLoader)["components"]["schemas"]


def _plain(node: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of a nullable property, through one $ref."""
    if "$ref" in node:
        node = schemas[node["$ref"].rsplit("/", 1)[1]]
    for branch in node.get("anyOf", ()):
        if branch.get("type") != "null":
            return dict(branch)
    return node


def test_assistant_fields(schemas: dict[str, Any]) -> None:
    for request in ("CreateAssistantRequest", "ModifyAssistantRequest"):
        fields = schemas[request]["properties"]
        assert _plain(fields["name"], schemas)["maxLength"] == limits.NAME_MAX
        assert _plain(fields["description"], schemas)["maxLength"] == limits.DESCRIPTION_MAX
        assert _plain(fields["instructions"], schemas)["maxLength"] == limits.INSTRUCTIONS_MAX
        assert fields["tools"]["maxItems"] == limits.TOOLS_MAX
        temperature = _plain(fields["temperature"], schemas)
        assert (temperature["minimum"], temperature["maximum"]) == limits.TEMPERATURE
        top_p = _plain(fields["top_p"], schemas)
        assert (top_p["minimum"], top_p["maximum"]) == limits.TOP_P
        effort = _plain(fields["reasoning_effort"], schemas)
        assert tuple(effort["enum"]) == limits.REASONING_EFFORTS


def test_run_fields(schemas: dict[str, Any]) -> None:
    fields = schemas["CreateRunRequest"]["properties"]
    assert _plain(fields["max_prompt_tokens"], schemas)["minimum"] == limits.MAX_PROMPT_TOKENS_MIN
    # the one deviation, on the evidence of a recording: the file says 256, the service took 16
    assert _plain(fields["max_completion_tokens"], schemas)["minimum"] == 256
    recording = OPENAPI.parent / "recordings" / "ruby-openai__runs_create.yaml"
    assert '"max_completion_tokens":16' in recording.read_text(encoding="utf-8")
    assert limits.MAX_COMPLETION_TOKENS_MIN <= 16
    assert tuple(_plain(fields["reasoning_effort"], schemas)["enum"]) == limits.REASONING_EFFORTS


def test_metadata_and_tools(schemas: dict[str, Any]) -> None:
    # the metadata limits are prose only: "Set of 16 key-value pairs ... maximum length of 64
    # characters ... maximum length of 512 characters"
    prose = " ".join(_plain(schemas["Metadata"], schemas)["description"].split())
    assert f"Set of {limits.METADATA_PAIRS_MAX} key-value pairs" in prose
    assert f"maximum length of {limits.METADATA_KEY_MAX} characters" in prose
    assert f"maximum length of {limits.METADATA_VALUE_MAX} characters" in prose
    search = schemas["AssistantToolsFileSearch"]["properties"]["file_search"]["properties"]
    results = search["max_num_results"]
    assert (results["minimum"], results["maximum"]) == limits.FILE_SEARCH_MAX_NUM_RESULTS
    function = " ".join(schemas["FunctionObject"]["properties"]["name"]["description"].split())
    assert f"maximum length of {limits.FUNCTION_NAME_MAX}" in function


def test_validate_the_sandbox_and_scripts_use_the_table() -> None:
    assert schema.ASSISTANT_FIELDS["reasoning_effort"]["enum"] == list(limits.REASONING_EFFORTS)
    assert validation.REASONING_EFFORT.inner.enum == list(limits.REASONING_EFFORTS)
    run = scripts._RUN["properties"]
    assert run["max_prompt_tokens"]["minimum"] == limits.MAX_PROMPT_TOKENS_MIN
    assert (run["temperature"]["minimum"], run["temperature"]["maximum"]) == limits.TEMPERATURE
    fields = runs_route.CREATE_RUN.fields
    assert fields["max_completion_tokens"].inner.min == limits.MAX_COMPLETION_TOKENS_MIN
    assert fields["max_prompt_tokens"].inner.min == limits.MAX_PROMPT_TOKENS_MIN


def test_the_sandbox_takes_every_effort_validate_takes() -> None:
    """xhigh was taken by the sandbox and refused by validate; max by neither."""
    for effort in limits.REASONING_EFFORTS:
        assert validation.REASONING_EFFORT.check(effort, "reasoning_effort") == effort
    with pytest.raises(APIError, match="Supported values"):
        validation.REASONING_EFFORT.check("extreme", "reasoning_effort")
