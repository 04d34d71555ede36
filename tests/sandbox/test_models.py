"""The sandbox's model list: unknown names get the real 400; configurable per target and serve."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import openai
import pytest
import uvicorn
from click.testing import CliRunner

from asst_deploy.cli import main
from asst_deploy.cli.sandbox import sandbox as sandbox_group
from asst_deploy.desired import Target
from asst_deploy.engine.targets import connect
from asst_deploy.generations import API_GENERATIONS
from asst_deploy.models import ASSISTANT_MODELS, RESPONSES_MODELS
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.spec.loader import load_project

REPO = Path(__file__).resolve().parents[2]


def not_found(exc: pytest.ExceptionInfo[openai.BadRequestError], model: str) -> None:
    assert exc.value.status_code == 400
    assert exc.value.body == {
        "message": f"The requested model '{model}' does not exist.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


def test_an_unknown_model_is_refused_like_the_real_service(client: openai.OpenAI) -> None:
    before = len(client.beta.assistants.list(limit=100).data)
    with pytest.raises(openai.BadRequestError) as exc:
        client.beta.assistants.create(model="gpt-4o-mimi")
    not_found(exc, "gpt-4o-mimi")
    assert len(client.beta.assistants.list(limit=100).data) == before
    asst = client.beta.assistants.create(model="gpt-4o-mini")
    with pytest.raises(openai.BadRequestError) as exc:
        client.beta.assistants.update(asst.id, model="gpt-9")
    not_found(exc, "gpt-9")
    assert client.beta.assistants.retrieve(asst.id).model == "gpt-4o-mini"
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as exc:
        client.beta.threads.runs.create(thread.id, assistant_id=asst.id, model="nope")
    not_found(exc, "nope")
    with pytest.raises(openai.BadRequestError) as exc:
        client.beta.threads.create_and_run(assistant_id=asst.id, model="nope")
    not_found(exc, "nope")


def test_the_list_can_be_changed_or_switched_off(
    server: SandboxServer, sandbox: Sandbox, client: openai.OpenAI
) -> None:
    saved = dict(sandbox.models)
    try:
        sandbox.serve_models(["local-llama"], "assistants")
        assert client.beta.assistants.create(model="local-llama").model == "local-llama"
        with pytest.raises(openai.BadRequestError):
            client.beta.assistants.create(model="gpt-4o")
        sandbox.serve_models(None)
        assert client.beta.assistants.create(model="anything").model == "anything"
    finally:
        sandbox.models = saved


def test_the_default_list_is_the_apis(openapi: Any) -> None:
    # the openapi fixture skips where ../shared/openai is absent
    enum = openapi.spec["components"]["schemas"]["AssistantSupportedModels"]["enum"]
    assert set(ASSISTANT_MODELS) == set(enum)
    assert {"gpt-4o-mini", "gpt-4o"} <= set(ASSISTANT_MODELS)  # the README's and examples'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    shutil.copytree(REPO / "specs", root, ignore=shutil.ignore_patterns(".asst-deploy"))
    return root


def set_models(root: Path, model: str, listed: list[str] | None, targets: int = 1) -> None:
    """Use `model` everywhere, and list `listed` as the models of the first `targets`
    sandbox targets (-1: all of them)."""
    path = root / "asst-deploy.yaml"
    # the example's default model (the grader's model is another)
    text = path.read_text().replace("\n  model: o3-mini", f"\n  model: {model}")
    if listed is not None:
        text = text.replace(
            "    rules: sandbox-rules.yaml",
            f"    rules: sandbox-rules.yaml\n    models: {json.dumps(listed)}",
            targets,
        )
    path.write_text(text)


def test_a_sandbox_target_takes_its_models_from_the_project(project: Path) -> None:
    set_models(project, "local-llama", ["local-llama"])
    target = load_project(project).target
    assert target.models == ("local-llama",)
    with connect(target) as backend:
        assert backend.create("assistant", {"model": "local-llama"}).data["model"] == "local-llama"


def run(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_validate_warns_of_a_model_no_target_lists(project: Path) -> None:
    set_models(project, "gpt-4o-mimi", None)
    code, out, err = run("validate", str(project))
    assert code == 0, err  # a warning, not an error
    assert "Warning:" in err
    assert "the model 'gpt-4o-mimi' is not listed for the assistants API (base, " in err
    assert "the agents API (agents)" in err and "the responses API (responses)" in err
    assert err.count("Warning:") == 3  # one per assistant spec, whatever its environments
    assert "The requested model 'gpt-4o-mimi' does not exist." in err
    code, out, _ = run("validate", str(project), "--json")
    report = json.loads(out)
    assert report["valid"] and "gpt-4o-mimi" in report["warnings"][0]["message"]


def test_validate_is_quiet_when_a_target_lists_the_model(project: Path) -> None:
    set_models(project, "local-llama", ["local-llama", "o1"], targets=-1)  # o1: prod's
    code, _, err = run("validate", str(project))
    assert code == 0 and "Warning" not in err, err


def test_validate_warns_where_the_environments_target_does_not_list_it(project: Path) -> None:
    # listed on the base's target only: the other environments' targets do not serve it
    set_models(project, "local-llama", ["local-llama"])
    code, _, err = run("validate", str(project), "--env", "dev")
    assert code == 0
    assert "is not listed for the assistants API (dev)" in err
    code, _, err = run("validate", str(REPO / "specs"))
    assert code == 0 and "Warning" not in err, err


def test_serve_takes_a_model_list(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(app))
    runner = CliRunner()
    assert runner.invoke(sandbox_group, ["serve", "--port", "0"]).exit_code == 0
    assert runner.invoke(sandbox_group, ["serve", "--port", "0", "--model", "a"]).exit_code == 0
    assert runner.invoke(sandbox_group, ["serve", "--port", "0", "--any-model"]).exit_code == 0
    models = [app.state.sandbox.models for app in served]
    assert models[0] == {name: frozenset(g.models) for name, g in API_GENERATIONS.items()}
    assert models[0]["assistants"] == frozenset(ASSISTANT_MODELS)
    assert models[1] == dict.fromkeys(API_GENERATIONS, frozenset({"a"}))
    assert models[2] == dict.fromkeys(API_GENERATIONS, None)


def test_the_model_list_is_served_and_names_shutdowns(client: openai.OpenAI) -> None:
    listed = {m.id: m for m in client.models.list()}
    assert set(listed) == set(ASSISTANT_MODELS) | set(RESPONSES_MODELS)
    assert listed["gpt-4o-mini"].shutdown_date == "2027-01-14"
    assert listed["gpt-5-mini"].shutdown_date == "2026-12-11"
    assert listed["gpt-5.5"].shutdown_date is None  # a later family, not gpt-5
    assert client.models.retrieve("o3-mini").id == "o3-mini"
    with pytest.raises(openai.NotFoundError) as exc:
        client.models.retrieve("gpt-4o-mimi")
    assert exc.value.body == {
        "message": "The model 'gpt-4o-mimi' does not exist",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


def test_a_target_lists_the_models_of_its_api(tmp_path: Path) -> None:
    target = Target("agents", "sandbox", api="agents", models=("local-llama",))
    with connect(target) as backend:
        client = backend.client  # type: ignore[attr-defined]
        assert "local-llama" in {m.id for m in client.models.list()}
        assert client.models.retrieve("local-llama").id == "local-llama"


def test_validate_checks_a_model_against_its_targets_api(project: Path) -> None:
    # gpt-5.5 is a Responses (and Agents) model, not an Assistants one: only the
    # environments whose target is an Assistants sandbox warn
    set_models(project, "gpt-5.5", None)
    code, out, _ = run("validate", str(project), "--json")
    assert code == 0
    messages = [w["message"] for w in json.loads(out)["warnings"]]
    assert messages and all("'gpt-5.5'" in m for m in messages)
    assert all("assistants API" in m and "agents API" not in m for m in messages), messages
    assert not any("responses API" in m for m in messages), messages
    code, out, err = run("validate", str(project), "--env", "agents")
    assert code == 0 and "Warning" not in err, err


def test_the_responses_list_is_the_apis(openapi: Any) -> None:
    schemas = openapi.spec["components"]["schemas"]

    def enums(name: str) -> set[str]:
        found: set[str] = set()
        for alternative in schemas[name].get("anyOf", []):
            found |= set(alternative.get("enum", []))
            if "$ref" in alternative:
                found |= enums(alternative["$ref"].rsplit("/", 1)[-1])
        return found

    assert set(RESPONSES_MODELS) == enums("ModelIdsResponses")
