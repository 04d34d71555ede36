"""The position-keeping YAML reader: values, key positions, duplicate keys, merge keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from asst_deploy import yamlpos
from asst_deploy.errors import Location, Problem
from asst_deploy.reader import parse_file
from asst_deploy.yamlpos import parse

TEXT = """\
kind: assistant
key: a
tools:
  - type: function
    function: {name: f}
metadata:
  team: search
"""


def parse_one(text: str) -> tuple[object, list[Problem]]:
    problems: list[Problem] = []
    docs = parse(text, "a.yaml", problems)
    assert len(docs) == 1
    return docs[0], problems


def test_values_and_keys_have_one_based_line_and_column() -> None:
    problems: list[Problem] = []
    (doc,) = parse(TEXT, "a.yaml", problems)
    assert problems == []
    assert doc.data["tools"][0]["function"]["name"] == "f"
    assert doc.where(("key",)) == Location("a.yaml", 2, 6)
    assert doc.where(("key",), key=True) == Location("a.yaml", 2, 1)
    assert doc.where(("tools", 0)) == Location("a.yaml", 4, 5)
    assert doc.where(("tools", 0, "function", "name")) == Location("a.yaml", 5, 22)
    assert doc.where(("metadata", "team"), key=True) == Location("a.yaml", 7, 3)


def test_where_falls_back_to_the_nearest_ancestor() -> None:
    (doc,) = parse(TEXT, "a.yaml", [])
    assert doc.where(("metadata", "missing", "deeper")) == Location("a.yaml", 7, 3)
    assert doc.where(("nowhere",)) == Location("a.yaml", 1, 1)


def test_every_document_of_a_file_is_read_with_its_own_lines_and_empty_ones_skipped() -> None:
    problems: list[Problem] = []
    docs = parse("key: a\n---\n# nothing here\n---\nkey: b\n---\n", "a.yaml", problems)
    assert [d.data for d in docs] == [{"key": "a"}, {"key": "b"}]
    assert docs[1].where(("key",)) == Location("a.yaml", 5, 6)
    assert problems == []


def test_a_valid_document_finds_its_positions_by_reading_its_text_again_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[str] = []
    real = yamlpos._locate

    def counting(text: str, file: str, escapes: bool) -> list[yamlpos.Tables]:
        reads.append(file)
        return real(text, file, escapes)

    monkeypatch.setattr(yamlpos, "_locate", counting)
    first, second = parse(TEXT + "---\n" + TEXT, "a.yaml", [])
    assert second.where(("metadata",), key=True) == Location("a.yaml", 14, 1)
    assert reads == []  # reading records the top-level positions only
    assert second.where(("tools", 0, "function", "name")) == Location("a.yaml", 13, 22)
    twin = second.copy(second.data)
    assert twin.where(("metadata", "team"), key=True) == Location("a.yaml", 15, 3)
    assert first.where(("tools", 0, "function", "name")) == Location("a.yaml", 5, 22)
    assert reads == ["a.yaml"]  # once for the file's documents and their copies


def test_a_grafted_value_keeps_the_positions_of_the_document_it_came_from() -> None:
    (base,) = parse(TEXT, "base.yaml", [])
    (over,) = parse("overrides:\n  tools:\n    - type: file_search\n", "env.yaml", [])
    base.graft(("tools",), over, ("overrides", "tools"))
    assert base.where(("tools", 0, "type")) == Location("env.yaml", 3, 13)
    assert base.where(("tools", 0, "function")) == Location("env.yaml", 3, 7)  # old one gone
    assert base.where(("tools",)) == Location("env.yaml", 3, 5)  # before reading again
    assert base.where(("metadata", "team")) == Location("base.yaml", 7, 9)
    assert base.where(("tools",)) == Location("env.yaml", 3, 5)  # and after


def test_duplicate_keys_are_reported_with_the_first_line_and_the_first_value_kept() -> None:
    problems: list[Problem] = []
    (doc,) = parse("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "x.yaml", problems)
    assert doc.data == {"a": 1, "b": {"c": 1}}
    assert [str(p) for p in problems] == [
        "x.yaml:4:3: duplicate key 'c' (first defined at line 3; keep only one)",
        "x.yaml:5:1: duplicate key 'a' (first defined at line 1; keep only one)",
    ]


def test_merge_keys_are_refused() -> None:
    problems: list[Problem] = []
    (doc,) = parse("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n", "x.yaml", problems)
    assert doc.data["other"] == {"y": 2}
    assert [str(p) for p in problems] == [
        "x.yaml:3:3: YAML merge keys (<<) are not supported "
        "(write the fields out, or use environments and defaults)"
    ]


def test_aliases_are_expanded_and_a_self_referencing_alias_is_a_problem() -> None:
    problems: list[Problem] = []
    (doc,) = parse("a: &x [1, 2]\nb: *x\n", "x.yaml", problems)
    assert doc.data == {"a": [1, 2], "b": [1, 2]}
    assert problems == []
    parse("a: &x [*x]\n", "x.yaml", problems)
    assert [p.message for p in problems] == ["a YAML alias refers to itself"]


def test_syntax_errors_carry_the_position_of_the_problem() -> None:
    problems: list[Problem] = []
    assert parse("a: [1, 2\nb: 3\n", "x.yaml", problems) == []
    (problem,) = problems
    assert problem.message.startswith("invalid YAML: ")
    assert (problem.location.line, problem.location.column) == (2, 2)


def test_scalars_keep_their_yaml_types_except_dates() -> None:
    (doc,) = parse("i: 1\nf: 0.5\nb: true\nn: null\nd: 2024-01-02\ns: '1'\n", "x.yaml", [])
    assert doc.data == {"i": 1, "f": 0.5, "b": True, "n": None, "d": "2024-01-02", "s": "1"}


def test_unknown_tags_are_refused_safely() -> None:
    problems: list[Problem] = []
    parse("a: !!python/object:os.system ls\n", "x.yaml", problems)
    assert problems and "invalid YAML" in problems[0].message


def test_parse_file_reports_unreadable_files(tmp_path: Path) -> None:
    problems: list[Problem] = []
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert parse_file(tmp_path / "latin1.yaml", "latin1.yaml", problems) == []
    assert parse_file(tmp_path / "missing.yaml", "missing.yaml", problems) == []
    assert [str(p) for p in problems] == [
        "latin1.yaml: not a UTF-8 text file (save it as UTF-8)",
        "missing.yaml: cannot read: No such file or directory",
    ]


PLAIN = """\
a: &x {b: [1, 2.5, true, null, '3', 2026-12-02, ~, 0x1f, .inf]}
c: *x
d: !!set {p, q}
e: {<<: *x, f: g}
o: !!omap [{k: 1}, {l: 2}]
s: !!str 12
"""


def test_load_plain_reads_as_yaml_safe_load_does() -> None:
    plain = yamlpos.load_plain(PLAIN)
    assert plain == yaml.safe_load(PLAIN)
    assert plain["c"] is plain["a"]  # an alias is the same value, as safe_load makes it
    with pytest.raises(yaml.YAMLError, match="unhashable"):
        yamlpos.load_plain("? [a]\n: 1\n")


def test_shared_reads_are_each_threads_own() -> None:
    # an app server loading projects in threads: one thread's block neither serves nor
    # clears another's (with a module-wide cache the worker saw the main thread's memo)
    import threading

    from asst_deploy.yamlpos import shared_memo, shared_reads

    seen: dict[str, object] = {}

    def worker() -> None:
        seen["outside"] = shared_memo("texts")
        with shared_reads():
            memo = shared_memo("texts")
            assert memo is not None
            seen["inside"] = dict(memo)

    with shared_reads():
        mine = shared_memo("texts")
        assert mine is not None
        mine["key"] = "main thread's"
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=10)
        assert shared_memo("texts") == {"key": "main thread's"}
    assert seen == {"outside": None, "inside": {}}
    assert shared_memo("texts") is None  # the block is closed
