"""Graded expectations' side of a conversation run: the grader asked for `rubric:` and the
embeddings for `similar:` (asst_deploy/generations/sdk/grader.py makes the calls), and what that
cost, turn by turn."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from asst_deploy import generations, grading, identity, models
from asst_deploy.conversation.transcript import TurnResult
from asst_deploy.desired import Grader, Project, Target
from asst_deploy.errors import AsstDeployError
from asst_deploy.replay import costs
from asst_deploy.types import Json, TargetType

# a stamp's endpoint when graders are called through the conversation's own target
OWN_TARGET = "(the conversation's target)"
_MARKER = re.compile(r"【[^】]*†[^】]*】")


def grader_target(project: Project, script: str) -> Target:
    """Where graders are called: the project's replay.grader.endpoint, else its own target
    when that serves the Responses API (the sandbox does, whatever its api)."""
    if project.grader.target is not None:
        return project.grader.target
    target = project.target
    if target.type == TargetType.SANDBOX or generations.get(target.api).serves_responses:
        return target
    raise AsstDeployError(
        f"{script}: graded expectations (rubric:, similar:) are asked of a model through "
        f"the Responses API, and target '{target.name}' is of api {target.api}: name a "
        "target of api responses in asst-deploy.yaml, replay: {grader: {endpoint: NAME}}"
    )


def stamp(grader: Grader, target: Target) -> dict[str, Json]:
    """What a cassette's grades were given by: a grade is reused only while this is the same
    (the environments that grade through their own target share their recordings)."""
    return {
        "model": grader.model,
        "embedding_model": grader.embedding_model,
        "endpoint": target.name if grader.target is not None else OWN_TARGET,
        "prompt": identity.canonical_hash(
            {"instructions": grading.INSTRUCTIONS, "version": grading.PROMPT_VERSION}
        )[:12],
    }


class TurnGrader:
    """The grader a conversation run's expectations ask (replay.expect.Grader), keeping
    the cost of every call until `take_cost` collects it for the turn."""

    def __init__(self, calls: Any, prices: Mapping[str, models.Price]) -> None:
        self.calls = calls  # a generations.sdk.grader.ResponsesGrader
        self.prices = prices
        self._spent: list[float | None] = []

    def rubric(self, rubric: str, result: TurnResult, include_tool_calls: bool) -> grading.Verdict:
        tools = None
        if include_tool_calls:
            tools = [
                {
                    "type": c.type,
                    "name": c.name,
                    "arguments": c.arguments if c.arguments is not None else c.raw_arguments,
                    "output": c.output if c.output is not None else c.logs,
                }
                for c in result.tool_calls
            ]
        graded = self.calls.grade(rubric, result.user, result.reply, tools)
        self._spent.append(costs.usage_cost(graded.model, graded.usage, self.prices))
        verdict: grading.Verdict = graded.verdict
        return verdict

    def similarity(self, text: str, to: str) -> float:
        # the Assistants API's citation markers (【4:0†handbook.md】) say where, not what
        text = _MARKER.sub("", text)
        if not text.strip():
            return 0.0  # nothing to embed: an empty reply is like no text at all
        embedded = self.calls.embed([text, to])
        self._spent.append(costs.usage_cost(embedded.model, embedded.usage, self.prices))
        return grading.cosine(embedded.vectors[0], embedded.vectors[1])

    def take_cost(self) -> float | None:
        """What the calls since the last take cost (None: a model has no price)."""
        spent, self._spent = self._spent, []
        return costs.total(spent)
