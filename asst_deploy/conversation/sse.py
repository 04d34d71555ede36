"""A lossless server-sent events codec (WHATWG HTML, "event stream interpretation") for cassettes."""

from __future__ import annotations

import contextlib
import json
import re

from asst_deploy.types import Json

# the spec's line ends: CRLF, lone CR, lone LF
_LINE_END = re.compile(r"\r\n|\r|\n")


def parse(text: str) -> list[dict[str, Json]]:
    """The stream's blocks, each a dict of what its lines said: `event`, `data` (its lines
    joined by \\n, as the spec assembles them), `id`, `retry` and `comments` (lines that
    start with a colon), each present only when the block had it. Unknown fields are
    dropped, as a client drops them."""
    blocks: list[dict[str, Json]] = []
    block: dict[str, Json] = {}
    data: list[str] | None = None
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":  # the text's final line end
        lines.pop()
    for line in [*lines, ""]:
        if line == "":
            if data is not None:
                block["data"] = "\n".join(data)
            if block:
                blocks.append(block)
            block, data = {}, None
            continue
        name, colon, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if not colon:  # a line with no colon is a field with an empty value
            name, value = line, ""
        if name == "":
            block.setdefault("comments", []).append(value)
        elif name == "data":
            data = [*(data or []), value]
        elif name in ("event", "id", "retry"):
            block[name] = value
    return blocks


def encode(blocks: list[dict[str, Json]]) -> str:
    """The text `parse` reads back as `blocks`: each data line its own `data:` field."""
    out = []
    for block in blocks:
        lines = [f": {c}" if c else ":" for c in block.get("comments", ())]
        lines += [f"{name}: {block[name]}" for name in ("event", "id", "retry") if name in block]
        if "data" in block:
            lines += [f"data: {part}" for part in _LINE_END.split(str(block["data"]))]
        out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def readable(blocks: list[dict[str, Json]]) -> list[dict[str, Json]]:
    """Blocks with JSON object/array data as YAML-able trees (other data stays a string)."""
    result = []
    for block in blocks:
        data = block.get("data")
        if isinstance(data, str) and data.lstrip()[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                block = {**block, "data": json.loads(data)}
        result.append(block)
    return result


def raw(blocks: list[dict[str, Json]]) -> list[dict[str, Json]]:
    """The inverse of `readable`: trees back to JSON text on one line."""
    return [
        {**b, "data": json.dumps(b["data"])}
        if "data" in b and not isinstance(b["data"], str)
        else b
        for b in blocks
    ]
