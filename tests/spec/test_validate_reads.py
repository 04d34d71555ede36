"""validate reads each file once for all environments, and its shortcuts miss no problem."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asst_deploy import yamlpos
from asst_deploy.errors import Problem
from asst_deploy.spec import schemacheck
from asst_deploy.spec.validate import validate
from asst_deploy.yamlpos import Document

Make = Callable[[dict[str, str]], Path]

PROJECT = """
project: demo
defaults: {model: gpt-4o-mini}
targets:
  dev: {type: sandbox, db: .asst-deploy/dev.db}
  prod: {type: sandbox, db: .asst-deploy/prod.db}
environments:
  dev: {target: dev}
  prod:
    target: prod
    overrides: {assistants: {b: {temperature: 5}}}
"""

FUNCTION = {"name": "lookup", "parameters": {"type": "object", "properties": {}}}


def assistant(key: str) -> str:
    return (
        f"kind: assistant\nkey: {key}\nname: {key.upper()}\ntemperature: 0.5\n"
        "tools:\n  - type: function\n    file: functions/lookup.json\n"
    )


@pytest.fixture
def project(make_project: Make) -> Path:
    return make_project(
        {
            "asst-deploy.yaml": PROJECT,
            "assistants/a.yaml": assistant("a"),
            "assistants/b.yaml": assistant("b"),
            "functions/lookup.json": json.dumps(FUNCTION),
        }
    )


def test_every_file_is_parsed_once_for_all_environments(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: Counter[str] = Counter()  # by path in the project
    original = yamlpos._parse_file

    def counting(path: Path, display: str, problems: list[Problem], *more: Any) -> list[Document]:
        reads[path.resolve().relative_to(project.resolve()).as_posix()] += 1
        return original(path, display, problems, *more)

    monkeypatch.setattr(yamlpos, "_parse_file", counting)
    report = validate(project)
    assert report.environments == [None, "dev", "prod"]
    assert reads, "no file was read"
    spec_reads = {name: n for name, n in reads.items() if name != "asst-deploy.yaml"}
    assert spec_reads == {
        "assistants/a.yaml": 1,
        "assistants/b.yaml": 1,
        "functions/lookup.json": 1,
    }


def test_an_override_refused_in_one_environment_is_still_reported(project: Path) -> None:
    # base and dev validate b's temperature 0.5 (remembered as valid); prod's 5 is not
    report = validate(project)
    messages = [p.message for p in report.problems]
    assert any("temperature" in m and "5" in m for m in messages), messages
    assert len(report.projects) == 2  # base and dev load; prod does not


def test_a_remembered_value_does_not_make_a_bad_document_valid() -> None:
    good: dict[str, Any] = {"kind": "assistant", "key": "a", "model": "m", "temperature": 1}
    assert schemacheck.check(Document("a.yaml", good), "assistant", [])
    for bad in (
        {**good, "temperature": 9},  # a value out of range
        {**good, "colour": "red"},  # an unknown key
        {k: v for k, v in good.items() if k != "key"},  # a missing key
    ):
        problems: list[Problem] = []
        assert not schemacheck.check(Document("a.yaml", bad), "assistant", problems)
        assert problems, bad
