"""The pace of runs is a setting: a rules file's `step_delay` and `sandbox serve --step-delay`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
import uvicorn
from click.testing import CliRunner

from asst_deploy.cli.sandbox import sandbox as sandbox_cli
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.model import RuleError, ScriptedModel


def test_the_default_pace_is_the_real_services(tmp_path: Path) -> None:
    assert ScriptedModel().step_delay == 0.1
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: [{match: hi, reply: hello}]\n")
    assert ScriptedModel.from_file(rules).step_delay == 0.1


def test_a_rules_file_sets_the_pace(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("step_delay: 0\nrules: [{match: hi, reply: hello}]\n")
    model = ScriptedModel.from_file(rules)
    assert model.step_delay == 0.0 and len(model.rules) == 1


@pytest.mark.parametrize("value", ["-1", "soon", "true", "[1]"])
def test_a_bad_pace_names_the_file_and_key(tmp_path: Path, value: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"step_delay: {value}\nrules: []\n")
    with pytest.raises(RuleError, match=r"rules\.yaml: step_delay: expected seconds"):
        ScriptedModel.from_file(rules)


def _served_model(monkeypatch: pytest.MonkeyPatch, *args: str) -> ScriptedModel:
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.update(app=app))
    result = CliRunner().invoke(sandbox_cli, ["serve", *args])
    assert result.exit_code == 0, result.output
    state = served["app"].state.sandbox
    assert isinstance(state, Sandbox)
    return state.model


def test_serve_takes_the_pace_as_an_option(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert _served_model(monkeypatch).step_delay == 0.1
    assert _served_model(monkeypatch, "--step-delay", "0").step_delay == 0.0
    rules = tmp_path / "rules.yaml"
    rules.write_text("step_delay: 0.5\nrules: []\n")
    assert _served_model(monkeypatch, "--rules", str(rules)).step_delay == 0.5
    # the option wins over the file
    assert _served_model(monkeypatch, "--rules", str(rules), "--step-delay", "0").step_delay == 0


def test_at_pace_zero_a_polled_run_ends_by_its_first_poll(
    client: openai.OpenAI, sandbox: Sandbox
) -> None:
    saved = sandbox.model
    sandbox.model = ScriptedModel(step_delay=0)
    try:
        assistant = client.beta.assistants.create(model="gpt-4o")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "queued"  # created queued, as the real service does
        polled = client.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
        assert polled.status == "completed"
    finally:
        sandbox.model = saved
