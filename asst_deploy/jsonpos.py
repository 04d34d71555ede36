"""Strict JSON (RFC 8259) with the line and column of every value, for `.json` spec files."""

from __future__ import annotations

import functools
import json
import math
import re
from bisect import bisect_right
from json.decoder import scanstring  # type: ignore[attr-defined]  # the C scanner
from typing import Any

from asst_deploy import yamlpos
from asst_deploy.errors import Location, Problem
from asst_deploy.yamlpos import Document, JsonPath

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_WORDS = (("true", True), ("false", False), ("null", None))
_VALUES = "a value is a string, number, object, array, true, false or null"


class _Invalid(Exception):
    """A syntax error at `offset`; JSON has no way to resynchronise, so parsing stops."""

    def __init__(self, offset: int, message: str, hint: str = "fix the syntax") -> None:
        super().__init__(message)
        self.offset, self.message, self.hint = offset, f"invalid JSON: {message}", hint


class _Parser:
    def __init__(self, text: str, doc: Document, problems: list[Problem]) -> None:
        self.text = text
        self.doc = doc
        self.problems = problems
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        self.escapes = "\\u" in text  # a lone surrogate can only come from an escape

    def loc(self, offset: int) -> Location:
        line = bisect_right(self.line_starts, offset) - 1
        return Location(self.doc.file, line + 1, offset - self.line_starts[line] + 1)

    def skip(self, i: int) -> int:
        match = _WS.match(self.text, i)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def value(self, i: int, path: JsonPath) -> tuple[Any, int]:
        i = self.skip(i)
        self.doc.positions[path] = self.loc(i)
        char = self.text[i : i + 1]
        if char in ("{", "["):
            if len(path) >= yamlpos.MAX_DEPTH:
                too_deep = _Invalid(i, "")
                too_deep.message, too_deep.hint = yamlpos.DEPTH_PROBLEM
                raise too_deep
            return self.object(i, path) if char == "{" else self.array(i, path)
        if char == '"':
            return self.string(i)
        number = _NUMBER.match(self.text, i)
        if number:
            return self.number(i, number), number.end()
        for word, value in _WORDS:
            if self.text.startswith(word, i):
                return value, i + len(word)
        if not char:
            raise _Invalid(i, "unexpected end of file", "the document ends too early")
        raise _Invalid(i, "expected a value", _VALUES + "; JSON has no NaN or Infinity")

    def number(self, i: int, match: re.Match[str]) -> int | float:
        text = match.group(0)
        if match.group(1) is None and match.group(2) is None:
            try:
                return int(text)
            except ValueError:  # more digits than Python converts (4300)
                raise _Invalid(i, f"a number of {len(text)} digits", "shorten it") from None
        value = float(text)
        if not math.isfinite(value):
            raise _Invalid(i, f"'{text[:20]}' is too large for a JSON number", "make it smaller")
        return value

    def string(self, i: int) -> tuple[str, int]:
        try:
            value, end = scanstring(self.text, i + 1, True)
        except json.JSONDecodeError as exc:
            raise _Invalid(exc.pos, exc.msg.lower()) from None
        if self.escapes and yamlpos.SURROGATE.search(value):
            self.problems.append(Problem(self.loc(i), *yamlpos.SURROGATE_PROBLEM))
        return value, end

    def object(self, i: int, path: JsonPath) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        i = self.skip(i + 1)
        if self.text.startswith("}", i):
            return result, i + 1
        while True:
            if not self.text.startswith('"', i):
                raise _Invalid(i, "expected a property name in double quotes")
            start = i
            key, i = self.string(i)
            i = self.skip(i)
            if not self.text.startswith(":", i):
                raise _Invalid(i, "expected ':' after the property name")
            value, i = self.value(i + 1, (*path, key))
            if key in result:
                first = self.doc.key_positions[(*path, key)]
                self.problems.append(
                    Problem(
                        self.loc(start),
                        f"duplicate key '{key}'",
                        f"first defined at line {first.line}; keep only one",
                    )
                )
            else:
                self.doc.key_positions[(*path, key)] = self.loc(start)
                result[key] = value
            i = self.skip(i)
            if self.text.startswith("}", i):
                return result, i + 1
            if not self.text.startswith(",", i):
                raise _Invalid(i, "expected ',' or '}' after a property")
            comma, i = i, self.skip(i + 1)
            if self.text.startswith("}", i):
                raise _Invalid(comma, "trailing comma before '}'", "remove the comma")

    def array(self, i: int, path: JsonPath) -> tuple[list[Any], int]:
        result: list[Any] = []
        i = self.skip(i + 1)
        if self.text.startswith("]", i):
            return result, i + 1
        while True:
            value, i = self.value(i, (*path, len(result)))
            result.append(value)
            i = self.skip(i)
            if self.text.startswith("]", i):
                return result, i + 1
            if not self.text.startswith(",", i):
                raise _Invalid(i, "expected ',' or ']' after an item")
            comma, i = i, self.skip(i + 1)
            if self.text.startswith("]", i):
                raise _Invalid(comma, "trailing comma before ']'", "remove the comma")


class _Unusual(Exception):
    """Something json.loads would accept (or refuse) unlike this module: parse it here."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Unusual  # a duplicate key
    return result


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Unusual
    return value


def _constant(text: str) -> Any:
    raise _Unusual  # NaN, Infinity, -Infinity


def _within_depth(value: Any) -> bool:
    stack = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            current = current.values()
        elif not isinstance(current, list):
            continue
        if depth >= yamlpos.MAX_DEPTH:
            return False
        stack.extend((child, depth + 1) for child in current)
    return True


def _quick(text: str) -> Any:
    """`text` read by the C decoder, or _Unusual when it holds anything the positional
    parser must see to report or refuse: it has the final word on every problem."""
    try:
        data = json.loads(
            text, object_pairs_hook=_pairs, parse_float=_float, parse_constant=_constant
        )
    # a syntax error, an integer of more than 4300 digits, nesting past the C stack's bound
    except (ValueError, RecursionError):
        raise _Unusual from None
    if not _within_depth(data):
        raise _Unusual
    # a lone surrogate can only come from an escape, and stays one in the text dumped back
    if "\\u" in text and yamlpos.SURROGATE.search(json.dumps(data, ensure_ascii=False)):
        raise _Unusual
    return data


def _tables(text: str, file: str) -> yamlpos.Tables:
    """The positions of the valid JSON `text`, parsed again."""
    (doc,) = _parse(text, file, [])
    return doc.positions, doc.key_positions


def parse(text: str, file: str, problems: list[Problem]) -> list[Document]:
    """The one JSON value in `text` as a Document (none when its syntax is invalid). A valid
    file is read by the C decoder; its positions are found when something asks for them."""
    try:
        data = _quick(text)
    except _Unusual:
        return _parse(text, file, problems)
    return [Document(file, data, locate=functools.cache(functools.partial(_tables, text, file)))]


def _parse(text: str, file: str, problems: list[Problem]) -> list[Document]:
    doc = Document(file, None)
    parser = _Parser(text, doc, problems)
    try:
        doc.data, end = parser.value(0, ())
        end = parser.skip(end)
        if end < len(text):
            raise _Invalid(end, "extra text after the JSON value", "a JSON file holds one value")
    except _Invalid as exc:
        problems.append(Problem(parser.loc(exc.offset), exc.message, exc.hint))
        return []
    return [doc]
