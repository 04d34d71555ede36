"""A write whose every attempt committed but answered an error is done, not a failure
(issue 26): after the last retry apply reads the target back before reporting one."""

from __future__ import annotations

import pytest

from asst_deploy.engine.apply import ApplyError, Options, RetryPolicy
from asst_deploy.sandbox.faults import FaultConfig, FaultRule
from asst_deploy.sandbox.server import SandboxServer

from .conftest import Deployer, assert_no_duplicates
from .test_generations import api, gen, gen_backend  # noqa: F401 (fixtures)

ATTEMPTS = 3
FEW = Options(parallelism=2, poll_interval=0.01, retry=RetryPolicy(ATTEMPTS, sleep=lambda s: None))


def only_on(path: str, method: str = "POST", **rates: float) -> FaultConfig:
    """Faults on one route alone (the path after /v1, a glob)."""
    return FaultConfig(seed=5, rules=[FaultRule(method=method, path=path, **rates), FaultRule()])


@pytest.mark.parametrize(
    ("path", "method", "edit"),
    [
        # an update in place
        ("/{kind}s/*", "POST", ("assistants/greeter.yaml", "Say hello.", "Say hi.")),
        # a create, then the write of its final proof of authorship
        ("/{kind}s*", "POST", ("assistants/greeter.yaml", "key: greeter", "key: host")),
        # a file batch attached to a store
        ("/vector_stores/*/file_batches", "POST", ("knowledge/faq.txt", "outside", "out")),
        # a delete (the retry sees 404: done)
        ("/{kind}s/*", "DELETE", ("assistants/greeter.yaml", "key: greeter", "key: host")),
    ],
    ids=["update", "create", "attach", "delete"],
)
def test_a_write_that_always_commits_then_fails_is_done(
    gen: Deployer,  # noqa: F811
    api: str,  # noqa: F811
    server: SandboxServer,
    path: str,
    method: str,
    edit: tuple[str, str, str],
) -> None:
    gen.apply()
    gen.edit(*edit)
    route = path.format(kind=api[:-1])
    server.faults = only_on(route, method, rate_commit_then_fail=1.0)
    gen.apply(prune=True, options=FEW)  # no ApplyError: every write landed
    faults = server.log.faults()
    server.faults = FaultConfig()
    assert faults["commit_then_fail"] >= ATTEMPTS, faults
    assert gen.plan(prune=True).empty
    assert_no_duplicates(gen.backend.read_state(), "gen")


def test_a_write_that_never_commits_still_fails(
    gen: Deployer,  # noqa: F811
    api: str,  # noqa: F811
    server: SandboxServer,
) -> None:
    gen.apply()
    gen.edit("assistants/greeter.yaml", "Say hello.", "Say hi.")
    server.faults = only_on(f"/{api[:-1]}s/*", rate_500=1.0)
    with pytest.raises(ApplyError, match=r"update .* greeter"):
        gen.apply(options=FEW)
    server.faults = FaultConfig()
    assert [a.key for a in gen.plan().actions] == ["greeter"]


def test_half_the_writes_of_one_route_failing_after_commit_never_fail_an_apply(
    gen: Deployer,  # noqa: F811
    api: str,  # noqa: F811
    server: SandboxServer,
) -> None:
    gen.apply()
    kind = api[:-1]
    server.faults = FaultConfig(
        seed=7, rules=[FaultRule(method="POST", path=f"/{kind}s/*", rate_commit_then_fail=0.5)]
    )
    start = server.log.total
    names = {"greeter": "Greeter", "weather": "Weather", "tutor": "Tutor"}
    for n in range(6):  # 18 updates of 3 attempts each: at 50%, some lose all 3 answers
        for key, name in names.items():
            gen.edit(f"assistants/{key}.yaml", f"name: {name}", f"name: {name}{n}")
            names[key] = f"{name}{n}"
        gen.apply(options=FEW)
    looked = [e for e in server.log.since(start) if e.method == "GET" and f"/{kind}s/" in e.path]
    server.faults = FaultConfig()
    assert looked, "no write lost all its answers: the seed no longer exercises the look"
    assert gen.plan().empty
