"""Fault injection: each kind at its configured rate, reproducible by seed, logged per route."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import openai
import pytest

from asst_deploy.sandbox.faults import (
    COMMIT_THEN_FAIL,
    DROP,
    RATE_LIMIT,
    SERVER_ERROR,
    UNAVAILABLE,
    FaultConfig,
    FaultRule,
)
from asst_deploy.sandbox.server import SandboxServer

Install = Callable[..., FaultConfig]
N = 400


def outcome(client: openai.OpenAI) -> str:
    try:
        client.files.list(limit=1)
    except openai.RateLimitError:
        return "429"
    except openai.InternalServerError as exc:
        return str(exc.status_code)
    except openai.APIConnectionError:
        return "dropped"
    return "ok"


@pytest.mark.parametrize(
    ("rule", "kind", "seen"),
    [
        (FaultRule(rate_429=0.25), RATE_LIMIT, "429"),
        (FaultRule(rate_500=0.25), SERVER_ERROR, "500"),
        (FaultRule(rate_503=0.25), UNAVAILABLE, "503"),
        (FaultRule(rate_drop=0.25), DROP, "dropped"),
    ],
)
def test_each_kind_happens_at_its_rate(
    client: openai.OpenAI,
    server: SandboxServer,
    faults: Install,
    rule: FaultRule,
    kind: str,
    seen: str,
) -> None:
    faults(rule, seed=42)
    start = server.log.total
    outcomes = Counter(outcome(client) for _ in range(N))
    assert set(outcomes) == {"ok", seen}
    assert 0.18 * N < outcomes[seen] < 0.32 * N
    logged = Counter(e.fault for e in server.log.since(start))
    assert logged[kind] == outcomes[seen]


def test_same_seed_same_faults(client: openai.OpenAI, faults: Install) -> None:
    mixed = FaultRule(rate_429=0.1, rate_500=0.1, rate_503=0.1, rate_drop=0.1)
    faults(mixed, seed=7)
    first = [outcome(client) for _ in range(60)]
    faults(mixed, seed=7)
    assert [outcome(client) for _ in range(60)] == first
    faults(mixed, seed=8)
    assert [outcome(client) for _ in range(60)] != first


def test_429_carries_retry_after_and_the_real_body(client: openai.OpenAI, faults: Install) -> None:
    faults(FaultRule(rate_429=1.0, retry_after=7))
    with pytest.raises(openai.RateLimitError) as caught:
        client.files.list()
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.body["type"] == "requests"


def test_500_body_names_the_request_id(client: openai.OpenAI, faults: Install) -> None:
    faults(FaultRule(rate_500=1.0))
    with pytest.raises(openai.InternalServerError) as caught:
        client.files.list()
    request_id = caught.value.response.headers["x-request-id"]
    assert f"(Please include the request ID {request_id} in your email.)" in caught.value.message
    assert caught.value.body["type"] == "server_error"


def test_commit_then_fail_really_commits(client: openai.OpenAI, faults: Install) -> None:
    faults(FaultRule(method="POST", path="/vector_stores", rate_commit_then_fail=1.0))
    marker = "commit-then-fail-probe"
    with pytest.raises(openai.InternalServerError):
        client.vector_stores.create(name=marker)
    faults()
    assert marker in [s.name for s in client.vector_stores.list(limit=100)]


def test_rules_match_by_method_and_path_glob(
    client: openai.OpenAI, server: SandboxServer, faults: Install
) -> None:
    faults(FaultRule(method="GET", path="/files*", rate_500=1.0))
    with pytest.raises(openai.InternalServerError):
        client.files.list()
    assert client.vector_stores.list().data is not None
    client.files.create(file=("a.txt", b"a"), purpose="assistants")  # POST is not matched


def test_latency_and_jitter_are_applied(
    client: openai.OpenAI, server: SandboxServer, faults: Install
) -> None:
    faults(FaultRule(latency_ms=30, jitter_ms=20))
    start = server.log.total
    for _ in range(5):
        client.files.list()
    durations = [e.duration_ms for e in server.log.since(start)]
    assert all(30 <= d < 200 for d in durations)
    assert len({round(d) for d in durations}) > 1


def test_per_route_counters(client: openai.OpenAI, server: SandboxServer, faults: Install) -> None:
    faults(FaultRule(path="/vector_stores/*", rate_503=1.0))
    store = client.vector_stores.create(name="counted")
    before = server.log.routes().get("GET /v1/vector_stores/{vector_store_id}")
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            client.vector_stores.retrieve(store.id)
    after = server.log.routes()["GET /v1/vector_stores/{vector_store_id}"]
    assert after.requests - (before.requests if before else 0) == 3
    assert after.faults[UNAVAILABLE] - (before.faults[UNAVAILABLE] if before else 0) == 3
    assert after.statuses[503] >= 3


def test_config_validation_and_rules_files() -> None:
    with pytest.raises(ValueError):
        FaultRule(rate_500=0.7, rate_503=0.7)
    config = FaultConfig.from_dict({"seed": 3, "rules": [{"path": "/files*", "rate_drop": 0.5}]})
    assert config.seed == 3 and config.rules[0].rate_drop == 0.5
    with pytest.raises(ValueError, match="unknown fault rule keys: colour"):
        FaultConfig.from_dict({"rules": [{"colour": "red"}]})
    assert FaultConfig().decide("GET", "/files").fault is None
    assert COMMIT_THEN_FAIL == "commit_then_fail"
