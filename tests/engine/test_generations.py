"""One project, every API generation: the engine's guarantees hold on assistants and agents.

The project below is one both generations can hold (no file_search, temperature or
description: agents refuse those). Each test runs once per generation, against the
sandbox, which serves both; on agents the tutor also deploys an environment template.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from asst_deploy import authorship
from asst_deploy.backend import Backend
from asst_deploy.engine import export, lease, operations
from asst_deploy.errors import AsstDeployError, SpecError
from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.plan import Create, Delete, Update
from asst_deploy.sandbox.faults import FaultConfig, FaultRule
from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.spec.loader import load_project

from .conftest import NO_SLEEP, Deployer, assert_no_duplicates, write_project
from .test_interrupted import SERIAL, Crash, Crashing

FORECAST = {
    "name": "get_forecast",
    "description": "The forecast for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
PROJECT = {
    "asst-deploy.yaml": """\
project: gen
targets:
  sandbox:
    type: sandbox
default_target: sandbox
defaults:
  model: gpt-4o-mini
  metadata:
    team: platform
""",
    "assistants/tutor.yaml": """\
kind: assistant
key: tutor
name: Tutor
instructions: Work the sums out in code.
tools:
  - type: code_interpreter
tool_resources:
  code_interpreter:
    files: [data/*.csv]
metadata:
  subject: maths
""",
    "assistants/weather.yaml": """\
kind: assistant
key: weather
name: Weather
instructions: Answer with the forecast.
tools:
  - type: function
    file: functions/forecast.json
response_format:
  type: json_schema
  json_schema:
    name: forecast
    schema:
      type: object
      properties:
        summary: {type: string}
""",
    "assistants/greeter.yaml": """\
kind: assistant
key: greeter
name: Greeter
instructions: Say hello.
""",
    "vector_stores/docs.yaml": """\
kind: vector_store
key: docs
name: Docs
files: [knowledge/faq.txt]
""",
    "functions/forecast.json": json.dumps(FORECAST, indent=2) + "\n",
    "knowledge/faq.txt": "Q: Is it raining?\nA: Look outside.\n",
    "data/sums.csv": "a,b\n1,2\n",
}
ADAPTERS: dict[str, type[AssistantsBackend]] = {
    "assistants": AssistantsBackend,
    "agents": AgentsBackend,
}
# What the project becomes on each generation: (kind, key) of every managed object.
HOLDS = {
    "assistants": {("assistant", k) for k in ("tutor", "weather", "greeter")},
    "agents": {("agent", k) for k in ("tutor", "weather", "greeter")}
    | {("environment_template", "tutor")},
}
COMMON = {("vector_store", "docs"), ("file", "knowledge/faq.txt"), ("file", "data/sums.csv")}


@pytest.fixture(params=sorted(ADAPTERS))
def api(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def gen_backend(client: openai.OpenAI, api: str) -> Backend:
    return ADAPTERS[api](client)


@pytest.fixture
def gen(tmp_path: Path, gen_backend: Backend, api: str) -> Deployer:
    return Deployer(write_project(tmp_path / "gen", PROJECT), gen_backend, api=api)


def managed(backend: Backend) -> set[tuple[str, str]]:
    state = backend.read_state()
    assert_no_duplicates(state, "gen")
    found = {(o.kind, o.owner[1]) for o in state.all_objects() if o.owner[0] == "gen"}
    found |= {("file", f.identity.path) for f in state.files if f.identity}
    return {(k, str(key)) for k, key in found}


def the(backend: Backend, kind: str, key: str) -> str:
    state = backend.read_state()
    return next(o.id for o in state.of(kind) if o.owner[:2] == ("gen", key))


def test_apply_then_plan_is_empty(gen: Deployer, api: str) -> None:
    plan = gen.apply()
    assert {(a.kind, a.key) for a in plan.actions} == HOLDS[api] | COMMON
    assert all(isinstance(a, Create) for a in plan.actions)
    assert managed(gen.backend) == HOLDS[api] | COMMON
    assert gen.plan().empty


def test_reading_lists_only_the_generations_collections(
    gen: Deployer, api: str, server: SandboxServer
) -> None:
    gen.apply()
    before = server.log.total
    gen.plan()
    paths = {e.path for e in server.log.since(before)}
    assert ("/v1/assistants" in paths) == (api == "assistants")
    assert ("/v1/agents" in paths) == (api == "agents")


# (file, old, new) -> the field that changes, per generation
EDITS = [
    ("assistants/greeter.yaml", "name: Greeter", "name: Host", {"name"}),
    ("assistants/greeter.yaml", "Say hello.", "Say hi.", {"instructions"}),
    ("asst-deploy.yaml", "team: platform", "team: core", {"metadata"}),
    ("asst-deploy.yaml", "model: gpt-4o-mini", "model: gpt-4o", {"model"}),
    ("functions/forecast.json", "The forecast", "A forecast", {"tools"}),
    ("assistants/weather.yaml", "summary: {type: string}", "rain: {type: boolean}", None),
    ("data/sums.csv", "1,2", "3,4", None),
]


@pytest.mark.parametrize("edit", EDITS, ids=[e[2] for e in EDITS])
def test_an_edit_shows_exactly_that_field(
    gen: Deployer, api: str, edit: tuple[str, str, str, set[str] | None]
) -> None:
    rel, old, new, fields = edit
    gen.apply()
    gen.edit(rel, old, new)
    plan = gen.plan()
    changed = {(a.kind, c.field) for a in plan.actions if isinstance(a, Update) for c in a.changes}
    if rel == "assistants/weather.yaml":  # the response format: named as each API names it
        field = {"assistants": "response_format", "agents": "text_format"}[api]
        assert changed == {(f"{api[:-1]}", field)}
    elif rel == "data/sums.csv":  # a new file version: re-pointed where code runs
        user = {"assistants": "assistant", "agents": "environment_template"}[api]
        field = {"assistants": "code_interpreter_files", "agents": "files"}[api]
        assert changed == {(user, field)}
    else:
        assert fields is not None
        assert {f for _, f in changed} == fields
        assert {k for k, _ in changed} == {api[:-1]}
    gen.apply()
    assert gen.plan().empty


def test_out_of_band_edits_show_as_drift(gen: Deployer, api: str) -> None:
    gen.apply()
    kind = api[:-1]
    gen.backend.update(kind, the(gen.backend, kind, "greeter"), {"instructions": "By hand."})
    (action,) = gen.plan().actions
    assert isinstance(action, Update) and action.drift
    assert [c.field for c in action.changes] == ["instructions"]
    gen.apply()
    assert gen.plan().empty


def test_a_removed_spec_is_kept_without_prune_and_deleted_with_it(gen: Deployer, api: str) -> None:
    gen.apply()
    (gen.root / "assistants/tutor.yaml").unlink()
    assert not gen.plan().actions
    plan = gen.apply(prune=True)
    gone = {(a.kind, a.key) for a in plan.actions if isinstance(a, Delete)}
    expected = {(k, key) for k, key in HOLDS[api] if key == "tutor"} | {("file", "data/sums.csv")}
    assert gone == expected
    assert gen.plan(prune=True).empty


def test_destroy_deletes_everything_and_protect_refuses(gen: Deployer, api: str) -> None:
    gen.apply()
    gen.edit("assistants/greeter.yaml", "key: greeter", "key: greeter\nprotect: true")
    gen.apply()
    plan = operations.destroy_plan(gen.load(), gen.backend.read_state())
    assert plan.refused and "greeter" in plan.refused[0]
    gen.edit("assistants/greeter.yaml", "protect: true", "protect: false")
    gen.apply()
    gen.destroy()
    assert managed(gen.backend) == set()


def fresh_target(gen: Deployer) -> None:
    """Destroy everything, the deployment marker too (destroy keeps it): the target is as
    it was before the first apply."""
    gen.destroy()
    for marker in authorship.markers(gen.backend.read_state().leases).values():
        gen.backend.delete(authorship.MARKER_KIND, marker.id)


def calls_of_a_first_apply(gen: Deployer) -> int:
    spy = Crashing(gen.backend, k=0, committed=False)
    gen.apply(backend=spy, options=SERIAL)  # type: ignore[arg-type]
    fresh_target(gen)
    return len(spy.calls)


# 2 uploads, store + attach, 3 users (+ template); the deployment marker, a final proof of
# authorship on each object created but files, the marker sealed (authorship.py)
FIRST_APPLY = {"assistants": 13, "agents": 15}


@pytest.mark.parametrize("committed", [False, True], ids=["lost", "committed"])
def test_a_crash_at_every_call_converges_without_duplicates(
    gen: Deployer, api: str, committed: bool
) -> None:
    assert calls_of_a_first_apply(gen) == FIRST_APPLY[api]
    for k in range(1, FIRST_APPLY[api] + 1):
        crashing = Crashing(gen.backend, k, committed)
        with pytest.raises(Crash):
            gen.apply(backend=crashing, options=SERIAL)  # type: ignore[arg-type]
        gen.apply()
        assert gen.plan().empty, k
        assert managed(gen.backend) == HOLDS[api] | COMMON, k
        fresh_target(gen)


def test_faulty_writes_converge_without_duplicates(
    gen: Deployer, api: str, server: SandboxServer
) -> None:
    server.faults = FaultConfig(
        seed=11, rules=[FaultRule(method="POST", rate_500=0.1, rate_commit_then_fail=0.15)]
    )
    for _ in range(8):
        try:
            gen.apply()
            break
        except Exception:  # an apply that gave up: the next one carries on
            continue
    server.faults = FaultConfig()
    gen.apply()
    assert gen.plan().empty
    assert managed(gen.backend) == HOLDS[api] | COMMON


@pytest.fixture
def other(client: openai.OpenAI, api: str) -> Iterator[str]:
    """An object of the generation's kind that no project manages."""
    kind = api[:-1]
    made = ADAPTERS[api](client).create(kind, {"model": "gpt-4o-mini", "name": "theirs"})
    yield made.id


def test_unmanaged_objects_are_never_touched(gen: Deployer, api: str, other: str) -> None:
    gen.apply()
    gen.destroy()
    assert gen.backend.retrieve(api[:-1], other) is not None


def test_import_adopts_an_object_of_the_generation(gen: Deployer, api: str, other: str) -> None:
    from asst_deploy.engine.importing import import_object

    gen.apply()
    import_object(gen.backend, gen.load(), api[:-1], other, "adopted")
    plan = gen.plan(prune=True)
    (gone,) = [a for a in plan.actions if a.key == "adopted"]
    assert isinstance(gone, Delete) and gone.remote_id == other  # ours now: prune may delete it
    with pytest.raises(AsstDeployError, match="holds no"):
        import_object(
            gen.backend, gen.load(), {"assistants": "agent", "agents": "assistant"}[api], other, "x"
        )


def exported(gen: Deployer, backend: Backend, out: Path) -> Path:
    """`asst-deploy export --all --project gen` of what `backend` holds, into `out`. The API
    serves no content of files of purpose assistants: it comes from the source project."""
    state = backend.read_state()
    paths = {f.id: f.identity.path for f in state.files if f.identity}
    result = export.export(state, "gen", lambda i: (gen.root / paths[i]).read_bytes())
    assert not result.warnings and not result.skipped
    export.write(result, out, "gen", gen.load().target, force=False)
    return out


def test_an_export_plans_empty_against_what_it_was_exported_from(
    gen: Deployer, api: str, tmp_path: Path
) -> None:
    gen.apply()
    out = exported(gen, gen.backend, tmp_path / "out")
    again = Deployer(out, gen.backend, api=api)
    assert again.plan().empty
    assert {a.key for a in again.load().assistants} == {"tutor", "weather", "greeter"}


def test_an_assistants_export_deploys_unchanged_as_agents(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    """The migration: assistants exported, the specs deployed as agents, then no change."""
    gen = Deployer(write_project(tmp_path / "gen", PROJECT), AssistantsBackend(client))
    gen.apply()
    out = exported(gen, gen.backend, tmp_path / "out")
    agents = Deployer(out, AgentsBackend(client), api="agents")
    created = agents.apply()
    assert {(a.kind, a.key) for a in created.actions if a.kind != "file"} >= HOLDS["agents"]
    assert agents.plan().empty
    tutor = the(agents.backend, "environment_template", "tutor")
    assert tutor.startswith("envtpl_")


def test_a_saved_plan_goes_stale_when_the_object_changes(gen: Deployer, api: str) -> None:
    gen.apply()
    gen.edit("assistants/greeter.yaml", "Say hello.", "Say hi.")
    project = gen.load()
    plan, remote = operations.make_plan(project, gen.backend)
    assert operations.saved_plan_problems(plan, project, remote) == []
    kind = api[:-1]
    gen.backend.update(kind, the(gen.backend, kind, "greeter"), {"name": "meanwhile"})
    problems = operations.saved_plan_problems(plan, project, gen.backend.read_state())
    assert problems and f"{kind} greeter" in problems[0] and "changed" in problems[0]


def test_the_remote_lock_holds_on_every_generation(gen: Deployer) -> None:
    with (
        lease.held(gen.backend, "gen", retry=NO_SLEEP, holder="ci@one"),
        pytest.raises(lease.LockError, match="held by ci@one"),
        lease.held(gen.backend, "gen", retry=NO_SLEEP, holder="ci@two"),
    ):
        pass
    gen.apply()  # released: the next apply runs, and the marker is no resource of it
    assert gen.plan().empty


AGENT_ONLY = """\
kind: assistant
key: researcher
name: Researcher
instructions: Look things up.
reasoning_effort: high
service_tier: flex
multi_agent: {enabled: true, max_concurrent_subagents: 3}
compaction: {async: true}
tools:
  - type: web_search
    allowed_domains: [example.com]
  - type: mcp
    server_label: docs
    transport: {type: http, server_url: 'https://mcp.example.com/mcp'}
    allowed_tools: [search]
  - type: tool_search
"""


def test_the_agents_only_fields_deploy_and_plan_empty(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    files = {
        **PROJECT,
        "asst-deploy.yaml": PROJECT["asst-deploy.yaml"].replace(
            "sandbox\n", "sandbox\n    api: agents\n", 1
        ),
        "assistants/researcher.yaml": AGENT_ONLY,
    }
    agents = Deployer(write_project(tmp_path / "gen", files), AgentsBackend(client))
    agents.apply()
    assert agents.plan().empty
    for old, new, field in [
        ("effort: high", "effort: low", "reasoning_effort"),
        ("tier: flex", "tier: priority", "service_tier"),
        ("subagents: 3", "subagents: 4", "multi_agent"),
        ("async: true", "async: false", "compaction"),
        ("[search]", "[search, fetch]", "tools"),
    ]:
        agents.edit("assistants/researcher.yaml", old, new)
        (action,) = agents.plan().actions
        assert isinstance(action, Update) and [c.field for c in action.changes] == [field]
        agents.apply()
        assert agents.plan().empty, field


def test_an_export_adopts_only_on_the_target_it_was_read_from(
    client: openai.OpenAI, tmp_path: Path
) -> None:
    """Issue 26, case 39: an export of an agents target deploys cleanly to an assistants
    target (its `adopt:` ids name agents, which that target does not hold)."""
    agents = AgentsBackend(client)
    made = agents.create("agent", {"model": "gpt-4o-mini", "name": "helper", "instructions": "Hi."})
    source = write_project(tmp_path / "gen", {"asst-deploy.yaml": "project: gen\n"})
    name = export.target_name(load_project(source).target)
    result = export.export(agents.read_state(), "gen-export", lambda i: None, None, name)
    out = tmp_path / "out"
    export.write(result, out, "gen-export", load_project(source).target, force=False)
    assert f"adopt:\n  {name}: {made.id}\n" in (out / "assistants/helper.yaml").read_text()
    (out / "asst-deploy.yaml").write_text(
        "project: gen-export\n"
        "targets:\n  sandbox: {type: sandbox, api: agents}\n"
        "  other: {type: sandbox, api: assistants}\n"
        "default_target: sandbox\nenvironments:\n  assist: {target: other}\n"
    )
    elsewhere = Deployer(out, AssistantsBackend(client), env="assist").plan()
    assert not elsewhere.refused
    assert [(a.verb, a.kind, a.key) for a in elsewhere.actions] == [
        ("create", "assistant", "helper")
    ]
    there = Deployer(out, agents).plan()
    assert not there.refused
    (adopted,) = there.actions
    assert isinstance(adopted, Update) and adopted.adopt and adopted.remote_id == made.id


def test_an_adopt_naming_an_undeclared_target_is_a_located_error(tmp_path: Path) -> None:
    root = write_project(tmp_path / "gen", PROJECT)
    (root / "assistants/greeter.yaml").write_text(
        "kind: assistant\nkey: greeter\nadopt:\n  sandbx: asst_1\n"
    )
    with pytest.raises(SpecError) as caught:
        load_project(root)
    (problem,) = caught.value.problems
    assert problem.location.line == 4 and "greeter.yaml" in problem.location.file
    assert "adopt names target 'sandbx'" in problem.message and "sandbox" in problem.hint
