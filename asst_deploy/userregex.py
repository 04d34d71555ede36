"""Regexes from users (sandbox rules, conversation checks): checked, and matched with a deadline.

Why the `regex` package and not `re` in a worker thread or process: `re` holds the GIL for
the whole match and cannot be interrupted, so a thread would stall the sandbox's event loop
just the same and could never be stopped; a process per match costs milliseconds on every
rule of every run. `regex` takes a `timeout` and gives up inside the match, and speaks
`re`'s syntax (its default VERSION0 mode). Patterns are still parsed by `re` first, so what
is accepted and the syntax errors shown stay those of Python's `re`.
"""

from __future__ import annotations

import re
from functools import lru_cache

# re's parser gives the pattern's tree; stable since 3.11 (sre_parse before), and only
# used to find quantifiers inside quantifiers.
from re import _constants as _sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any, cast

import regex

_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT}
MAXREPEAT = _sre.MAXREPEAT


class PatternError(ValueError):
    """A pattern that does not compile, or one that can take exponential time."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


class MatchTimeout(Exception):
    """Matching took longer than its deadline."""


def check(pattern: str) -> None:
    """Raise PatternError for a pattern `re` refuses or one with a nested quantifier."""
    try:
        tree = _parser.parse(pattern)
    except re.error as exc:
        raise PatternError(
            f"invalid regex {pattern!r}: {exc}",
            "check the pattern; in YAML, single quotes keep its backslashes as written",
        ) from None
    nested = _nested(tree, outer=None)
    if nested:
        raise PatternError(
            f"regex {pattern!r} repeats a group that itself repeats ({nested}): such a pattern "
            "can take exponential time on a line that almost matches",
            "drop the outer repetition, or make the inner one possessive (a++) or atomic ((?>...))",
        )


def _nested(tree: Any, *, outer: int | None) -> str | None:
    """The first variable-length repeat inside another repeat that can backtrack without
    bound: an unbounded one inside any repeat ((a+)+, (\\w+\\s?){3}), or any inside an
    unbounded one ((a{1,2})+). `outer`: the enclosing repeat's maximum, None outside one.
    A bounded one in a bounded one ((\\d{1,3}\\.){3}) costs a constant factor: allowed."""
    for op, av in tree:
        if op in _REPEATS:
            low, high, body = av
            if outer is not None and high != low and MAXREPEAT in (high, outer):
                return "a *, + or {m,n} inside a repeated group"
            found = _nested(body, outer=max(outer or 0, high) if high > 1 else outer)
        elif op is _sre.SUBPATTERN:
            found = _nested(av[-1], outer=outer)
        elif op is _sre.BRANCH:
            found = next((f for b in av[1] if (f := _nested(b, outer=outer))), None)
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            found = _nested(av[1], outer=outer)
        else:  # possessive repeats and atomic groups never backtrack into their body
            found = None
        if found:
            return found
    return None


@lru_cache(maxsize=512)
def compile(pattern: str) -> Any:
    """The checked pattern, compiled for matching with a deadline."""
    check(pattern)
    return regex.compile(pattern)


def search(pattern: str, text: str, *, timeout: float) -> re.Match[str] | None:
    """`re.search`, giving up with MatchTimeout after `timeout` seconds (the match object
    is regex's, which has re.Match's interface)."""
    try:
        found = compile(pattern).search(text, timeout=max(timeout, 0.001))
    except TimeoutError:
        raise MatchTimeout(
            f"matching the regex {pattern!r} took longer than {timeout:g} s"
        ) from None
    return cast("re.Match[str] | None", found)
