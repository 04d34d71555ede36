"""Fixtures for the replay harness: a small project applied to its sandbox, copied per test.

Fixtures
--------
applied_project  a session-wide project directory (assistant `bot`: two functions,
                 code_interpreter, file_search over one file), applied once to its
                 sandbox; its state file goes along with every copy
conv             a pytester whose directory is a copy of that project; `conv.script(name,
                 text)` writes a conversation script, `conv.run(*args)` runs pytest on it
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _pytest import pytester as pytester_module

REPO = Path(__file__).resolve().parents[2]

# pytester's in-process runs drop the modules first imported during a run from sys.modules.
# Libraries import some of theirs lazily (the SDK its types, httpcore2 its connection
# code), and a second copy breaks them: libyaml's C parser builds nodes of the first copy's
# classes, the SDK's type hints are looked up in sys.modules, httpx2 maps httpcore2's
# errors by class. So the runs drop only what the test project itself brought (its
# conftest, its stub modules); the installed packages and asst_deploy stay loaded.
_KEPT = tuple(
    {
        form
        for place in (sys.prefix, sys.base_prefix, sys.exec_prefix, str(REPO))
        for form in (place, os.path.realpath(place))
    }
)


def _installed(name: str) -> bool:
    file = getattr(sys.modules.get(name), "__file__", None)
    return file is None or file.startswith(_KEPT)


class _KeepInstalled(pytester_module.SysModulesSnapshot):
    def __init__(self, preserve: Callable[[str], bool] | None = None) -> None:
        super().__init__(lambda name: _installed(name) or bool(preserve and preserve(name)))


@pytest.fixture(scope="session", autouse=True)
def _keep_installed_modules() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pytester_module, "SysModulesSnapshot", _KeepInstalled)
        yield


PROJECT_FILES = {
    "asst-deploy.yaml": """
        project: replaytest
        targets:
          sandbox:
            type: sandbox
            rules: rules.yaml
            organization: org-SECRETORG0123456789
            project: proj_SECRETPROJ0123456789
        """,
    "assistants/bot.yaml": """
        kind: assistant
        key: bot
        name: Bot
        model: gpt-4o-mini
        instructions: Be brief.
        tools:
          - type: code_interpreter
          - type: file_search
          - type: function
            function:
              name: get_weather
              parameters:
                type: object
                properties: {city: {type: string}}
                required: [city]
          - type: function
            function:
              name: get_time
              parameters: {type: object, properties: {city: {type: string}}}
        tool_resources:
          file_search: {vector_stores: [docs]}
        """,
    "vector_stores/docs.yaml": """
        kind: vector_store
        key: docs
        name: Docs
        files: [knowledge/*.md]
        """,
    "knowledge/policy.md": """
        # Refunds
        Refunds are possible within 30 days of purchase.
        """,
    "rules.yaml": r"""
        rules:
          - match: '(?i)json'
            reply: '{{"answer": 42}}'
          - match: '(?i)weather and time in (?P<city>\w+)'
            function_calls:
              - {name: get_weather, arguments: {city: "{match[city]}"}}
              - {name: get_time, arguments: {city: "{match[city]}"}}
            reply: "{outputs[get_weather]} / {outputs[get_time]}"
          - match: '(?i)weather in (?P<city>\w+)'
            function_calls: [{name: get_weather, arguments: {city: "{match[city]}"}}]
            reply: "Weather: {outputs[get_weather]}"
          - match: '(?i)bad args'
            function_calls: [{name: get_weather, arguments: {town: 3}}]
            reply: "done"
          - match: '(?i)compute'
            code_interpreter: {input: "print(2 + 2)", logs: "4"}
            reply: "Result: 4"
          - match: '(?i)refund'
            file_search: true
            reply: "{quote}"
          - match: '(?i)break'
            status: failed
            error: The model broke.
          - reply: "Hello there! You said: {message}"
        """,
}


@pytest.fixture(scope="session")
def applied_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("replay-project")
    for rel, text in PROJECT_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    result = subprocess.run(
        [sys.executable, "-m", "asst_deploy", "apply", str(root), "--auto-approve"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return root


class Conv:
    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = pytester.path

    def script(self, name: str, text: str) -> Path:
        path = self.path / "conversations" / f"{name}.conv.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest("-p", "no:cacheprovider", "conversations", *args)


@pytest.fixture
def conv(pytester: pytest.Pytester, applied_project: Path, monkeypatch: pytest.MonkeyPatch) -> Conv:
    shutil.copytree(applied_project, pytester.path, dirs_exist_ok=True)
    for name in ("CI", "ASST_DEPLOY_MODE"):
        monkeypatch.delenv(name, raising=False)
    return Conv(pytester)
