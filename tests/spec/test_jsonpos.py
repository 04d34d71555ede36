"""The strict JSON reader: the C decoder's quick read agrees with the positional parser,
which still reads (and reports) everything unusual."""

from __future__ import annotations

import pytest

from asst_deploy import jsonpos
from asst_deploy.errors import Problem

VALID = [
    '{"name": "f", "parameters": {"type": "object", "properties": {}}}',
    '\n  [1, -2.5e3, 0.1, true, false, null, "caf\\u00e9 \\ud83d\\ude00", {"a": [[]]}]  \n',
    '"just a string"',
    "[" * 64 + "]" * 64,  # as deep as allowed
]

UNUSUAL = [
    '{"a": 1, "a": 2}',  # a duplicate key
    "[NaN]",
    "[-Infinity]",
    "[1e400]",
    "[" + "9" * 5000 + "]",
    '["\\ud800"]',  # a lone surrogate
    "[" * 65 + "]" * 65,  # one level too deep
    "[" * 100_000,  # deeper than the C decoder's stack allows
    '{"a": 1,}',
    "{} {}",
    "",
]


@pytest.mark.parametrize("text", VALID)
def test_a_valid_file_reads_as_the_positional_parser_reads_it(text: str) -> None:
    problems: list[Problem] = []
    (quick,) = jsonpos.parse(text, "f.json", problems)
    (slow,) = jsonpos._parse(text, "f.json", [])
    assert problems == []
    assert quick.data == slow.data
    assert (quick.positions, quick.key_positions) == (slow.positions, slow.key_positions)


@pytest.mark.parametrize("text", UNUSUAL)
def test_anything_unusual_is_read_and_reported_by_the_positional_parser(text: str) -> None:
    problems: list[Problem] = []
    docs = jsonpos.parse(text, "f.json", problems)
    expected: list[Problem] = []
    slow = jsonpos._parse(text, "f.json", expected)
    assert problems == expected and problems  # each one is a located problem
    assert [d.data for d in docs] == [d.data for d in slow]
