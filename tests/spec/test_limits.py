"""Reading limits shared by every YAML reader: alias bombs, nesting, non-finite numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from asst_deploy import yamlpos
from asst_deploy.errors import Location, Problem, SpecError
from asst_deploy.replay.cassette import ReadableSerializer
from asst_deploy.replay.scripts import load_script
from asst_deploy.sandbox.model import RuleError, ScriptedModel
from asst_deploy.yamlpos import LimitError, load_plain, parse


def bomb(levels: int = 9, width: int = 9) -> str:
    """The classic "billion laughs": each anchor repeats the previous one `width` times."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def problems_of(text: str) -> list[str]:
    problems: list[Problem] = []
    parse(text, "a.yaml", problems)
    return [str(p) for p in problems]


def test_an_alias_bomb_is_refused_once_at_the_anchor_over_the_limit() -> None:
    assert problems_of(bomb()) == [
        f"a.yaml:5:5: YAML aliases expand to more than {yamlpos.MAX_ALIAS_EXPANSION} values "
        "(write the values out, or use fewer aliases of this anchor)"
    ]


def test_modest_aliases_still_expand() -> None:
    problems: list[Problem] = []
    (doc,) = parse("base: &b {model: m, tags: [x, y]}\ncopy: *b\n", "a.yaml", problems)
    assert problems == []
    assert doc.data["copy"] == {"model": "m", "tags": ["x", "y"]}
    assert doc.data["copy"] is not doc.data["base"]  # built apart: positions differ per path


def test_nesting_deeper_than_the_limit_is_refused_where_it_starts() -> None:
    depth = yamlpos.MAX_DEPTH + 1
    text = "x: " + "[" * depth + "]" * depth + "\n"
    assert problems_of(text) == [
        f"a.yaml:1:{3 + depth}: values are nested more than {yamlpos.MAX_DEPTH} levels deep "
        "(flatten the structure)"
    ]
    ok = yamlpos.MAX_DEPTH - 1
    assert problems_of("x: " + "[" * ok + "]" * ok + "\n") == []


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN"])
def test_non_finite_numbers_are_refused(value: str) -> None:
    assert problems_of(f"temperature: {value}\n") == [
        f"a.yaml:1:14: '{value}' is not a finite number "
        "(the API takes JSON numbers: NaN and infinity are not allowed)"
    ]


def test_numbers_python_cannot_convert_are_a_located_problem() -> None:
    assert problems_of("top_p: " + "9" * 5000 + "\nday: 2026-13-01\n") == [
        "a.yaml:1:8: invalid value: a number of more than 4300 digits (quote it, or shorten it)",
        "a.yaml:2:6: invalid value: month must be in 1..12 (quote it, or shorten it)",
    ]


def test_the_plain_loader_keeps_the_same_limits() -> None:
    with pytest.raises(LimitError) as info:
        load_plain(bomb())
    assert info.value.problem_mark is not None
    assert (info.value.problem_mark.line + 1, info.value.problem_mark.column + 1) == (5, 5)
    with pytest.raises(LimitError, match="refers to itself"):
        load_plain("a: &a [1, *a]\n")
    with pytest.raises(LimitError, match="nested more than"):
        load_plain("[" * 200 + "]" * 200)
    assert load_plain("a: &a [1, 2]\nb: *a\n") == {"a": [1, 2], "b": [1, 2]}
    assert load_plain("") is None


def test_the_plain_loaders_limits_hold_across_values_it_leaves_to_safe_load() -> None:
    # each mapping with a merge key is built by PyYAML's constructor, each under the limit
    # on its own: together their aliases still count against one document's limit
    aliases = ", ".join(["*a"] * 40)
    items = "\n".join(f"  - {{<<: {{}}, v: [{aliases}]}}" for _ in range(30))
    text = f"base: &a [{', '.join(['x'] * 100)}]\nitems:\n{items}\n"
    with pytest.raises(LimitError, match="aliases expand to more than"):
        load_plain(text)
    nested = "k: " + "{<<: {}, k: " * 70 + "1" + "}" * 70
    with pytest.raises(LimitError, match="nested more than"):
        load_plain("[" * 100 + nested + "]" * 100)


def test_a_cassette_bomb_fails_fast(tmp_path: Path) -> None:
    text = "interactions: []\nversion: 1\nbomb:\n" + "".join(
        "  " + line + "\n" for line in bomb().splitlines()
    )
    with pytest.raises(LimitError, match="aliases expand"):
        ReadableSerializer.deserialize(text)


def test_a_conversation_script_bomb_is_a_located_spec_error(tmp_path: Path) -> None:
    path = tmp_path / "a.conv.yaml"
    path.write_text(bomb(), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_script(path, "a.conv.yaml")
    assert [p.location for p in info.value.problems] == [Location("a.conv.yaml", 5, 5)]


def test_a_sandbox_rules_bomb_is_a_rule_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(bomb(), encoding="utf-8")
    with pytest.raises(RuleError, match="aliases expand"):
        ScriptedModel.from_file(path)
