"""Nothing under asst_deploy/replay or asst_deploy/conversation imports the openai SDK: the
generations' drivers do."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import asst_deploy.conversation
import asst_deploy.replay

REPLAY = Path(asst_deploy.replay.__file__).parent
CONVERSATION = Path(asst_deploy.conversation.__file__).parent


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):  # every import, those inside functions too
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_no_replay_module_imports_openai() -> None:
    modules = sorted([*REPLAY.glob("*.py"), *CONVERSATION.glob("*.py")])
    assert len(modules) > 10  # the scan sees the package, not an empty folder
    offenders = {
        path.name: sorted(
            m for m in _imports(ast.parse(path.read_text())) if m.split(".")[0] == "openai"
        )
        for path in modules
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_importing_every_replay_module_loads_no_sdk() -> None:
    names = sorted(
        f"asst_deploy.{p.parent.name}.{p.stem}"
        for p in [*REPLAY.glob("*.py"), *CONVERSATION.glob("*.py")]
        if p.stem != "__init__"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'openai' or m.startswith('openai.')))\n"
        "print('asst_deploy.replay.harness' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPLAY.parents[1],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "True"]
