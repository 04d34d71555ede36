"""Build the plan comment: the hidden marker, the plan's Markdown cut to fit, a footer.

A pull-request comment holds at most 65536 characters. A long plan is cut at a line
boundary (never inside a UTF-8 character), and a cut inside a code fence or a
<details> block closes them again, so the rest of the comment still renders.
Usage: python comment_body.py MARKER PLAN_MD FOOTER > BODY (stdlib only).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# below GitHub's 65536 characters, with room for the marker and the footer
LIMIT = 60000
TOO_LONG = "_The plan is too long for a comment: the whole plan is in the job summary._"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _fence_closes(line: str, opening: str) -> bool:
    match = _FENCE.match(line)
    return bool(
        match
        and match.group(1)[0] == opening[0]
        and len(match.group(1)) >= len(opening)
        and not line[match.end() :].strip()
    )


def _after(line: str, fence: str | None, details: int) -> tuple[str | None, int]:
    """The open fence and <details> depth once `line` is read."""
    if fence is not None:
        return (None if _fence_closes(line, fence) else fence), details
    match = _FENCE.match(line)
    if match:
        return match.group(1), details
    if line.strip().startswith("<details"):
        return None, details + 1
    if line.strip().startswith("</details>") and details:
        return None, details - 1
    return None, details


def _closing(fence: str | None, details: int) -> list[str]:
    return ([fence] if fence else []) + ["</details>"] * details


def cut(markdown: str, limit: int = LIMIT) -> str:
    """`markdown` whole when it fits in `limit` characters, else its first lines with
    open fences and <details> closed and a note that the rest is in the job summary."""
    if len(markdown) <= limit:
        return markdown
    kept: list[str] = []
    size = 0  # characters in kept, newlines included
    fence: str | None = None
    details = 0
    for line in markdown.splitlines():
        next_fence, next_details = _after(line, fence, details)
        closing = sum(len(c) + 1 for c in _closing(next_fence, next_details))
        if size + len(line) + 1 + closing + len(TOO_LONG) + 2 > limit:
            break
        kept.append(line)
        size += len(line) + 1
        fence, details = next_fence, next_details
    return "\n".join([*kept, *_closing(fence, details), "", TOO_LONG]) + "\n"


def body(marker: str, markdown: str, footer: str = "") -> str:
    """The marker line, the plan (cut to fit) and the footer, which are never cut."""
    footer = footer.strip()
    room = LIMIT - len(marker) - len(footer) - 4
    text = f"{marker}\n{cut(markdown, room).rstrip()}\n"
    return f"{text}\n{footer}\n" if footer else text


if __name__ == "__main__":
    marker, plan_md, *footer = sys.argv[1:]
    # errors="replace": a plan file is UTF-8, but a stray byte must not lose the comment
    text = Path(plan_md).read_text(encoding="utf-8", errors="replace")
    sys.stdout.write(body(marker, text, "".join(footer)))
