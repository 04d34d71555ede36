"""The spec schema compiled to plain checks answers as jsonschema's validator does."""

from __future__ import annotations

import copy
import datetime
import functools
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from asst_deploy.spec import documents, fastcheck, schemacheck

REPO = Path(__file__).resolve().parents[2]
DEFS: dict[str, Any] = schemacheck._root()["$defs"]
KINDS = sorted(DEFS)

# values a mutation puts anywhere: each JSON type, the edges the schema draws, YAML's extras
ODD: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    3,
    99,
    100,
    4096,
    4097,
    0.5,
    2.5,
    1.0,
    -0.0,
    math.nan,
    math.inf,
    10**30,
    "",
    "x",
    "a" * 64,
    "a" * 65,
    "a" * 257,
    "a" * 513,
    "Upper",
    "file_search",
    "code_interpreter",
    "function",
    "json_schema",
    "auto",
    "static",
    "assistant",
    "vector_store",
    "sandbox",
    "openai",
    "base",
    [],
    ["x"],
    ["x", "x"],
    [1, True],
    [[]],
    {},
    {"type": "function"},
    {"type": "file_search"},
    {"file": "x.md"},
    {"from_env": "API_TOKEN"},
    {"file": ""},
    {"x": 1},
    {1: "x"},
    {"a" * 65: "x"},
    {f"k{i}": "v" for i in range(17)},
    datetime.date(2024, 1, 1),
    b"bytes",
]


@functools.cache
def corpus() -> tuple[Any, ...]:
    """Every YAML document in the example project and the invalid-spec cases, and every
    value inside them (a tool, a metadata mapping, a key)."""
    found: dict[str, Any] = {}
    for path in sorted([*REPO.glob("specs/**/*.yaml"), *REPO.glob("tests/spec/invalid/**/*.yaml")]):
        try:
            # libyaml's loader: the same documents as safe_load_all, many times faster
            loaded = yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader)
            docs = [d for d in loaded if d is not None]
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        for doc in docs:
            for where in nodes(doc):
                value = doc
                for part in where:
                    value = value[part]
                found.setdefault(repr(value), value)
    return tuple(found.values())


def nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            found += nodes(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += nodes(v, (*path, i))
    return found


def mutate(value: Any, rng: random.Random) -> Any:
    """`value` with one node replaced, removed, or given an extra key or item."""
    value = copy.deepcopy(value)
    path = rng.choice(nodes(value))
    if not path:
        return copy.deepcopy(rng.choice(ODD))
    parent = value
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    move = rng.random()
    if move < 0.6:
        parent[last] = copy.deepcopy(rng.choice(ODD))
    elif move < 0.8:
        del parent[last]
    elif isinstance(parent, dict):
        parent[rng.choice(["extra", "name", "type", "file", "tools"])] = copy.deepcopy(
            rng.choice(ODD)
        )
    else:
        parent.append(copy.deepcopy(rng.choice(ODD)))
    return value


def test_every_kind_of_the_spec_schema_compiles() -> None:
    assert documents.names()  # the registry has handed over the whole schema
    assert [k for k in KINDS if schemacheck._fast(k) is None] == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_compiled_checks_answer_as_jsonschema(kind: str) -> None:
    check = schemacheck._fast(kind)
    assert check is not None
    full = Draft202012Validator({"$defs": DEFS, "$ref": f"#/$defs/{kind}"})
    rng = random.Random(f"fastcheck {kind}")
    seeds = [*corpus(), *ODD]
    relevant = [v for v in seeds if full.is_valid(v)]  # half the runs mutate a valid value
    judged = valid = 0
    for n in range(1500):
        value = rng.choice(relevant if relevant and rng.random() < 0.5 else seeds)
        for _ in range(rng.randint(0, 3)):
            value = mutate(value, rng)
        try:
            answer = check(value)
        except Exception:  # unsure (or an error jsonschema raises too): jsonschema decides
            continue
        try:
            expected = full.is_valid(value)
        except Exception:
            continue
        assert answer == expected, (kind, n, value)
        judged += 1
        valid += answer
    assert judged > 1000 and valid < judged, (judged, valid)
    assert valid or not relevant, "no valid value was judged"


@pytest.mark.parametrize(
    ("sch", "value"),
    [
        ({"const": 1}, True),  # True is not 1
        ({"enum": [1, 2]}, 1.0),
        ({"type": "integer"}, 1.0),  # an integral float is an integer (draft 6 on)
        ({"type": "number"}, True),
        ({"minimum": 0}, "text"),  # bounds apply to numbers only
        ({"maximum": 1}, math.nan),
        ({"maxLength": 2}, ["a", "b", "c"]),
        ({"uniqueItems": True}, ["a", "a"]),
        ({"uniqueItems": True}, [1, True]),
        ({"oneOf": [{"type": "string"}, {"maxLength": 3}]}, "ab"),
        ({"not": {"type": "string"}}, 3),
        ({"if": {"type": "string"}, "then": {"maxLength": 1}, "else": {"minimum": 5}}, 4),
        ({"propertyNames": {"maxLength": 1}}, {1: "x", "ab": "y"}),
        ({"additionalProperties": {"type": "string"}, "properties": {"a": {}}}, {"a": 1}),
    ],
)
def test_edges_of_the_keywords(sch: dict[str, Any], value: Any) -> None:
    check = fastcheck.compile_schema(sch, {})
    assert check is not None
    try:
        answer = check(value)
    except fastcheck.Unsure:
        return
    assert answer == Draft202012Validator(sch).is_valid(value)


@pytest.mark.parametrize(
    "sch",
    [
        {"patternProperties": {"^x": {}}},
        {"prefixItems": [{}], "items": {}},
        {"$ref": "other.json#/x"},
        {"$id": "x"},
        {"multipleOf": 2},
        {"unevaluatedProperties": False},
        {"x-unknown": 1},
    ],
)
def test_a_keyword_not_compiled_leaves_the_check_to_jsonschema(sch: dict[str, Any]) -> None:
    assert fastcheck.compile_schema(sch, {}) is None


_TAGGED = {
    "type": "object",
    "properties": {"type": {"type": "string"}, "n": {}},
    "allOf": [
        {
            "if": {"type": "object", "properties": {"type": {"const": "a"}}},
            "then": {"required": ["n"], "properties": {"n": {"type": "integer"}}},
        },
        {
            "if": {"type": "object", "properties": {"type": {"const": "b"}}},
            "then": {"properties": {"n": {"type": "string"}}},
        },
        {
            "if": {"type": "object", "properties": {"type": {"const": "a"}}},
            "then": {"properties": {"n": {"maximum": 3}}},
        },
    ],
}


@pytest.mark.parametrize(
    "value",
    [
        {"type": "a", "n": 1},
        {"type": "a", "n": 5},  # the second branch of tag a
        {"type": "a"},
        {"type": "b", "n": "x"},
        {"type": "b", "n": 1},
        {"type": "c", "n": 1.5},  # no branch of its tag
        {"n": 1},  # no tag: every `if` holds, so every `then` applies
        {"n": "x"},
        {},
        {"type": 1, "n": 1.5},  # a tag that equals no string
        {"type": True},
        {"type": None, "n": "x"},
        "a",  # not a mapping: no `if` holds
        [],
    ],
)
def test_a_union_tagged_by_type_checks_the_branches_of_its_tag(value: Any) -> None:
    check = fastcheck.compile_schema(_TAGGED, {})
    assert check is not None
    assert check(value) == Draft202012Validator(_TAGGED).is_valid(value)
