"""Environments that would deploy to one place are refused by validate, naming both."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from asst_deploy.spec.validate import validate

ASSISTANT = """
    kind: assistant
    key: a
    name: A
"""


def project_file(targets: str, environments: str) -> str:
    return f"""
project: demo
defaults: {{model: gpt-4o-mini}}
targets:
{targets}
environments:
{environments}
"""


Make = Callable[[dict[str, str]], Path]


def messages(root: Path, env: str | None = None) -> list[str]:
    return [str(p) for p in validate(root, env).problems]


def test_two_environments_on_the_default_sandbox_are_refused(make_project: Make) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": project_file(
                "  sandbox: {type: sandbox}", "  dev: {}\n  prod:\n    defaults: {model: gpt-4o}"
            ),
            "assistants/a.yaml": ASSISTANT,
        }
    )
    (problem,) = messages(root)
    assert problem == (
        f"{root}/asst-deploy.yaml:7:3: environments 'dev' and 'prod' both deploy to target "
        "'sandbox' (.asst-deploy/sandbox.db): their objects have the same project and keys, "
        "so applying one would change the other's (give each environment its own target: for "
        "the sandbox, a target with its own `db:` as the example project does; else another "
        "endpoint or account)"
    )
    # one environment alone cannot tell: the check needs them all
    assert messages(root, "prod") == []


def test_a_sandbox_db_per_environment_is_fine(make_project: Make) -> None:
    targets = "  one: {type: sandbox, db: one.db}\n  two: {type: sandbox, db: two.db}"
    root = make_project(
        {
            "asst-deploy.yaml": project_file(
                targets, "  dev: {target: one}\n  prod: {target: two}"
            ),
            "assistants/a.yaml": ASSISTANT,
        }
    )
    assert messages(root) == []


@pytest.mark.parametrize(
    ("second", "shared"),
    [
        ("{type: openai, base_url: 'http://h/v1/'}", True),  # the same endpoint and account
        ("{type: openai, base_url: 'http://h/v1', project: proj_b}", False),
        ("{type: openai, base_url: 'http://other/v1'}", False),
    ],
)
def test_endpoints_are_compared_with_their_account(
    make_project: Make, second: str, shared: bool
) -> None:
    targets = f"  a: {{type: openai, base_url: 'http://h/v1'}}\n  b: {second}"
    root = make_project(
        {
            "asst-deploy.yaml": project_file(targets, "  dev: {target: a}\n  prod: {target: b}"),
            "assistants/a.yaml": ASSISTANT,
        }
    )
    found = messages(root)
    assert bool(found) is shared, found
    if shared:
        assert "environments 'dev' and 'prod' both deploy to target 'b'" in found[0]


def test_the_base_is_not_an_environment(make_project: Make) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": project_file("  sandbox: {type: sandbox}", "  prod: {}"),
            "assistants/a.yaml": ASSISTANT,
        }
    )
    assert messages(root) == []


def test_the_example_project_gives_each_environment_its_own_deployment() -> None:
    examples = Path(__file__).resolve().parents[2] / "specs"
    assert messages(examples) == []
    report = validate(examples)
    dbs = {p.environment: p.target.db for p in report.projects}
    assert len(set(dbs.values())) == len(dbs) == 5, dbs


def test_an_openai_target_without_base_url_is_api_openai_com(make_project: Make) -> None:
    targets = (
        "  implicit: {type: openai, api: agents}\n"
        "  explicit: {type: openai, api: responses, base_url: 'https://api.openai.com/v1/'}"
    )
    root = make_project(
        {
            "asst-deploy.yaml": project_file(
                targets, "  agents: {target: implicit}\n  responses: {target: explicit}"
            ),
            "assistants/a.yaml": ASSISTANT,
        }
    )
    # one account: the files and vector stores of both would be the same objects
    (problem,) = messages(root)
    assert "environments 'agents' and 'responses' both deploy to target 'explicit'" in problem
