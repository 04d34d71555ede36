"""The example project in specs/: valid in every environment, and loaded as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from asst_deploy.desired import Project
from asst_deploy.spec.loader import environment_names, load_project
from asst_deploy.spec.validate import validate

EXAMPLES = Path(__file__).resolve().parents[2] / "specs"
KNOWLEDGE = ("knowledge/expenses.md", "knowledge/remote-work.md", "knowledge/vacation.md")


ENVIRONMENTS = ("agents", "dev", "prod", "responses")


def test_the_examples_declare_their_environments() -> None:
    assert environment_names(EXAMPLES) == ENVIRONMENTS


@pytest.mark.parametrize("env", [None, *ENVIRONMENTS])
def test_the_examples_are_valid_in_every_environment(env: str | None) -> None:
    assert validate(EXAMPLES, env).problems == []


def test_validate_checks_the_base_and_every_environment_by_default() -> None:
    report = validate(EXAMPLES)
    assert report.valid
    assert report.environments == [None, *ENVIRONMENTS]
    assert [p.environment for p in report.projects] == [None, *ENVIRONMENTS]


@pytest.fixture(scope="module")
def projects() -> dict[str | None, Project]:
    return {env: load_project(EXAMPLES, env) for env in (None, "dev", "prod")}


def test_each_example_assistant_exercises_a_different_tool(
    projects: dict[str | None, Project],
) -> None:
    tools = {a.key: [t["type"] for t in a.tools] for a in projects[None].assistants}
    assert tools == {
        "handbook": ["file_search"],
        "math-tutor": ["code_interpreter"],
        "weather": ["function"],
    }


@pytest.mark.parametrize(
    ("env", "target", "db", "model", "tutor_temperature"),
    [
        (None, "sandbox", "sandbox.db", "o3-mini", None),
        ("dev", "sandbox-dev", "dev.db", "o3-mini", None),
        ("prod", "sandbox-prod", "prod.db", "o1", 0.2),
    ],
)
def test_targets_models_and_temperatures_per_environment(
    projects: dict[str | None, Project],
    env: str | None,
    target: str,
    db: str,
    model: str,
    tutor_temperature: float | None,
) -> None:
    project = projects[env]
    assert project.name == "examples"
    assert project.environment == env
    # one deployment per environment: identity is project + key, so they must not share
    assert project.target.name == target
    assert project.target.db == EXAMPLES / ".asst-deploy" / db
    assert project.target.rules == EXAMPLES / "sandbox-rules.yaml"
    by_key = {a.key: a for a in project.assistants}
    # the same names everywhere: the sandbox rules and the cassettes know them
    assert {k: a.name for k, a in by_key.items()} == {
        "handbook": "Handbook Helper",
        "math-tutor": "Math Tutor",
        "weather": "Weather Bot",
    }
    assert {a.model for a in project.assistants} == {model}
    assert by_key["math-tutor"].temperature == tutor_temperature
    assert by_key["weather"].temperature == 0.5
    assert all(a.metadata == {"team": "platform"} for a in project.assistants)
    (store,) = project.vector_stores
    assert store.name == "Example Corp handbook"


def test_files_and_instructions_are_resolved(projects: dict[str | None, Project]) -> None:
    project = projects[None]
    assert tuple(f.path for f in project.files) == KNOWLEDGE
    for ref in project.files:
        assert ref.abs_path == (EXAMPLES / ref.path).resolve()
        assert ref.size == ref.abs_path.stat().st_size > 0
    (store,) = project.vector_stores
    assert store.chunking_strategy == {
        "type": "static",
        "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
    }
    assert store.expires_after == {"anchor": "last_active_at", "days": 30}
    by_key = {a.key: a for a in project.assistants}
    handbook = by_key["handbook"]
    assert handbook.vector_stores == ("handbook",)
    assert handbook.instructions is not None
    assert handbook.instructions.startswith(
        "You answer questions from employees of Example Corp using the handbook."
    )
    function = by_key["weather"].tools[0]["function"]
    assert function["name"] == "get_weather"
    assert function["strict"] is True
    assert function["parameters"]["required"] == ["location", "unit"]


def test_the_example_project_file_is_found_from_its_path() -> None:
    assert load_project(EXAMPLES / "asst-deploy.yaml").root == EXAMPLES


def test_the_agents_environment_deploys_the_tutor_and_the_weather_bot_as_agents() -> None:
    project = load_project(EXAMPLES, "agents")
    assert (project.target.name, project.target.type, project.target.api) == (
        "sandbox-agents",
        "sandbox",
        "agents",
    )
    assert project.target.db == EXAMPLES / ".asst-deploy" / "agents.db"
    assert [a.key for a in project.assistants] == ["math-tutor", "weather"]
    assert project.vector_stores == ()  # the handbook's store stays out with it
    weather = {a.key: a for a in project.assistants}["weather"]
    # what an agent cannot hold is removed by the environment's overrides, not dropped
    assert (weather.description, weather.temperature) == (None, None)
    assert weather.tools[0]["function"]["strict"] is False
    assert weather.tools[0]["function"]["parameters"]["required"] == ["location", "unit"]


def test_the_responses_environment_keeps_all_three() -> None:
    project = load_project(EXAMPLES, "responses")
    assert (project.target.name, project.target.api) == ("sandbox-responses", "responses")
    assert project.target.db == EXAMPLES / ".asst-deploy" / "responses.db"
    by_key = {a.key: a for a in project.assistants}
    assert sorted(by_key) == ["handbook", "math-tutor", "weather"]
    assert by_key["handbook"].vector_stores == ("handbook",)
    assert by_key["weather"].description is None
    assert by_key["weather"].temperature == 0.5
    assert by_key["weather"].tools[0]["function"]["strict"] is True


def test_the_assistants_environments_name_their_api() -> None:
    assert {load_project(EXAMPLES, env).target.api for env in (None, "dev", "prod")} == {
        "assistants"
    }
