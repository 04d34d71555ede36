"""The SDK drift report (.ci/sdk_drift.py): its type walker, and no unreviewed drift today."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Annotated, Literal

import pydantic
import pytest

TOOL = Path(__file__).resolve().parents[2] / ".ci" / "sdk_drift.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sdk_drift", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sdk_drift"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


drift = _load()


# A tiny SDK-like family: a discriminated union, an Optional nested model, an alias,
# a closed enum and an open one (str | Literal: examples, not an enum).
class Text(pydantic.BaseModel):
    type: Literal["text"]
    text: str
    status: Literal["done", "partial"]


class Image(pydantic.BaseModel):
    type: Literal["image"]
    url: str


class Usage(pydantic.BaseModel):
    tokens: int


class Reply(pydantic.BaseModel):
    id: str
    parts: list[Annotated[Text | Image, "discriminator: type"]]
    usage: Usage | None = None
    async_: bool | None = pydantic.Field(default=None, alias="async")
    model: str | Literal["m-1", "m-2"]


def _gaps(*emitted: dict[str, object]) -> set[tuple[str, str]]:
    seen = drift.Coverage()
    for value in emitted:
        seen.observe(Reply, value, "reply")
    return drift.response_gaps([Reply], seen)


def _name(cls: type) -> str:
    return drift.type_name(cls)


def test_nothing_emitted_is_one_gap_per_root() -> None:
    assert _gaps() == {("type", _name(Reply))}


def test_declared_fields_and_literals_are_listed_until_emitted() -> None:
    reply, text = _name(Reply), _name(Text)
    partial = {
        "id": "r1",
        "model": "m-9",
        "parts": [{"type": "text", "text": "hi", "status": "done"}],
    }
    assert _gaps(partial) == {
        ("field", f"{reply}.usage"),  # never present: its type is not entered
        ("field", f"{reply}.async"),  # the JSON name, not the Python one
        ("type", _name(Image)),  # a union member never emitted: one line, not its fields
        ("value", f"{text}.status=partial"),
    }
    full = {
        **partial,
        "async": True,
        "usage": {"tokens": 3},
        "parts": [
            {"type": "text", "text": "a", "status": "partial"},
            {"type": "image", "url": "u"},
        ],
    }
    assert _gaps(partial, full) == set()


def test_a_field_only_ever_null_leaves_its_type_a_gap() -> None:
    reply = {"id": "r", "model": "m-1", "parts": [], "usage": None, "async": None}
    assert ("type", _name(Usage)) in _gaps(reply)
    assert ("field", f"{_name(Reply)}.usage") not in _gaps(reply)


def test_an_object_no_member_matches_is_reported_and_still_walked() -> None:
    seen = drift.Coverage()
    seen.observe(Text | Image, {"type": "video", "text": "t", "status": "done"}, "part")
    assert seen.unmatched == [
        f"part: an object with type='video' is none of {_name(Text)}, {_name(Image)}"
    ]
    assert (Text, "status", "done") in seen.values


def test_baseline_comparison_names_new_and_stale_lines(tmp_path: Path) -> None:
    path = tmp_path / "baseline.txt"
    drift.write_baseline(path, {("type", "A"), ("field", "B.x")}, {("type", "A"): "not served"})
    baseline = drift.read_baseline(path)
    assert baseline == {("type", "A"): "not served", ("field", "B.x"): drift.UNREVIEWED}
    assert drift.compare({("type", "A"), ("value", "C.s=v")}, baseline) == (
        [("value", "C.s=v")],
        [("field", "B.x")],
    )


@pytest.fixture(scope="module")
def report() -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the Assistants API's own
        return drift.collect()


def test_the_corpus_runs_and_every_answer_parses(report: object) -> None:
    assert report.failures == []  # type: ignore[attr-defined]


def test_no_unreviewed_drift_against_the_installed_sdk(report: object) -> None:
    baseline = drift.read_baseline(drift.BASELINE)
    new, stale = drift.compare(report.gaps, baseline)  # type: ignore[attr-defined]
    assert new == [], (
        "new SDK drift (fix the sandbox, or review it into the baseline):\n"
        + "\n".join(f"{kind}\t{key}" for kind, key in new)
    )
    assert stale == [], "baseline lines that are no longer gaps (remove them):\n" + "\n".join(
        f"{kind}\t{key}" for kind, key in stale
    )
