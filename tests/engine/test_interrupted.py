"""Crash safety: an apply interrupted at any mutating call, then re-run, converges cleanly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from asst_deploy.adapters.assistants.backend import AssistantsBackend
from asst_deploy.backend import Backend
from asst_deploy.engine.apply import Options

from .conftest import NO_SLEEP, Deployer, Foreign, assert_no_duplicates

MUTATING = (
    "upload_file",
    "create",
    "update",
    "delete",
    "set_metadata",
    "attach_files",
    "update_file_attributes",
    "detach_file",
)
# A first apply of FULL_PROJECT: the deployment marker, 3 uploads, 1 store create and its
# final proof of authorship, 1 attach, 2 assistant creates and their proofs, the marker
# sealed (authorship.py).
FIRST_APPLY_CALLS = 12
# Then a change of chunking and of one file's content with --prune: 1 upload, 1 store
# create (the replacement) and its proof, 1 attach, 1 assistant update (re-pointed), 3
# deletes (old store, old file version, pruned assistant).
SECOND_APPLY_CALLS = 8


class Crash(BaseException):
    """The process dying: not an error the engine handles."""


class Crashing:
    """Delegates to a backend; the k-th mutating call crashes, before or after it is done,
    and every call after that crashes too (the process is gone)."""

    def __init__(self, inner: Backend, k: int, committed: bool) -> None:
        self.inner = inner
        self.k = k
        self.committed = committed
        self.calls: list[str] = []
        self.crashed = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in MUTATING:
            return self._guard(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.crashed:
                raise Crash(name)
            self.calls.append(name)
            if len(self.calls) == self.k:
                self.crashed = True
                if self.committed:
                    method(*args, **kwargs)
                raise Crash(name)
            return method(*args, **kwargs)

        return call

    def _guard(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.crashed:
                raise Crash("read after crash")
            return method(*args, **kwargs)

        return call


SERIAL = Options(parallelism=1, poll_interval=0.01, retry=NO_SLEEP)


def count_calls(deployer: Deployer, backend: AssistantsBackend, **kwargs: Any) -> list[str]:
    spy = Crashing(backend, k=0, committed=False)
    deployer.apply(backend=spy, options=SERIAL, **kwargs)  # type: ignore[arg-type]
    return spy.calls


def change_for_second_apply(deployer: Deployer) -> None:
    deployer.edit(
        "vector_stores/docs.yaml", "max_chunk_size_tokens: 600", "max_chunk_size_tokens: 700"
    )
    deployer.edit("knowledge/faq.txt", "Ask", "Call")
    (deployer.root / "assistants/greeter.yaml").unlink()


def test_call_counts_match_the_parametrisation(
    deployer: Deployer, backend: AssistantsBackend
) -> None:
    assert len(count_calls(deployer, backend)) == FIRST_APPLY_CALLS
    change_for_second_apply(deployer)
    assert len(count_calls(deployer, backend, prune=True)) == SECOND_APPLY_CALLS
    assert deployer.plan(prune=True).empty


def crash_then_rerun(
    deployer: Deployer, backend: AssistantsBackend, k: int, committed: bool, prune: bool
) -> None:
    crashing = Crashing(backend, k, committed)
    with pytest.raises(Crash):
        deployer.apply(backend=crashing, options=SERIAL, prune=prune)  # type: ignore[arg-type]
    assert len(crashing.calls) == k
    deployer.apply(prune=prune)
    assert deployer.plan(prune=prune).empty
    assert_no_duplicates(backend.read_state())


@pytest.mark.parametrize("committed", [False, True], ids=["lost", "committed"])
@pytest.mark.parametrize("k", range(1, FIRST_APPLY_CALLS + 1))
def test_first_apply_interrupted(
    deployer: Deployer, backend: AssistantsBackend, foreign: Foreign, k: int, committed: bool
) -> None:
    crash_then_rerun(deployer, backend, k, committed, prune=True)
    foreign.assert_untouched()


@pytest.mark.parametrize("committed", [False, True], ids=["lost", "committed"])
@pytest.mark.parametrize("k", range(1, SECOND_APPLY_CALLS + 1))
def test_replacing_apply_interrupted(
    deployer: Deployer, backend: AssistantsBackend, foreign: Foreign, k: int, committed: bool
) -> None:
    deployer.apply()
    change_for_second_apply(deployer)
    crash_then_rerun(deployer, backend, k, committed, prune=True)
    state = backend.read_state()
    assert sorted(a.owner[1] or "" for a in state.of("assistant") if a.owner[0] == "feat") == [
        "analyst"
    ]
    foreign.assert_untouched()
