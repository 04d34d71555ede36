"""The fault suite: 20% injected faults on every route, 3 seeds x parallelism 1 and 16,
on both API generations (on agents the same specs without file_search, which agents
cannot hold: 40 agents, each with the environment template its code runs in, plus the
agents-native kinds: a vault of credentials the mcp tools use, skills, declared
environments with an env secret, agents running in them and automations).

A 40-assistant project with files and 2 vector stores is deployed, then changed (a file
removed from a store and from the project, a file's content changed, assistants removed
and edited; on agents also a vault credential rotated, replaced and removed, an env
secret rotated, an environment's packages changed, an environment and skills removed,
new skill versions, automations paused, resumed, edited and deleted) and applied with
--prune, each time through the lease like `asst-deploy apply`. Every run must converge
within 5 applies with 0 duplicates, 0 lost objects, 0 unmanaged objects touched and 0
unexpected errors (what the CLI would exit 3 for).
Seeded, in-process, loopback only, with retries that do not sleep.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import openai
import pytest
import yaml

from asst_deploy import identity, kinds
from asst_deploy.engine import lease, operations
from asst_deploy.engine.apply import Options, RetryPolicy, apply_plan
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.faults import FaultConfig, FaultRule
from asst_deploy.sandbox.routes.agents import TEMPLATE
from asst_deploy.sandbox.server import SandboxServer, start_server
from asst_deploy.sandbox.store import Store
from asst_deploy.sandbox.vaults import CREDENTIAL, SECRETS

from .conftest import Deployer, Foreign, managed_counts, sdk_client, write_project

MAX_APPLIES = 5
ASSISTANTS = 40
FAULT_RATE = 0.20
SEEDS = (11, 22, 33)
RETRY = RetryPolicy(attempts=8, sleep=lambda seconds: None)


def fault_config(seed: int) -> FaultConfig:
    """20% of requests fail: reads with 429/500/503/drops, writes also commit-then-fail."""
    return FaultConfig(
        seed=seed,
        rules=[
            FaultRule(method="GET", rate_429=0.05, rate_500=0.05, rate_503=0.05, rate_drop=0.05),
            FaultRule(
                rate_429=0.04,
                rate_500=0.04,
                rate_503=0.03,
                rate_drop=0.04,
                rate_commit_then_fail=0.05,
            ),
        ],
    )


# On agents, a vault whose credentials the first agents' mcp tools use; the changed
# version rotates k1 (FAULT_SECRET_K1 changes), replaces k0 (its server URL) and removes k2.
CREDENTIAL_USERS = 6


def vault_spec(removed: bool) -> str:
    names = ("k0", "k1") if removed else ("k0", "k1", "k2")
    urls = {name: f"https://mcp.example.com/{name}" for name in names}
    if removed:
        urls["k0"] += "/v2"  # what the rotate call cannot change: a replace
    return "kind: vault\nkey: keys\ncredentials:\n" + "".join(
        f"  - name: {name}\n    auth:\n      type: static_bearer\n"
        f"      mcp_server_url: {urls[name]}\n"
        f"      token: {{from_env: FAULT_SECRET_{name.upper()}}}\n"
        for name in names
    )


def credential_of(n: int, removed: bool) -> str | None:
    """The credential agent a`n` uses, if any."""
    if n >= CREDENTIAL_USERS:
        return None
    return f"keys/k{n % (2 if removed else 3)}"


def big_project(removed: bool = False, api: str = "assistants") -> dict[str, str]:
    """40 assistants over 6 files and 2 stores; `removed`: the changed version."""
    files = {f"knowledge/doc{n}.md": f"# Doc {n}\n\nFacts about {n}.\n" for n in range(4)}
    files |= {"data/a.csv": "x,y\n1,2\n", "data/b.csv": "x,y\n3,4\n"}
    docs = ["knowledge/doc0.md", "knowledge/doc1.md", "knowledge/doc2.md"]
    keys = range(ASSISTANTS - 4 if removed else ASSISTANTS)
    if removed:
        docs.remove("knowledge/doc2.md")  # out of the store, and out of the project
        del files["knowledge/doc2.md"]
        files["knowledge/doc0.md"] = "# Doc 0\n\nNew facts.\n"  # a content change
        files["data/a.csv"] = "x,y\n9,9\n"
    spec: dict[str, str] = {
        "asst-deploy.yaml": f"project: feat\ntargets:\n  sandbox: {{type: sandbox, api: {api}}}\n"
        "default_target: sandbox\ndefaults: {model: gpt-4o-mini}\n",
        "vector_stores/docs.yaml": "kind: vector_store\nkey: docs\nname: Docs\nfiles:\n"
        + "".join(f"  - {d}\n" for d in docs),
        "vector_stores/notes.yaml": "kind: vector_store\nkey: notes\nname: Notes\nfiles:\n"
        "  - knowledge/doc3.md\n",
        **files,
    }
    for n in keys:
        store = "docs" if n % 2 else "notes"
        csv = "data/a.csv" if n % 3 else "data/b.csv"
        tone = "short" if removed and n % 5 == 0 else "kind"
        searches = api == "assistants"  # agents have no file_search
        credential = None if searches else credential_of(n, removed)
        mcp = (
            f"  - type: mcp\n    server_label: keys\n    credential: {credential}\n"
            "    transport: {type: http, server_url: 'https://mcp.example.com/keys'}\n"
            if credential
            else ""
        )
        spec[f"assistants/a{n}.yaml"] = (
            f"kind: assistant\nkey: a{n}\nname: Bot {n}\ninstructions: Be {tone}.\n"
            + ("tools:\n  - type: file_search\n  - type: code_interpreter\n" if searches else "")
            + ("tools:\n  - type: code_interpreter\n" + mcp if not searches else "")
            + "tool_resources:\n"
            + (f"  file_search:\n    vector_stores: [{store}]\n" if searches else "")
            + f"  code_interpreter:\n    files: [{csv}]\n"
        )
    if api == "agents":
        spec["vaults/keys.yaml"] = vault_spec(removed)
        spec |= agents_native(removed)
    return spec


SKILL = "---\nname: {name}\ndescription: {what}\n---\n# {name}\n\nRun scripts/run.py.\n"
# the changed version removes checker and h3 and uploads a new version of writer and h0
SKILLS = ("writer", "checker", "h0", "h1", "h2", "h3")
CHANGED_SKILLS = ("writer", "h0", "h1", "h2")
NEW_VERSIONS = ("writer", "h0")
# what an environment of the first version holds: (packages, files, skills, extra env)
ENVIRONMENTS = {
    "env0": ("[pandas==2.3.3]", "[data/a.csv]", "[writer, checker]", "REGION: eu, "),
    "env1": ("[numpy]", "[knowledge/doc3.md]", "[writer, h0, h1, h2, h3]", ""),
    "env2": ("[]", "[]", "[checker]", ""),
}
# the changed version: the skills removed go, env1 changes its packages, env2 goes
CHANGED_ENVIRONMENTS = {
    "env0": ("[pandas==2.3.3]", "[data/a.csv]", "[writer]", "REGION: eu, "),
    "env1": ("[numpy, scipy]", "[knowledge/doc3.md]", "[writer, h0, h1, h2]", ""),
}
# agent -> the environment it runs in, before and after (e2 moves when env2 goes)
RUNS_IN = {"e0": ("env0", "env0"), "e1": ("env1", "env1"), "e2": ("env2", "env1")}


class Automation(NamedTuple):
    schedule: str
    agent: str
    paused: bool = False
    environment: str | None = None
    input: str = "Run the job."


DAILY = 'type: periodic\nexpression: "0 6 * * *"\ntimezone: Europe/Berlin\n'
TICKS = 8  # plain daily automations of agents a0..a7, for volume
AUTOMATIONS = {
    "nightly": Automation(DAILY, "a0"),
    "hourly": Automation(
        'type: periodic\nexpression: "0 * * * *"\ntimezone: UTC\n', "e0", True, "env1"
    ),
    "yearly": Automation("type: once\nrun_at: 2099-01-01T06:00:00+01:00\n", "e1"),
    "weekly": Automation(
        'type: periodic\nexpression: "0 7 * * MON"\ntimezone: UTC\n', "e2", environment="env2"
    ),
    **{f"tick{n}": Automation(DAILY, f"a{n}", paused=n % 4 == 0) for n in range(TICKS)},
}
# nightly paused, hourly resumed, yearly deleted, weekly moved to env0 at a new time; the
# ticks get a new input, those paused resume, every fourth from tick1 pauses, the last goes
CHANGED_AUTOMATIONS = {
    "nightly": AUTOMATIONS["nightly"]._replace(paused=True),
    "hourly": AUTOMATIONS["hourly"]._replace(paused=False),
    "weekly": Automation(
        'type: periodic\nexpression: "30 7 * * MON"\ntimezone: UTC\n', "e2", environment="env0"
    ),
    **{
        f"tick{n}": Automation(DAILY, f"a{n}", paused=n % 4 == 1, input=f"Run job {n % 4}.")
        for n in range(TICKS - 1)
    },
}


def agents_native(removed: bool) -> dict[str, str]:
    """Skills, declared environments (one env secret each), the agents that run in them and
    automations; `removed`: the changed version (see the tables above)."""
    files: dict[str, str] = {}
    for name in CHANGED_SKILLS if removed else SKILLS:
        version = 2 if removed and name in NEW_VERSIONS else 1
        files[f"skills/{name}.yaml"] = f"kind: skill\nkey: {name}\npath: skills/{name}\n"
        files[f"skills/{name}/SKILL.md"] = SKILL.format(name=name, what=f"The {name} skill.")
        files[f"skills/{name}/scripts/run.py"] = f"print('{name} v{version}')\n"
    environments = CHANGED_ENVIRONMENTS if removed else ENVIRONMENTS
    for key, (packages, held, used, env) in environments.items():
        files[f"environments/{key}.yaml"] = (
            f"kind: environment\nkey: {key}\npackages: {{python: {packages}}}\n"
            "network: {access: restricted, allowed_domains: [api.example.com]}\n"
            f"files: {held}\nskills: {used}\n"
            f"setup_commands: [{{command: 'echo {key}'}}]\n"
            f"env: {{{env}API_TOKEN: {{from_env: FAULT_ENV_TOKEN}}}}\n"
        )
    for agent, places in RUNS_IN.items():
        files[f"assistants/{agent}.yaml"] = (
            f"kind: assistant\nkey: {agent}\nname: Runner {agent}\ninstructions: Run it.\n"
            f"tools: [{{type: code_interpreter}}]\nenvironment: {places[removed]}\n"
        )
    for key, auto in (CHANGED_AUTOMATIONS if removed else AUTOMATIONS).items():
        files[f"automations/{key}.yaml"] = (
            f"kind: automation\nkey: {key}\n{auto.schedule}paused: {str(auto.paused).lower()}\n"
            f"target:\n  new_session:\n    agent: {auto.agent}\n"
            + (f"    environment: {auto.environment}\n" if auto.environment else "")
            + ("    vaults: [keys]\n" if key == "nightly" else "")
            + f"    input: {auto.input}\n"
        )
    return files


def rewrite(root: Path, files: dict[str, str]) -> None:
    for old in [p for p in root.rglob("*") if p.is_file()]:
        if str(old.relative_to(root)) not in files:
            old.unlink()
    write_project(root, files)


class Runs:
    """Applies like `asst-deploy apply --auto-approve --prune`, counting exit codes."""

    def __init__(self, deployer: Deployer, backend: AssistantsBackend) -> None:
        self.deployer = deployer
        self.backend = backend
        self.exit_codes: list[int] = []

    def apply(self) -> int:
        """0: applied (or nothing to do), 1: an expected error, 3: a bug."""
        try:
            with lease.held(self.backend, "feat", retry=RETRY, holder="fault suite") as held:
                project = self.deployer.load()
                plan, state = operations.make_plan(project, self.backend, prune=True, retry=RETRY)
                if plan.refused:
                    raise AssertionError(f"refused: {plan.refused}")
                if not plan.empty:
                    held.changed = True
                    apply_plan(
                        plan, project.root, self.backend, state, options=self.deployer.options
                    )
            code = 0 if plan.empty else 10  # 10: applied something, go on
        except AsstDeployError:
            code = 1
        except Exception:
            code = 3
        self.exit_codes.append(code)
        return code

    def converge(self) -> int:
        """Applies until one finds nothing to do; returns how many it took."""
        for n in range(1, MAX_APPLIES + 1):
            if self.apply() == 0:
                return n
        raise AssertionError(f"no convergence in {MAX_APPLIES} applies: {self.exit_codes}")


@pytest.fixture
def faulty_server() -> Iterator[SandboxServer]:
    with start_server(Sandbox(store=Store(), processing_delay=0.0)) as running:
        yield running


ADAPTERS = {"assistants": AssistantsBackend, "agents": AgentsBackend}


@pytest.mark.parametrize("api", sorted(ADAPTERS))
@pytest.mark.parametrize("parallelism", [1, 16])
@pytest.mark.parametrize("seed", SEEDS)
def test_converges_under_twenty_percent_faults(
    faulty_server: SandboxServer,
    tmp_path: Path,
    seed: int,
    parallelism: int,
    api: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("k0", "k1", "k2"):
        monkeypatch.setenv(f"FAULT_SECRET_{name.upper()}", f"fault-secret-{name}")
    monkeypatch.setenv("FAULT_ENV_TOKEN", "fault-env-token")
    with sdk_client(faulty_server) as client:
        foreign = Foreign(client).create()
        root = write_project(tmp_path / "big", big_project(api=api))
        backend = ADAPTERS[api](client)
        options = Options(parallelism=parallelism, poll_interval=0.005, retry=RETRY)
        deployer = Deployer(root, backend, options=options, api=api)
        runs = Runs(deployer, backend)
        faulty_server.faults = fault_config(seed)
        first = runs.converge()
        rewrite(root, big_project(removed=True, api=api))
        monkeypatch.setenv("FAULT_SECRET_K1", "fault-secret-k1-rotated")
        monkeypatch.setenv("FAULT_ENV_TOKEN", "fault-env-token-rotated")
        second = runs.converge()
        faults = faulty_server.log.faults()
        hit = faulted_writes(faulty_server)
        faulty_server.faults = FaultConfig()
        check(deployer, client, foreign, runs, api)
        if api == "agents":
            check_credentials(deployer, faulty_server)
            check_native(deployer, client, faulty_server)
    total = sum(faults.values())
    assert total and faults["commit_then_fail"] and faults["drop"], faults
    if api == "agents" and parallelism == 1:  # serial, so seeded: the same faults each run
        assert all(hit[collection] for collection in NATIVE_WRITES), hit
    assert 3 not in runs.exit_codes, runs.exit_codes
    assert first <= MAX_APPLIES and second <= MAX_APPLIES


# the agents-native kinds' collections, as their paths name them
NATIVE_WRITES = ("/skills", "/environments/templates", "/automations", "/vaults")


def faulted_writes(server: SandboxServer) -> Counter[str]:
    """Faults injected into writes, by the agents-native collection written."""
    return Counter(
        collection
        for e in server.log.entries()
        if e.fault and e.method != "GET"
        for collection in NATIVE_WRITES
        if collection in e.path
    )


def check(
    deployer: Deployer, client: openai.OpenAI, foreign: Foreign, runs: Runs, api: str
) -> None:
    state = deployer.backend.read_state()
    counts = managed_counts(state)
    kept = range(ASSISTANTS - 4)
    if api == "agents":  # an agent each, and the template its code runs in
        wanted = {(kind, f"a{n}") for n in kept for kind in ("agent", "environment_template")}
        wanted |= {
            ("vault", "keys"),
            ("vault_credential", "keys/k0"),
            ("vault_credential", "keys/k1"),
            *(("skill", name) for name in CHANGED_SKILLS),
            *(("environment_template", f"environment/{e}") for e in CHANGED_ENVIRONMENTS),
            *(("agent", agent) for agent in RUNS_IN),
            *(("automation", key) for key in CHANGED_AUTOMATIONS),
        }
    else:
        wanted = {("assistant", f"a{n}") for n in kept}
    wanted |= {("vector_store", "docs"), ("vector_store", "notes")}
    wanted |= {("file", p) for p in ("knowledge/doc0.md", "knowledge/doc1.md")}
    wanted |= {("file", p) for p in ("knowledge/doc3.md", "data/a.csv", "data/b.csv")}
    assert set(counts) == wanted, set(counts) ^ wanted  # 0 lost, nothing left over
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}
    assert deployer.plan(prune=True).empty
    # every assistant wired to the store and file it should use (no stale ids)
    names = kinds.names(state, "feat")
    for a in state.of("assistant"):
        if a.owner[0] != "feat":
            continue
        n = int(str(a.owner[1])[1:])
        resources = a.data["tool_resources"]
        stores = [names[i] for i in resources["file_search"]["vector_store_ids"]]
        assert stores == ["docs" if n % 2 else "notes"], (a.owner, stores)
    # every agent wired to its own template, each template to the file it should hold
    templates = {t.id: t for t in state.of("environment_template")}
    for agent in state.of("agent"):
        if agent.owner[0] != "feat" or agent.owner[1] in RUNS_IN:  # see check_native
            continue
        template = templates[agent.data["metadata"][identity.TEMPLATE_KEY]]
        assert template.owner[1] == agent.owner[1]
        n = int(str(agent.owner[1])[1:])
        held = [names[f["file_id"]].split("#")[0] for f in template.data["files"]]
        assert held == ["data/a.csv" if n % 3 else "data/b.csv"], (agent.owner, held)
    foreign.assert_untouched()


def check_credentials(deployer: Deployer, server: SandboxServer) -> None:
    """Each agent's mcp tool uses the credential it names (no stale id after k0's replace),
    and the sandbox holds each credential's secret as the environment gives it now."""
    state = deployer.backend.read_state()
    names = kinds.names(state, "feat")
    for agent in state.of("agent"):
        if agent.owner[0] != "feat" or agent.owner[1] in RUNS_IN:
            continue
        n = int(str(agent.owner[1])[1:])
        used = [
            names[str(t["credential_id"])] for t in agent.data["tools"] if t.get("credential_id")
        ]
        wanted = credential_of(n, removed=True)
        assert used == ([f"vault_credential:{wanted}"] if wanted else []), (agent.owner, used)
    (vault,) = [v for v in state.of("vault") if v.owner[0] == "feat"]
    secrets = {
        c.owner[1]: server.sandbox.store.get(CREDENTIAL, c.id, parent=vault.id)[SECRETS]  # type: ignore[index]
        for c in state.of("vault_credential")
        if c.owner[0] == "feat"
    }
    assert secrets == {
        "keys/k0": {"token": "fault-secret-k0"},
        "keys/k1": {"token": "fault-secret-k1-rotated"},
    }


