"""Deterministic embeddings: a text's words and character trigrams hashed into a vector, so
texts sharing words and spellings score a high cosine similarity and unrelated texts one
near 0 (the same text always gives the same vector, on any machine)."""

from __future__ import annotations

import hashlib
import math
import re

_WORD = re.compile(r"\w+")
WORD_WEIGHT = 1.0
TRIGRAM_WEIGHT = 0.5


def features(text: str) -> list[tuple[str, float]]:
    """The text's lower-cased words, and the trigrams of each word padded with spaces."""
    found: list[tuple[str, float]] = []
    for word in _WORD.findall(text.casefold()):
        found.append(("w:" + word, WORD_WEIGHT))
        padded = f" {word} "
        found += [("t:" + padded[i : i + 3], TRIGRAM_WEIGHT) for i in range(len(padded) - 2)]
    return found


def vector(text: str, dimensions: int) -> list[float]:
    """The unit vector of `text` (all zeros for a text with no word)."""
    values = [0.0] * dimensions
    for feature, weight in features(text):
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        number = int.from_bytes(digest, "little")
        values[number % dimensions] += weight if number >> 63 else -weight
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values] if norm else values
