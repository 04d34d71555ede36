"""What happened in a conversation: per turn the run, its messages, tool calls and usage."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from asst_deploy.types import Json

_EXCERPT = 600  # characters of a reply shown in a failure message


@dataclass
class ToolCall:
    """A tool call of a run step; `arguments` parsed when they are JSON, `output` as sent."""

    id: str
    type: str  # function | code_interpreter | file_search
    name: str  # the function's name, or the tool type
    arguments: Json = None
    raw_arguments: str = ""
    output: str | None = None
    input: str | None = None  # code_interpreter
    logs: str | None = None  # code_interpreter


@dataclass
class Citation:
    file_id: str
    filename: str
    path: str  # the project path the file was uploaded from, or the filename
    quote: str = ""


@dataclass
class TurnResult:
    index: int
    user: str
    run_id: str = ""
    status: str = ""
    error: str | None = None
    reply: str = ""
    messages: list[dict[str, Json]] = field(default_factory=list)
    steps: list[dict[str, Json]] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    # prompt_tokens, completion_tokens, total_tokens, and cached_tokens when some were
    usage: dict[str, int] = field(default_factory=dict)
    model: str = ""  # the model that ran the turn, when the API says which
    latency: float = 0.0
    rounds: int = 0  # requires_action rounds answered
    # a session's spending limit and what it had consumed, in USD cents, where one is set
    spend: dict[str, int] = field(default_factory=dict)

    def function_calls(self) -> list[ToolCall]:
        return [c for c in self.tool_calls if c.type == "function"]

    def render(self) -> str:
        """A few lines a person reads in a failure message."""
        lines = [f"  user: {_indented(self.user)}"]
        for call in self.tool_calls:
            if call.type == "function":
                args = (
                    json.dumps(call.arguments) if call.arguments is not None else call.raw_arguments
                )
                lines.append(f"  tool: {call.name}({args}) -> {call.output}")
            elif call.type == "code_interpreter":
                lines.append(f"  tool: code_interpreter input={call.input!r} logs={call.logs!r}")
            else:
                lines.append(f"  tool: {call.type}")
        reply = self.reply if len(self.reply) <= _EXCERPT else self.reply[:_EXCERPT] + " [...]"
        lines.append(f"  assistant: {_indented(reply.rstrip())}")
        for citation in self.citations:
            lines.append(f"  citation: {citation.path}")
        usage = ", ".join(f"{k} {v}" for k, v in self.usage.items())
        lines.append(
            f"  run: {self.status}"
            + (f" ({self.error})" if self.error else "")
            + (f"; usage: {usage}" if usage else "")
            + (f"; spend: {_spend(self.spend)}" if self.spend else "")
            + f"; {self.latency:.2f} s"
        )
        return "\n".join(lines)


def _spend(spend: dict[str, int]) -> str:
    consumed = spend.get("consumed")
    used = "?" if consumed is None else f"{consumed}"
    return f"{used} of {spend.get('limit', '?')} cents"


def _indented(text: str) -> str:
    """Continuation lines of a multi-line message, indented under their label."""
    return text.replace("\n", "\n    ")


@dataclass
class Transcript:
    conversation: str
    thread_id: str = ""
    assistant_id: str = ""
    turns: list[TurnResult] = field(default_factory=list)

    def render(self) -> str:
        return "\n".join(f"turn {t.index}:\n{t.render()}" for t in self.turns)
