"""The grader's calls over the openai SDK: a rubric graded through the Responses API as
structured output, and texts embedded through /embeddings (for `similar:`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from asst_deploy import grading
from asst_deploy.backend import RemoteError
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations.sdk.openai_backend import translated


class GraderError(AsstDeployError):
    """A grader or embedding call failed, or its answer was not a verdict."""


@dataclass(frozen=True)
class Graded:
    """A verdict and what asking for it used (the grader model's tokens)."""

    verdict: grading.Verdict
    model: str
    usage: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Embedded:
    vectors: list[list[float]]
    model: str
    usage: Mapping[str, int] = field(default_factory=dict)


class ResponsesGrader:
    """Grades through `client`'s Responses API with `model`; embeds with `embedding_model`."""

    def __init__(
        self,
        client: Any,
        model: str,
        embedding_model: str,
        transport_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        self.client = client
        self.model = model
        self.embedding_model = embedding_model
        self.transport_errors = transport_errors

    def grade(
        self,
        rubric: str,
        user: str,
        reply: str,
        tool_calls: Sequence[Mapping[str, Any]] | None = None,
    ) -> Graded:
        message = grading.grader_input(rubric, user, reply, tool_calls)
        with self._calls("grading the turn"):
            response = self.client.responses.create(
                model=self.model,
                instructions=grading.INSTRUCTIONS,
                input=[{"role": "user", "content": message}],
                text={"format": grading.text_format()},
                store=False,
            )
        text = response.output_text
        if response.status != "completed" or not text:
            raise GraderError(
                f"the grader ({self.model}) did not answer: its response ended "
                f"{response.status}" + (f" ({response.error.message})" if response.error else "")
            )
        try:
            verdict = grading.parse_verdict(text)
        except ValueError as exc:
            raise GraderError(f"the grader ({self.model}) answered no verdict: {exc}") from None
        usage = response.usage
        spent = {}
        if usage is not None:
            details = usage.input_tokens_details
            spent = {
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": usage.total_tokens,
                "cached_tokens": details.cached_tokens if details else 0,
            }
        return Graded(verdict, str(response.model or self.model), spent)

    def embed(self, texts: Sequence[str]) -> Embedded:
        with self._calls("embedding the texts"):
            found = self.client.embeddings.create(model=self.embedding_model, input=list(texts))
        vectors = [list(d.embedding) for d in sorted(found.data, key=lambda d: d.index)]
        usage = {
            "prompt_tokens": found.usage.prompt_tokens,
            "total_tokens": found.usage.total_tokens,
        }
        return Embedded(vectors, str(found.model or self.embedding_model), usage)

    @contextmanager
    def _calls(self, doing: str) -> Iterator[None]:
        """The SDK's errors as GraderErrors (the cause kept: a replay miss is found in it)."""
        try:
            with translated(doing):
                yield
        except RemoteError as exc:
            raise GraderError(str(exc)) from exc
        except self.transport_errors as exc:
            raise GraderError(f"{doing} failed: {type(exc).__name__}") from exc


def reported_shutdowns(client: Any) -> dict[str, str]:
    """Model -> shutdown date, as the endpoint's GET /models reports them (the SDK's Model
    carries `shutdown_date`); empty when the endpoint lists no models."""
    try:
        with translated("listing the models"):
            listed = client.models.list()
    except RemoteError:
        return {}  # an endpoint without the list: the built-in table stands alone
    return {m.id: str(m.shutdown_date) for m in listed if getattr(m, "shutdown_date", None)}
