"""Canonical forms: server defaults filled in, so a spec and its live object compare equal."""

from __future__ import annotations

from asst_deploy import identity
from asst_deploy.kinds import assistant as assistant_kind
from asst_deploy.kinds import vector_store as store_kind

BASE = dict(
    name="Bot",
    description=None,
    model="gpt-4o",
    instructions="Hi",
    code_interpreter_files=[],
    vector_stores=[],
    metadata={},
    reasoning_effort=None,
)


def form(**fields: object) -> dict:
    args = {**BASE, "tools_": [], "temperature": None, "top_p": None, "response_format_": None}
    return assistant_kind.form(**{**args, **fields})  # type: ignore[arg-type]


def test_sampling_defaults_are_one_and_response_format_auto() -> None:
    spec = form()
    live = form(temperature=1, top_p=1.0, response_format_="auto")
    assert spec == live
    assert (spec["temperature"], spec["top_p"], spec["response_format"]) == (1.0, 1.0, "auto")
    assert form(temperature=0.5) != spec


def test_file_search_defaults_are_dropped() -> None:
    spec = assistant_kind.tool({"type": "file_search"})
    live = assistant_kind.tool(
        {
            "type": "file_search",
            "file_search": {
                "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": 0.0}
            },
        }
    )
    assert spec == live == {"type": "file_search"}
    tuned = assistant_kind.tool(
        {"type": "file_search", "max_num_results": 5, "ranking_options": {"score_threshold": 0.3}}
    )
    assert tuned == {
        "type": "file_search",
        "file_search": {"max_num_results": 5, "ranking_options": {"score_threshold": 0.3}},
    }


def test_function_tools_flat_and_nested_agree_and_strict_defaults_false() -> None:
    spec = assistant_kind.tool(
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    )
    live = assistant_kind.tool(
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "",
                "parameters": {"type": "object"},
                "strict": None,
            },
        }
    )
    assert (
        spec
        == live
        == {
            "type": "function",
            "function": {"name": "f", "parameters": {"type": "object"}, "strict": False},
        }
    )


def test_tool_order_does_not_matter() -> None:
    a = [
        {"type": "function", "function": {"name": "b"}},
        {"type": "code_interpreter"},
        {"type": "function", "function": {"name": "a"}},
    ]
    assert assistant_kind.tools(a) == assistant_kind.tools(list(reversed(a)))
    assert [t["type"] + t.get("function", {}).get("name", "") for t in assistant_kind.tools(a)] == [
        "code_interpreter",
        "functiona",
        "functionb",
    ]


def test_json_schema_strict_defaults_false() -> None:
    assert assistant_kind.response_format(
        {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    ) == {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {}, "strict": False},
    }


def test_reserved_metadata_is_not_part_of_the_form() -> None:
    stamped = form(metadata={"team": "a", **identity.stamp("p", "k", {})})
    assert stamped["metadata"] == {"team": "a"}


def test_auto_chunking_is_reported_as_static_800_400() -> None:
    files = [("k/a.md#" + "1" * 16, {})]
    auto = store_kind.form(
        name="kb", files=files, chunking_strategy={"type": "auto"}, expires_after=None, metadata={}
    )
    live = store_kind.form(
        name="kb",
        files=files,
        chunking_strategy=store_kind.AUTO_CHUNKING,
        expires_after=None,
        metadata={},
    )
    assert auto == live
    empty = store_kind.form(
        name="kb", files=[], chunking_strategy={"type": "auto"}, expires_after=None, metadata={}
    )
    assert empty["chunking_strategy"] is None  # not observable without files


def test_numbers_hash_by_value() -> None:
    spec = store_kind.form(
        name="kb",
        files=[("f#1", {"v": 2})],
        chunking_strategy=None,
        expires_after=None,
        metadata={},
    )
    live = store_kind.form(
        name="kb",
        files=[("f#1", {"v": 2.0})],
        chunking_strategy=None,
        expires_after=None,
        metadata={},
    )
    assert spec == live
    assert identity.canonical_hash(spec) == identity.canonical_hash(live)
    assert identity.canonical_hash({"t": 1}) != identity.canonical_hash({"t": 1.5})
