"""The grader's wire format, shared by the harness that asks and the sandbox that answers:
a rubric and the graded turn in tagged sections, a verdict as structured output."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# the json_schema name of a grading request's text.format: how the sandbox knows one
FORMAT_NAME = "asst_deploy_grade"
# bumped when the prompt changes: a cassette's grades were given to the prompt it recorded
PROMPT_VERSION = 1
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pass": {"type": "boolean", "description": "The turn meets the rubric."},
        "score": {"type": "number", "description": "How well it meets it, 0 to 1."},
        "reason": {"type": "string", "description": "Why, in a sentence or two."},
    },
    "required": ["pass", "score", "reason"],
    "additionalProperties": False,
}
INSTRUCTIONS = (
    "You grade one turn of a conversation with an AI assistant against a rubric. Read the "
    "rubric, the user's message, the assistant's tool calls when they are given, and its "
    "reply. Judge the reply (and the tool calls, when given) by the rubric alone. Answer "
    "with JSON: `pass` is true when the turn meets the rubric; `score` is how well it "
    "meets it, from 0 (not at all) to 1 (fully); `reason` says why in one or two "
    "sentences, naming what is missing when it does not pass."
)
SECTIONS = ("rubric", "user", "tool_calls", "reply")
_SECTION = re.compile(r"<(rubric|user|tool_calls|reply)>\n(.*?)\n</\1>(?=\n\n<|\Z)", re.S)


@dataclass(frozen=True)
class Verdict:
    """What a grader said of a turn."""

    passed: bool
    score: float
    reason: str


def text_format() -> dict[str, Any]:
    """The `text.format` of a grading request: the verdict as strict structured output."""
    return {"type": "json_schema", "name": FORMAT_NAME, "schema": VERDICT_SCHEMA, "strict": True}


def grader_input(
    rubric: str, user: str, reply: str, tool_calls: Sequence[Mapping[str, Any]] | None = None
) -> str:
    """The user message of a grading request: the rubric, then the turn (its tool calls
    only when the rubric's expectation asks for them)."""
    parts = [("rubric", rubric), ("user", user)]
    if tool_calls is not None:
        parts.append(("tool_calls", json.dumps(list(tool_calls), indent=1, sort_keys=True)))
    parts.append(("reply", reply))
    return "\n\n".join(f"<{tag}>\n{text}\n</{tag}>" for tag, text in parts)


def sections(text: str) -> dict[str, str]:
    """The tagged sections of a grading request's message (what the sandbox reads)."""
    return {m.group(1): m.group(2) for m in _SECTION.finditer(text)}


def parse_verdict(text: str) -> Verdict:
    """The verdict of a grader's reply; ValueError when it is not one."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the grader's answer is not a JSON object")
    passed, score, reason = data.get("pass"), data.get("score"), data.get("reason")
    if not isinstance(passed, bool):
        raise ValueError("the grader's answer has no boolean `pass`")
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise ValueError("the grader's answer has no numeric `score`")
    return Verdict(passed, min(max(float(score), 0.0), 1.0), str(reason or ""))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine similarity of two vectors (0 when either is all zeros)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
