"""Pricing a turn's usage (built-in table, a project's overrides, snapshots, cached input),
money as the reports print it, and a run's budget shared through its ledger file."""

from __future__ import annotations

from pathlib import Path

import pytest

from asst_deploy import models
from asst_deploy.replay import costs
from asst_deploy.replay.ledger import Budget, Ledger
from asst_deploy.replay.outcome import FAIL, INCONCLUSIVE, PASS, Outcome


def test_usage_is_priced_per_million_tokens_with_cached_input_cheaper() -> None:
    usage = {"prompt_tokens": 1_000_000, "cached_tokens": 400_000, "completion_tokens": 100_000}
    # gpt-5.4-mini: 0.75 in, 0.075 cached, 4.50 out
    assert costs.usage_cost("gpt-5.4-mini", usage, {}) == pytest.approx(
        0.6 * 0.75 + 0.4 * 0.075 + 0.1 * 4.50
    )
    # a dated snapshot costs what its model does; a project's price wins
    assert costs.usage_cost("gpt-4o-mini-2024-07-18", {"prompt_tokens": 10**6}, {}) == 0.15
    mine = {"gpt-5.4-mini": models.Price(1.0, 1.0, 1.0)}
    assert costs.usage_cost("gpt-5.4-mini", {"completion_tokens": 10**6}, mine) == 1.0
    assert costs.usage_cost("acme-large", {"prompt_tokens": 5}, {}) is None
    assert costs.usage_cost("acme-large", {}, {}) == 0.0  # nothing used costs nothing


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(None, "$?"), (0, "$0"), (1.5, "$1.50"), (0.1, "$0.10"), (0.0123, "$0.0123"),
     (0.000128, "$0.000128"), (12.345, "$12.35")],
)  # fmt: skip
def test_money_keeps_enough_digits_to_tell_small_costs_apart(
    amount: float | None, shown: str
) -> None:
    assert costs.usd(amount) == shown


def test_a_ledger_file_is_one_budget_for_every_process(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    one, two = Ledger(0.01, path), Ledger(0.01, path)  # two workers of one run
    one.add(0.004)
    two.add(0.004)
    assert one.spent() == pytest.approx(0.008) and two.left() == pytest.approx(0.002)
    alone = Ledger(0.01)
    alone.add(0.02)
    assert alone.left() == 0.0


def test_a_session_limit_is_whole_cents_and_never_zero() -> None:
    assert Budget(0.5, "").cents == 50 and Budget(0.000001, "").cents == 1


def test_inconclusive_is_never_a_pass_and_failures_still_fail() -> None:
    stopped = Outcome(runs=1, inconclusive=["budget"])
    assert stopped.verdict == INCONCLUSIVE and not stopped.passed
    # 3 runs at a pass rate of 2/3: one pass, one stopped, one failed -> cannot reach it
    mixed = Outcome(runs=3, passes=1, required=0.66, failures=["x"], inconclusive=["b"])
    assert mixed.verdict == INCONCLUSIVE  # the stopped run could have made it 2 of 3
    lost = Outcome(runs=3, passes=0, required=0.66, failures=["x", "y"], inconclusive=["b"])
    assert lost.verdict == FAIL
    assert Outcome(runs=2, passes=2).verdict == PASS
