"""Find credentials in recorded traffic (cassettes): auth headers, cookies, API keys."""

from __future__ import annotations

import re

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
# OpenAI secret keys: sk-..., sk-proj-..., sk-svcacct-..., sk-admin-...
_API_KEY = re.compile(r"(?<![A-Za-z0-9_-])sk-(?:[A-Za-z]+-)?[A-Za-z0-9_-]{20,}")
_BEARER = re.compile(r"\bBearer\s+(?P<token>[A-Za-z0-9._~+/=-]{12,})")
# Values a scrubber leaves behind: empty, null, REDACTED, <...>, ***, the sandbox's key.
_PLACEHOLDER = re.compile(
    r"""^(?:bearer\s+)?[\s"'\[\]<>{}()$*#x-]*"""
    r"(?:|null|none|~|redacted|scrubbed|filtered|removed|hidden|placeholder|dummy|fake|"
    r"test|sandbox|secret|api[_-]?key|token|x+|\*+)"
    r"""[\s"'\[\]<>{}()*#,-]*$""",
    re.IGNORECASE,
)
# a variable written in place of the value: <OPENAI_API_KEY>, ${OPENAI_API_KEY}, {{ key }}
_TEMPLATE = re.compile(
    r"""^(?:bearer\s+)?["']?(?:<[^<>]*>|\$\{[^{}]*\}|\{\{[^{}]*\}\})["']?$""", re.I
)


def is_placeholder(value: str) -> bool:
    """True for what a scrubber writes instead of a credential (and for nothing at all)."""
    value = value.strip()
    return bool(_PLACEHOLDER.match(value) or _TEMPLATE.match(value))


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
            real = [
                at
                for at, value in _header_values(lines, number, header)
                if not is_placeholder(value)
            ]
            if real:  # one finding per header, at its first real value
                found[(real[0], what)] = None
        if _API_KEY.search(line):
            found[(number, "an OpenAI API key (sk-...)")] = None
        for bearer in _BEARER.finditer(line):
            if not is_placeholder(bearer["token"]):
                found[(number, "a Bearer token")] = None
    return sorted(found, key=lambda item: item[0])


def _header_values(lines: list[str], number: int, header: re.Match[str]) -> list[tuple[int, str]]:
    """The value(s) of the header on line `number`: inline (`Cookie: a=b`, `[...]`), or
    the YAML list items (and their folded continuation lines) that follow it."""
    rest = header["rest"].strip()
    if rest and rest not in ("|", ">", "|-", ">-"):
        if rest.startswith("[") and rest.endswith("]"):
            items = [v.strip() for v in rest[1:-1].split(",")]
            return [(number, v) for v in items if v] or [(number, "")]
        return [(number, rest)]
    indent = len(header["indent"])
    values: list[tuple[int, str]] = []
    for at in range(number, len(lines)):  # `at` is the 0-based index of the next line
        line = lines[at]
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        item = _LIST_ITEM.match(line)
        if item and depth >= indent:
            values.append((at + 1, item["value"]))
        elif depth > indent:  # a folded continuation, or a block scalar's text
            values.append((at + 1, line.strip()))
        else:
            break
    return values
