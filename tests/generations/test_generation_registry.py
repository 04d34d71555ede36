"""The one registry of API generations: every generation provides every part, nothing else
names one, and a fourth generation registered here plans and applies through the engine."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from asst_deploy import generations, kinds
from asst_deploy.backend import Backend
from asst_deploy.desired import AssistantSpec
from asst_deploy.errors import AsstDeployError, Location
from asst_deploy.generations import API_GENERATIONS, ApiGeneration
from asst_deploy.generations.sdk.driver_base import Driver
from asst_deploy.generations.sdk.openai_backend import OpenAIBackend
from tests.engine.conftest import write_project
from tests.engine.test_cli import run

PACKAGE = Path(generations.__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(API_GENERATIONS))
def test_every_generation_provides_every_part(name: str) -> None:
    generation = API_GENERATIONS[name]
    assert generation.name == name and generation.description
    spec = AssistantSpec(key="k", model="gpt-4o-mini", location=Location(Path("a.yaml"), 1, 1))
    assert generation.refusals(spec) == []  # a plain assistant fits every generation
    assert generation.kinds and set(generation.kinds) <= set(kinds.KINDS)
    assert generation.models and "gpt-4o-mini" in generation.models
    adapter = generations.adapter_class(name)
    assert isinstance(adapter, type) and issubclass(adapter, OpenAIBackend)
    driver = generations.driver_class(name)
    assert isinstance(driver, type) and driver.api == name
    for part in Driver.__annotations__:  # the protocol's class attributes
        assert hasattr(driver, part), f"{driver.__name__} has no {part}"
    for method in ("find", "get", "start", "turn", "finish"):
        assert callable(getattr(driver, method, None)), f"{driver.__name__}.{method}"
    # one package holds it whole: description, backend adapter and conversation driver
    package = f"asst_deploy.generations.{name}"
    assert API_GENERATIONS[name] is importlib.import_module(package).API
    assert adapter.__module__.startswith(f"{package}.")
    assert driver.__module__.startswith(f"{package}.")


def test_the_kinds_of_a_generation_come_in_dependency_order() -> None:
    order = list(kinds.KINDS)
    for name in API_GENERATIONS:
        held = [k.name for k in generations.kinds_of(name)]
        assert held == sorted(held, key=order.index)
        assert set(held) == set(API_GENERATIONS[name].kinds)


def test_an_unknown_generation_or_kind_is_named() -> None:
    with pytest.raises(AsstDeployError, match="unknown API generation 'realtime'; known: "):
        generations.get("realtime")
    with pytest.raises(AsstDeployError, match="holds unknown kinds: prompt"):
        generations.register(_fake(kinds_held=("file", "prompt")))
    assert "fake" not in API_GENERATIONS


# Kind and generation names compared as strings: the grep, less the false friends
# (a message's role "assistant" is no kind)
_NAMED = re.compile(
    r"""(?<!role"\) )(?<!role"\]\) )== ?"(assistant|agent|vector_store|file|"""
    r"""environment_template|assistants|agents|responses)\""""
)


def test_nothing_outside_the_kinds_and_generations_names_one() -> None:
    # the registries and each generation's own package; the sandbox serves every API
    # generation, so it names them all
    own = {("generations",), ("kinds",), ("sandbox",)}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[:1] in own or rel.parts[:2] in own:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _NAMED.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert found == []


# ---- a fourth generation, registered by this module alone ------------------------------


class FakeBackend(OpenAIBackend):
    """The Responses adapter under another name, counting what goes through it."""

    calls: ClassVar[list[str]] = []

    def create(self, kind: str, payload: Any) -> Any:
        FakeBackend.calls.append(f"create {kind}")
        return super().create(kind, payload)


def _fake(kinds_held: tuple[str, ...] = ("file", "vector_store")) -> ApiGeneration:
    return ApiGeneration(
        name="fake",
        description="a generation of this test's own",
        refusals=lambda spec: [],
        kinds=kinds_held,
        adapter=f"{__name__}:FakeBackend",
        driver="asst_deploy.generations.responses.driver:ResponsesDriver",
        models=("gpt-4o-mini",),
    )


@pytest.fixture
def fake() -> Iterator[ApiGeneration]:
    generation = _fake()
    generations.register(generation)
    FakeBackend.calls.clear()
    try:
        yield generation
    finally:
        generations.unregister(generation.name)


PROJECT = {
    "asst-deploy.yaml": """\
project: fourth
targets:
  sandbox:
    type: sandbox
    api: fake
    db: .state/sandbox.db
default_target: sandbox
defaults:
  model: gpt-4o-mini
""",
    "assistants/helper.yaml": "kind: assistant\nkey: helper\nname: Helper\n",
    "vector_stores/docs.yaml": "kind: vector_store\nkey: docs\nname: Docs\nfiles: [faq.txt]\n",
    "faq.txt": "Q: Which generation?\nA: The fourth.\n",
}


def test_a_registered_generation_plans_and_applies(
    fake: ApiGeneration, tmp_path: Path, backend: Backend
) -> None:
    proj = write_project(tmp_path / "fourth", PROJECT)
    assert run("validate", str(proj)).code == 0
    out = tmp_path / "plan.json"
    planned = run("plan", str(proj), "--out", str(out))
    assert planned.code == 0, planned.err
    saved = json.loads(out.read_text())
    assert saved["api"] == "fake"
    assert {a["kind"] for a in saved["actions"]} == {"file", "vector_store"}
    applied = run("apply", str(out))
    assert applied.code == 0, applied.err
    # the apply lease and the deployment marker (vector stores too), the docs store; the
    # file is an upload
    assert FakeBackend.calls == ["create vector_store"] * 3
    assert run("plan", str(proj), "--detailed-exitcode").code == 0
    destroyed = run("destroy", str(proj), "--auto-approve")
    assert destroyed.code == 0, destroyed.err
