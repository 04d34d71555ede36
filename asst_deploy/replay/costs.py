"""What a turn costs: its usage priced by the model that ran it (models.PRICES, over which
a project's replay.prices win), and money as people read it."""

from __future__ import annotations

import math
from collections.abc import Mapping

from asst_deploy import models


def price_of(model: str, prices: Mapping[str, models.Price]) -> models.Price | None:
    """The project's price of `model` (or of what it is a snapshot of), else the built-in."""
    return models.price(model, prices) or models.price(model)


def usage_cost(
    model: str, usage: Mapping[str, int], prices: Mapping[str, models.Price]
) -> float | None:
    """USD for `usage` (prompt, cached and completion tokens) on `model`; None when the
    model has no price (the project can give one under replay.prices)."""
    price = price_of(model, prices) if model else None
    if price is None:
        return None if usage else 0.0
    prompt = usage.get("prompt_tokens", 0)
    cached = min(usage.get("cached_tokens", 0), prompt)
    completion = usage.get("completion_tokens", 0)
    return (
        (prompt - cached) * price.input + cached * price.cached_input + completion * price.output
    ) / 1_000_000


def usd(amount: float | None) -> str:
    """$1.50, $0.0123, $0.000128: enough digits to tell small costs apart ($? unknown)."""
    if amount is None:
        return "$?"
    if amount == 0:
        return "$0"
    digits = max(2, 2 - math.floor(math.log10(abs(amount))))
    whole, _, decimals = f"{amount:.{digits}f}".partition(".")
    return f"${whole}.{decimals.rstrip('0').ljust(2, '0')}"


def total(amounts: list[float | None]) -> float | None:
    """The sum, or None when any part is unknown."""
    return None if any(a is None for a in amounts) else sum(a for a in amounts if a is not None)
