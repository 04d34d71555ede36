"""Reliability: under seeded 5xx, 429 and commit-then-fail faults, repeated applies converge."""

from __future__ import annotations

import time

from asst_deploy.errors import AsstDeployError
from asst_deploy.sandbox.faults import FaultConfig, FaultRule
from asst_deploy.sandbox.server import SandboxServer

from .conftest import Deployer, Foreign, assert_no_duplicates

MAX_APPLIES = 5


def test_applies_converge_under_faults(
    deployer: Deployer, server: SandboxServer, foreign: Foreign
) -> None:
    server.faults = FaultConfig(
        seed=1234,
        rules=[
            # creates (and attaches, uploads) may commit and still answer 500
            FaultRule(method="POST", rate_500=0.05, rate_429=0.05, rate_commit_then_fail=0.1),
            FaultRule(rate_500=0.05, rate_503=0.025, rate_429=0.025, retry_after=1),
        ],
    )
    started = time.monotonic()
    errors: list[str] = []
    for _ in range(MAX_APPLIES):
        try:
            if deployer.apply(prune=True).empty:
                break
        except AsstDeployError as exc:  # an apply may give up; the next one continues
            errors.append(str(exc))
    else:
        raise AssertionError(f"no convergence in {MAX_APPLIES} applies: {errors}")
    faults = server.log.faults()
    server.faults = FaultConfig()
    assert deployer.plan(prune=True).empty
    state = deployer.backend.read_state()
    assert_no_duplicates(state)
    assert len(state.of("assistant")) == 2 + 3  # ours + the foreign ones, nothing else
    foreign.assert_untouched()
    # the faults really happened, commit-then-fail on creates included
    assert faults["commit_then_fail"] >= 1 and faults["rate_limit"] >= 1, faults
    assert faults["server_error"] + faults["unavailable"] >= 1, faults
    assert time.monotonic() - started < 10


def test_retry_after_is_honoured(deployer: Deployer, server: SandboxServer) -> None:
    from asst_deploy.engine.apply import Options, RetryPolicy

    slept: list[float] = []
    server.faults = FaultConfig(
        seed=3, rules=[FaultRule(method="POST", path="/assistants", rate_429=1.0, retry_after=7)]
    )
    options = Options(retry=RetryPolicy(attempts=3, sleep=slept.append), poll_interval=0.01)
    try:
        deployer.apply(options=options)
    except AsstDeployError as exc:
        assert "HTTP 429" in str(exc)
    else:
        raise AssertionError("apply did not fail")
    assert slept and set(slept) == {7.0}
