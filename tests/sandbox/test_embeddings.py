"""/v1/embeddings: deterministic vectors in the real shape, similar texts close, others far."""

from __future__ import annotations

import openai
import pytest

from asst_deploy.grading import cosine
from asst_deploy.sandbox import embeddings


def _pair(client: openai.OpenAI, a: str, b: str, **options: object) -> float:
    found = client.embeddings.create(model="text-embedding-3-small", input=[a, b], **options)  # type: ignore[arg-type]
    assert [d.index for d in found.data] == [0, 1]
    return cosine(found.data[0].embedding, found.data[1].embedding)


def test_similar_texts_score_high_and_unrelated_ones_low(client: openai.OpenAI) -> None:
    same = _pair(client, "The capital of France is Paris.", "The capital of France is Paris.")
    close = _pair(client, "The capital of France is Paris.", "Paris is the capital of France!")
    far = _pair(client, "The capital of France is Paris.", "Subtract 11 from both sides: 3x = 3.")
    assert same == pytest.approx(1.0, abs=1e-6)
    assert close > 0.9
    assert abs(far) < 0.3


def test_vectors_are_deterministic_and_sized_by_model(client: openai.OpenAI) -> None:
    # the SDK asks for base64 unless told otherwise; floats are the same vector
    packed = client.embeddings.create(model="text-embedding-3-small", input="hello world")
    plain = client.embeddings.create(
        model="text-embedding-3-small", input="hello world", encoding_format="float"
    )
    assert len(plain.data[0].embedding) == 1536
    assert packed.data[0].embedding == pytest.approx(plain.data[0].embedding, abs=1e-6)
    assert plain.data[0].embedding == pytest.approx(embeddings.vector("hello world", 1536))
    assert plain.usage.prompt_tokens == plain.usage.total_tokens == 2
    large = client.embeddings.create(model="text-embedding-3-large", input="x", dimensions=64)
    assert len(large.data[0].embedding) == 64


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"model": "gpt-5.4-mini", "input": "x"},
            "The requested model 'gpt-5.4-mini' does not exist.",
        ),
        ({"model": "text-embedding-3-small", "input": ""}, "Invalid 'input': empty string"),
        (
            {"model": "text-embedding-3-small", "input": "x", "dimensions": 5000},
            "Invalid 'dimensions'",
        ),
        ({"model": "text-embedding-ada-002", "input": "x", "dimensions": 8}, "does not support"),
    ],
)
def test_bad_requests_get_the_real_400(
    client: openai.OpenAI, options: dict[str, object], message: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=message):
        client.embeddings.create(**options)  # type: ignore[arg-type]
