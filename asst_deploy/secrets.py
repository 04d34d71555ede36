"""Find credentials in recorded traffic (cassettes): auth headers, cookies, API keys."""

from __future__ import annotations

import re
from collections.abc import Iterator

# Header names whose value is a credential or ties a recording to an account, as they
# appear in vcrpy YAML (`Authorization:` then `- value`) or JSON (`"authorization": [...]`).
SENSITIVE_HEADERS: dict[str, str] = {
    "authorization": "an Authorization header",
    "proxy-authorization": "a Proxy-Authorization header",
    "api-key": "an api-key header",
    "x-api-key": "an x-api-key header",
    "openai-organization": "an OpenAI-Organization header",
    "openai-project": "an OpenAI-Project header",
    "cookie": "a Cookie header",
    "set-cookie": "a Set-Cookie header",
}

_HEADER = re.compile(
    r"""^(?P<indent>\s*)(?:-\s+)?["']?(?P<name>[A-Za-z-]+)["']?\s*:\s*(?P<rest>.*)$"""
)
_LIST_ITEM = re.compile(r"^(?P<indent>\s*)-\s*(?P<value>.*)$")
# OpenAI secret keys: sk-..., sk-proj-..., sk-svcacct-..., sk-admin-... One pattern for the
# recorder's scrubber and for scan-cassettes, so whatever the scan flags the scrubber has
# removed. Every pattern here is linear: one quantifier per character class, and classes
# that follow one another do not overlap (no backtracking on hostile lines).
API_KEY = re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{8,}")
BEARER = re.compile(r"\b(?i:bearer)\s+(?P<token>[A-Za-z0-9._~+/=-]{8,})")
# What a scrubber leaves behind: filler around one of these words (or around nothing).
_PLACEHOLDER_WORDS = frozenset(
    [
        "null",
        "none",
        "~",
        "redacted",
        "scrubbed",
        "filtered",
        "removed",
        "hidden",
        "placeholder",
        "dummy",
        "fake",
        "test",
        "sandbox",
        "secret",
        "apikey",
        "api_key",
        "api-key",
        "token",
    ]
)
_FILLER_BEFORE = frozenset(" \t\r\n\"'[]<>{}()$*#x-")
_FILLER_AFTER = frozenset(" \t\r\n\"'[]<>{}()*#,-")
_BEARER_PREFIX = re.compile(r"bearer\s+", re.IGNORECASE)
# a variable written in place of the value: <OPENAI_API_KEY>, ${OPENAI_API_KEY}, {{ key }}
_TEMPLATE = re.compile(r"""^["']?(?:<[^<>]*>|\$\{[^{}]*\}|\{\{[^{}]*\}\})["']?$""")


def mask(key: str) -> str:
    """A key as safe to print: the real service's form for long keys (`sk-proj-***...wxyz`),
    and for short ones at most a quarter of the characters at each end, never the key."""
    front, back = min(8, len(key) // 4), min(4, len(key) // 4)
    return key[:front] + "*" * (len(key) - front - back) + key[len(key) - back :]


def redact(text: str, replacement: str) -> str:
    """`text` with every API key and Bearer token replaced (the recorder's scrubber)."""
    return BEARER.sub(replacement, API_KEY.sub(replacement, text))


def is_placeholder(value: str) -> bool:
    """True for what a scrubber writes instead of a credential (and for nothing at all).

    A scan over the characters rather than one regex: the filler may hold the same
    characters as the words (`***`, `xxx`), which makes a regex backtrack for minutes."""
    value = value.strip().lower()
    if prefix := _BEARER_PREFIX.match(value):
        value = value[prefix.end() :]
    if _TEMPLATE.match(value):
        return True
    start, end = 0, len(value)
    while start < end and value[start] in _FILLER_BEFORE:
        start += 1
    while end > start and value[end - 1] in _FILLER_AFTER:
        end -= 1
    return start == end or value[start:end] in _PLACEHOLDER_WORDS


def find_credentials(text: str) -> list[tuple[int, str]]:
    """Every credential in `text` as (1-based line, what it is), in line order.

    A pure function over the text (no YAML parsing, so a broken cassette is still
    scanned): sensitive headers with a real value (inline, or as the list items vcrpy
    writes on the following lines), OpenAI secret keys (`sk-...`) and Bearer tokens
    anywhere. The credential itself is never part of the result, so it can be printed.
    """
    found: dict[tuple[int, str], None] = {}  # ordered and without duplicates
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        header = _HEADER.match(line)
        if header and header["name"].lower() in SENSITIVE_HEADERS:
            what = SENSITIVE_HEADERS[header["name"].lower()]
            # one finding per header, at its first real value; stopping there also keeps
            # the scan linear (a header line is never a placeholder, so no line is read
            # again for the next header)
            real = next(
                (
                    at
                    for at, value in _header_values(lines, number, header)
                    if not is_placeholder(value)
                ),
                None,
            )
            if real is not None:
                found[(real, what)] = None
        if API_KEY.search(line):
            found[(number, "an OpenAI API key (sk-...)")] = None
        for bearer in BEARER.finditer(line):
            if not is_placeholder(bearer["token"]):
                found[(number, "a Bearer token")] = None
    return sorted(found, key=lambda item: item[0])


def _header_values(
    lines: list[str], number: int, header: re.Match[str]
) -> Iterator[tuple[int, str]]:
    """The value(s) of the header on line `number`: inline (`Cookie: a=b`, `[...]`), or
    the YAML list items (and their folded continuation lines) that follow it."""
    rest = header["rest"].strip()
    if rest and rest not in ("|", ">", "|-", ">-"):
        if rest.startswith("[") and rest.endswith("]"):
            items = [v.strip() for v in rest[1:-1].split(",")]
            yield from [(number, v) for v in items if v] or [(number, "")]
            return
        yield (number, rest)
        return
    indent = len(header["indent"])
    for at in range(number, len(lines)):  # `at` is the 0-based index of the next line
        line = lines[at]
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        item = _LIST_ITEM.match(line)
        if item and depth >= indent:
            yield (at + 1, item["value"])
        elif depth > indent:  # a folded continuation, or a block scalar's text
            yield (at + 1, line.strip())
        else:
            break
