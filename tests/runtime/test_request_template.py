"""The pure mapping from an assistant spec to responses.create arguments: golden forms,
refusals, and the official CreateResponse schema."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.request_template import NotDeployed, TemplateError, request_kwargs
from asst_deploy.spec.loader import load_project
from tests.runtime.conftest import CANCEL_ORDER

STORES = {"docs": "vs_docs"}
FILES = {"data/orders.csv": "file-orders", "knowledge/policy.md": "file-policy"}


def assistant(project: Project, key: str) -> AssistantSpec:
    return next(a for a in project.assistants if a.key == key)


def test_every_field_maps_to_its_responses_place(spec_dir: Path) -> None:
    spec = assistant(load_project(spec_dir), "analyst")
    assert request_kwargs(spec, "rt", STORES, FILES) == {
        "model": "gpt-4o-mini",
        "instructions": "You are the order analyst.",
        "tools": [
            {
                "type": "code_interpreter",
                "container": {"type": "auto", "file_ids": ["file-orders"]},
            },
            {
                "type": "file_search",
                "vector_store_ids": ["vs_docs"],
                "max_num_results": 4,
                "ranking_options": {"ranker": "auto", "score_threshold": 0.2},
            },
            {"type": "function", **CANCEL_ORDER},
            # not strict, as on the assistant: the Responses API's own default is strict
            {"type": "function", "name": "list_orders", "parameters": None, "strict": False},
        ],
        "temperature": 0.7,
        "top_p": 0.9,
        "text": {
            "format": {
                "type": "json_schema",
                "name": "answer",
                "schema": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}},
                    "required": ["text"],
                    "additionalProperties": False,
                },
                "strict": True,
            }
        },
        "metadata": {
            "team": "platform",
            "owner": "analytics",
            "asst_deploy.project": "rt",
            "asst_deploy.key": "analyst",
            "asst_deploy.name": "Analyst",
        },
    }


def test_unset_fields_stay_out_and_reasoning_is_an_object(spec_dir: Path) -> None:
    project = load_project(spec_dir)
    assert request_kwargs(assistant(project, "thinker"), "rt", {}, {}) == {
        "model": "o3-mini",
        "text": {"format": {"type": "json_object"}},
        "reasoning": {"effort": "low"},
        "metadata": {"team": "platform", "asst_deploy.project": "rt", "asst_deploy.key": "thinker"},
    }
    helper = request_kwargs(assistant(project, "helper"), "rt", STORES, {})
    assert helper["tools"] == [{"type": "file_search", "vector_store_ids": ["vs_docs"]}]
    assert "temperature" not in helper and "text" not in helper


def test_an_environment_changes_the_template(spec_dir: Path) -> None:
    spec = assistant(load_project(spec_dir, "prod"), "analyst")
    kwargs = request_kwargs(spec, "rt", STORES, FILES)
    assert (kwargs["model"], kwargs["temperature"]) == ("gpt-4o", 0.3)


@pytest.mark.parametrize("key", ["analyst", "helper", "thinker"])
def test_every_template_is_a_valid_create_response_body(
    spec_dir: Path, key: str, create_response: Callable[[Any], list[str]]
) -> None:
    kwargs = request_kwargs(assistant(load_project(spec_dir), key), "rt", STORES, FILES)
    assert create_response({**kwargs, "input": "hello"}) == []


def test_the_schema_check_catches_a_nested_function_tool(
    create_response: Callable[[Any], list[str]],
) -> None:
    # the control: the Assistants API's nested form is no Responses tool
    nested = {"type": "function", "function": CANCEL_ORDER}
    assert create_response({"model": "gpt-4o", "tools": [nested]})


def test_missing_ids_name_what_is_not_deployed(spec_dir: Path) -> None:
    spec = assistant(load_project(spec_dir), "analyst")
    with pytest.raises(NotDeployed, match="uses vector store 'docs', which is not deployed"):
        request_kwargs(spec, "rt", {}, FILES)
    with pytest.raises(NotDeployed, match=r"uses file 'data/orders\.csv'"):
        request_kwargs(spec, "rt", STORES, {})


def test_what_responses_cannot_hold_is_refused_with_a_hint(spec_dir: Path) -> None:
    spec = assistant(load_project(spec_dir), "analyst")
    old_ranker = dataclasses.replace(
        spec,
        tools=tuple(
            {**t, "ranking_options": {"ranker": "default_2024_08_21"}}
            if t["type"] == "file_search"
            else t
            for t in spec.tools
        ),
    )
    with pytest.raises(TemplateError, match="ranker 'default_2024_08_21' is the Assistants"):
        request_kwargs(old_ranker, "rt", STORES, FILES)
    with pytest.raises(TemplateError, match="'multi_agent' is an Agents API field"):
        request_kwargs(dataclasses.replace(spec, multi_agent={}), "rt", STORES, FILES)
    no_store = dataclasses.replace(spec, vector_stores=())
    with pytest.raises(TemplateError, match="file_search has no vector store") as caught:
        request_kwargs(no_store, "rt", STORES, FILES)
    assert str(caught.value).startswith(f"{spec.location}: assistant 'analyst'")
