"""Crash safety: an apply interrupted at any mutating call, then re-run, converges cleanly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from asst_deploy.backend import Backend
from asst_deploy.engine import operations
from asst_deploy.engine.apply import Options
from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.sandbox.store import Store

from .conftest import (
    NO_SLEEP,
    Deployer,
    Foreign,
    assert_no_duplicates,
    managed_counts,
    write_project,
)

MUTATING = (
    "upload_file",
    "create",
    "update",
    "delete",
    "set_metadata",
    "attach_files",
    "update_file_attributes",
    "detach_file",
    "act",
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


# ---- the agents-native kinds ---------------------------------------------------------------

NATIVE = {
    "asst-deploy.yaml": """\
project: feat
targets:
  sandbox: {type: sandbox, api: agents}
default_target: sandbox
defaults: {model: gpt-5.4-mini}
""",
    "vaults/keys.yaml": """\
kind: vault
key: keys
credentials:
  - name: mcp
    auth:
      type: static_bearer
      mcp_server_url: https://mcp.example.com/keys
      token: {from_env: CRASH_MCP_TOKEN}
""",
    "skills/writer.yaml": "kind: skill\nkey: writer\npath: skills/writer\n",
    "skills/writer/SKILL.md": "---\nname: writer\ndescription: Writes reports.\n---\n# Writer\n",
    "skills/checker.yaml": "kind: skill\nkey: checker\npath: skills/checker\n",
    "skills/checker/SKILL.md": "---\nname: checker\ndescription: Checks reports.\n---\n# Checker\n",
    "environments/work.yaml": """\
kind: environment
key: work
packages: {python: [pandas==2.3.3]}
files: [data/a.csv]
skills: [writer, checker]
setup_commands: [{command: "python -c 'import pandas'"}]
env: {REGION: eu, API_TOKEN: {from_env: CRASH_ENV_TOKEN}}
""",
    "assistants/bot.yaml": """\
kind: assistant
key: bot
instructions: Use the tools.
environment: work
tools:
  - type: code_interpreter
  - type: mcp
    server_label: keys
    credential: keys/mcp
    transport: {type: http, server_url: "https://mcp.example.com/keys"}
""",
    "automations/nightly.yaml": """\
kind: automation
key: nightly
type: periodic
expression: "0 6 * * *"
timezone: Europe/Berlin
paused: true
target: {new_session: {agent: bot, vaults: [keys], input: Write the report.}}
""",
    "automations/yearly.yaml": """\
kind: automation
key: yearly
type: once
run_at: 2099-01-01T06:00:00+01:00
target: {new_session: {agent: bot, input: Write the yearly report.}}
""",
    "data/a.csv": "x,y\n1,2\n",
}
NATIVE_SECRETS = ("CRASH_MCP_TOKEN", "CRASH_ENV_TOKEN")
NATIVE_OBJECTS = {
    ("vault", "keys"),
    ("vault_credential", "keys/mcp"),
    ("skill", "writer"),
    ("skill", "checker"),
    ("environment_template", "environment/work"),
    ("agent", "bot"),
    ("automation", "nightly"),
    ("automation", "yearly"),
    ("file", "data/a.csv"),
}
# after the change: checker removed, yearly deleted
CHANGED_OBJECTS = NATIVE_OBJECTS - {("skill", "checker"), ("automation", "yearly")}
# A first apply: the deployment marker, 1 upload; the vault, its credential, 2 skills,
# the environment's template, the agent and 2 automations, each created and then given
# its final proof of authorship; the nightly automation paused, the marker sealed.
NATIVE_FIRST_APPLY_CALLS = 20
# Then (with --prune): the mcp credential rotated, the environment updated (a secret
# rotated, a package added, a skill dropped), nightly updated and resumed, yearly deleted,
# the checker skill deleted.
NATIVE_CHANGE_CALLS = 6


def change_native(deployer: Deployer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRASH_MCP_TOKEN", "mcp-rotated")
    monkeypatch.setenv("CRASH_ENV_TOKEN", "env-rotated")
    env = "environments/work.yaml"
    deployer.edit(env, "[pandas==2.3.3]", "[pandas==2.3.3, numpy]")
    deployer.edit(env, "[writer, checker]", "[writer]")
    deployer.edit("automations/nightly.yaml", "paused: true", "paused: false")
    deployer.edit("automations/nightly.yaml", "Write the report.", "Write the new report.")
    for rel in ("automations/yearly.yaml", "skills/checker.yaml", "skills/checker/SKILL.md"):
        (deployer.root / rel).unlink()


@pytest.fixture
def native(tmp_path: Path, client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch) -> Deployer:
    for name in NATIVE_SECRETS:
        monkeypatch.setenv(name, f"{name.lower()}-1")
    return Deployer(write_project(tmp_path / "native", NATIVE), AgentsBackend(client))


@pytest.mark.parametrize("phase", ["first", "change"])
@pytest.mark.parametrize("committed", [False, True], ids=["lost", "committed"])
def test_agents_native_apply_interrupted_at_every_call(
    native: Deployer,
    server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    committed: bool,
    phase: str,
) -> None:
    """Vaults and credentials, skills, a declared environment, an agent and automations:
    a crash at each mutating call, then a re-run, leaves each object once, as specs say."""

    def start() -> None:
        server.sandbox.store = Store()  # an empty target, at once
        for name in NATIVE_SECRETS:
            monkeypatch.setenv(name, f"{name.lower()}-1")
        write_project(native.root, NATIVE)
        if phase == "change":
            native.apply()
            change_native(native, monkeypatch)

    start()
    calls = len(count_calls(native, native.backend, prune=True))  # type: ignore[arg-type]
    assert calls == (NATIVE_FIRST_APPLY_CALLS if phase == "first" else NATIVE_CHANGE_CALLS)
    wanted = NATIVE_OBJECTS if phase == "first" else CHANGED_OBJECTS
    for k in range(1, calls + 1):
        start()
        crashing = Crashing(native.backend, k, committed)
        with pytest.raises(Crash):
            native.apply(backend=crashing, options=SERIAL, prune=True)
        native.apply(prune=True)
        plan, state = operations.make_plan(native.load(), native.backend, prune=True)
        assert plan.empty, (k, [(a.kind, a.key) for a in plan.actions])
        counts = managed_counts(state)
        assert set(counts) == wanted, (k, set(counts) ^ wanted)
        assert all(n == 1 for n in counts.values()), (k, counts)
