"""A key the environment's `exclude:` takes out is named as excluded, not unknown, by the
runtime, `render` and `--resource` (issue 26, cases 13, 20, 68); a conversation script
naming an unknown assistant is located at its `assistant:` (case 47)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asst_deploy import runtime
from asst_deploy.replay.harness import missing
from asst_deploy.replay.scripts import load_script
from asst_deploy.spec.loader import load_project
from tests.runtime.test_render_cli import run

PROJECT = {
    "asst-deploy.yaml": """\
project: ex
defaults: {model: gpt-4o-mini}
environments:
  lean:
    exclude:
      assistants: [faq]
      vector_stores: [docs]
""",
    "assistants/faq.yaml": "kind: assistant\nkey: faq\nname: FAQ\n",
    "assistants/helper.yaml": "kind: assistant\nkey: helper\nname: Helper\n",
    "vector_stores/docs.yaml": "kind: vector_store\nkey: docs\nname: Docs\n",
}
EXCLUDED = "is excluded from environment 'lean' (its `exclude:` in asst-deploy.yaml)"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for rel, text in PROJECT.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_the_runtime_names_an_excluded_assistant(root: Path) -> None:
    with pytest.raises(runtime.UnknownAssistant) as caught:
        runtime.load(root, "lean").request("faq")
    assert str(caught.value) == (
        f"assistant 'faq' {EXCLUDED}: use another environment, or take it out of that "
        "`exclude:` (this environment's assistants: helper)"
    )
    with pytest.raises(runtime.UnknownAssistant, match="has no assistant 'nobody'"):
        runtime.load(root, "lean").request("nobody")


def test_render_names_an_excluded_assistant(root: Path) -> None:
    result = run("render", "faq", "--dir", str(root), "--env", "lean")
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(f"Error: assistant 'faq' {EXCLUDED}: use another environment")


def test_resource_names_excluded_keys(root: Path) -> None:
    result = run("plan", str(root), "--env", "lean", "--resource", "docs", "--resource", "zzz")
    assert result.code == 1
    assert result.err.splitlines() == [
        f"Error: --resource docs: vector store 'docs' {EXCLUDED}; plan it with another --env, "
        "or take it out of that `exclude:`",
        "--resource names no resource of the project: zzz",
    ]


def test_a_script_naming_an_unknown_assistant_is_located(root: Path) -> None:
    path = root / "conversations" / "chat.conv.yaml"
    path.parent.mkdir()
    path.write_text("conversations:\n  - name: hi\n    turns: [{user: hi}]\nassistant: nobody\n")
    message = str(missing(load_script(path, "conversations/chat.conv.yaml"), load_project(root)))
    assert message == (
        "conversations/chat.conv.yaml:4:12: the project has no assistant 'nobody' "
        "(it has: faq, helper)"
    )
