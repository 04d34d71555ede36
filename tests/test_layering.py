"""The layering the design promises: only the generations' adapters import openai (each
generation's backend and driver, and what they share in asst_deploy/generations/sdk/; never a
generation's description, which the spec layer reads), and the engine reaches kinds only
through their registry (no kind named in shared code)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import asst_deploy

PACKAGE = Path(asst_deploy.__file__).parent
GENERATIONS = PACKAGE / "generations"


def _an_adapter(path: Path) -> bool:
    """A module of a generation's package besides its `__init__` (the description, which the
    spec layer reads without the SDK), or of what the generations share (sdk/)."""
    return path.parent.parent == GENERATIONS and path.name != "__init__.py"


def _openai_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # in functions too
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        found += [f"{n} (line {node.lineno})" for n in names if n.split(".")[0] == "openai"]
    return found


def test_nothing_outside_the_generations_adapters_imports_openai() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 100  # the scan sees the package
    offenders = {
        str(path.relative_to(PACKAGE)): found
        for path in modules
        if not _an_adapter(path) and (found := _openai_imports(path))
    }
    assert offenders == {}
    # and the check can fail: the adapters themselves do import it
    assert _openai_imports(GENERATIONS / "sdk" / "openai_backend.py")
    assert _openai_imports(GENERATIONS / "agents" / "driver.py")
    assert not _an_adapter(GENERATIONS / "agents" / "__init__.py")


# The engine's shared modules: they dispatch through asst_deploy.kinds, never on a kind's name.
SHARED = (
    "engine/compare.py",
    "engine/apply.py",
    "engine/operations.py",
    "plan.py",
    "engine/render.py",
    "engine/export.py",
    "engine/importing.py",
)
KIND_NAMES = ("assistant", "agent", "vector_store", "environment_template")


def kind_comparisons(source: str) -> list[int]:
    """Lines that compare something with a kind's name."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = (node.left, *node.comparators)
            names = [c.value for c in sides if isinstance(c, ast.Constant)]
            if any(n in KIND_NAMES for n in names):
                lines.append(node.lineno)
    return lines


def test_the_engine_names_no_kind() -> None:
    """No `if kind == "assistant"` chains in shared code: it asks the kind's module."""
    assert kind_comparisons('if obj.kind == "assistant":\n    pass\n') == [1]  # it can fail
    offenders = {
        name: lines
        for name in SHARED
        if (lines := kind_comparisons((PACKAGE / name).read_text(encoding="utf-8")))
    }
    assert offenders == {}


# ---- the import-linter contracts (.importlinter), run in .ci/run too ------------------

CONTRACTS = PACKAGE.parent / ".importlinter"
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")  # import-linter's command


def _lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=PACKAGE.parent,
    )


def test_the_layers_are_a_dag_and_every_module_has_one() -> None:
    text = CONTRACTS.read_text()
    placed = set(re.findall(r"\basst_deploy(?:\.[\w]+)?", text))
    top = {
        f"asst_deploy.{p.stem if p.is_file() else p.name}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert top - placed == set()  # a new module must take its place in the layers
    result = _lint_imports(CONTRACTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_a_forbidden_import_breaks_the_contract(tmp_path: Path) -> None:
    # the control case: the same contracts on a copy of the package where a kind imports
    # the engine fail, naming the import
    copy = tmp_path / "asst_deploy"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    kind = copy / "kinds" / "file.py"
    kind.write_text(kind.read_text() + "\nfrom asst_deploy.engine import apply  # noqa\n")
    shutil.copy(CONTRACTS, tmp_path / ".importlinter")
    result = subprocess.run(
        [LINT_IMPORTS, "--config", ".importlinter", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "asst_deploy.kinds.file -> asst_deploy.engine.apply" in result.stdout