def check_native(deployer: Deployer, client: openai.OpenAI, server: SandboxServer) -> None:
    """The changed version's environments, skills and automations as the sandbox holds
    them: each environment with its packages, files, skills and rotated secret; each agent
    in its environment; each automation on its agent and environment, paused as said."""
    state = deployer.backend.read_state()
    names = kinds.names(state, "feat")
    mine = {(o.kind, o.owner[1]): o for o in state.all_objects() if o.owner[0] == "feat"}
    for key, (packages, held, used, _) in CHANGED_ENVIRONMENTS.items():
        live = server.sandbox.store.get(
            TEMPLATE, mine[("environment_template", f"environment/{key}")].id
        )
        assert live is not None
        assert live["env"]["API_TOKEN"] == "fault-env-token-rotated", key
        assert live["packages"]["python"] == yaml.safe_load(packages), key
        files = [names[f["file_id"]].split("#")[0] for f in live["files"]]
        assert files == yaml.safe_load(held), (key, files)
        skills = [names[s["skill_id"]] for s in live["skills"]]
        assert skills == [f"skill:{s}" for s in yaml.safe_load(used)], (key, skills)
    for name in CHANGED_SKILLS:  # the default version holds the folder as it is now
        archive = client.skills.content.retrieve(mine[("skill", name)].id).read()
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            (script,) = [n for n in bundle.namelist() if n.endswith("scripts/run.py")]
            version = 2 if name in NEW_VERSIONS else 1
            assert bundle.read(script).decode() == f"print('{name} v{version}')\n", name
    for agent, (_, now) in RUNS_IN.items():
        template = mine[("agent", agent)].data["metadata"][identity.TEMPLATE_KEY]
        assert template == mine[("environment_template", f"environment/{now}")].id, agent
    automation = kinds.get("automation")
    for key, auto in CHANGED_AUTOMATIONS.items():
        form = automation.canonical(mine[("automation", key)], names)
        assert form["status"] == ("paused" if auto.paused else "active"), (key, form)
        assert form["target.agent_id"] == f"agent:{auto.agent}", (key, form)
        assert form["target.input"] == auto.input, (key, form)
        assert form["target.environment"] == (
            f"environment:{auto.environment or RUNS_IN[auto.agent][1]}"
            if auto.agent in RUNS_IN
            else f"environment_template:{auto.agent}"  # the template its own code runs in
        ), (key, form)
