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
from asst_deploy.models import ASSISTANT_MODELS
from asst_deploy.remote.targets import connect
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
    saved = sandbox.models
    try:
        sandbox.models = frozenset({"local-llama"})
        assert client.beta.assistants.create(model="local-llama").model == "local-llama"
        with pytest.raises(openai.BadRequestError):
            client.beta.assistants.create(model="gpt-4o")
        sandbox.models = None
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


def set_models(root: Path, model: str, listed: list[str] | None) -> None:
    path = root / "asst-deploy.yaml"
    text = path.read_text().replace("model: gpt-4o-mini", f"model: {model}")
    if listed is not None:
        text = text.replace(
            "    rules: sandbox-rules.yaml",
            f"    rules: sandbox-rules.yaml\n    models: {json.dumps(listed)}",
            1,
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
    assert "no target lists the model 'gpt-4o-mimi'" in err
    assert "The requested model 'gpt-4o-mimi' does not exist." in err
    code, out, _ = run("validate", str(project), "--json")
    report = json.loads(out)
    assert report["valid"] and "gpt-4o-mimi" in report["warnings"][0]["message"]


def test_validate_is_quiet_when_a_target_lists_the_model(project: Path) -> None:
    set_models(project, "local-llama", ["local-llama", "gpt-4o"])
    code, _, err = run("validate", str(project))
    assert code == 0 and "Warning" not in err, err
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
    assert models == [frozenset(ASSISTANT_MODELS), frozenset({"a"}), None]
