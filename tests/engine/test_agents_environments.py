"""Declared environments (`kind: environment`) and skills (`kind: skill`) on an agents
target, end to end through the sandbox.

An environment deploys an environment template of key `environment/<key>`, beside the
templates derived from assistants' code_interpreter files (an assistant may share its
key); an assistant naming `environment:` gets an agent that runs in it. Its write-only
fields (env, setup commands, blocked domains) come back as digests recorded in the
template's name; a skill is its folder's content, known again by the tag at the end of its
description.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openai
import pytest

from asst_deploy import identity
from asst_deploy.engine import operations, render
from asst_deploy.engine.apply import apply_plan
from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.kinds import skill as skill_kind
from asst_deploy.plan import Create, Delete, Plan, Update
from asst_deploy.sandbox.routes.agents import TEMPLATE
from asst_deploy.sandbox.server import SandboxServer

from .conftest import Deployer, assert_no_duplicates, managed_counts, write_project
from .test_cli import run

WAREHOUSE_TOKEN = "warehouse-token-1f9d3c"
ROTATED = "warehouse-token-rotated-77ab"
ENV_KEY = "environment/analysis"
ENVIRONMENT = """\
kind: environment
key: analysis
packages: {python: [pandas==2.3.3], system: [jq]}
network: {access: restricted, allowed_domains: [api.example.com]}
files: [knowledge/sales.csv]
skills: [report-writer]
setup_commands: [{command: "python -c 'import pandas'"}]
env: {REGION: eu, WAREHOUSE_TOKEN: {from_env: WAREHOUSE_TOKEN}}
"""
MANIFEST = """\
---
name: report-writer
description: Writes the daily sales report from the warehouse data.
---
# Report writer

Run scripts/report.py and summarise its table.
"""
PROJECT = {
    "asst-deploy.yaml": """\
project: envs
targets:
  sandbox: {type: sandbox, api: agents, db: .state/sandbox.db}
default_target: sandbox
defaults:
  model: gpt-5.4-mini
""",
    "environments/analysis.yaml": ENVIRONMENT,
    "skills/report-writer.yaml": "kind: skill\nkey: report-writer\npath: skills/report-writer\n",
    "skills/report-writer/SKILL.md": MANIFEST,
    "skills/report-writer/scripts/report.py": "print('day,amount')\n",
    "assistants/analyst.yaml": """\
kind: assistant
key: analyst
instructions: Analyse the sales.
environment: analysis
""",
    # runs code in a template of its own, of the same key as the environment
    "assistants/analysis.yaml": """\
kind: assistant
key: analysis
instructions: Run the numbers.
tools: [{type: code_interpreter}]
tool_resources: {code_interpreter: {files: [knowledge/sales.csv]}}
""",
    "knowledge/sales.csv": "day,amount\n1,10\n2,20\n",
    "knowledge/regions.csv": "region\neu\nus\n",
}
SPEC = "environments/analysis.yaml"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("WAREHOUSE_TOKEN", WAREHOUSE_TOKEN)
    return monkeypatch


@pytest.fixture
def envs(tmp_path: Path, client: openai.OpenAI, secrets: pytest.MonkeyPatch) -> Deployer:
    return Deployer(write_project(tmp_path / "envs", PROJECT), AgentsBackend(client))


def templates(client: openai.OpenAI) -> dict[str, str]:
    """Template id -> name."""
    return {t.id: str(t.name) for t in client.beta.agents.environments.templates.list()}


def declared_id(envs: Deployer) -> str:
    state = envs.backend.read_state()
    return next(o.id for o in state.of("environment_template") if o.owner.key == ENV_KEY)


def stored(server: SandboxServer, template_id: str) -> dict[str, object]:
    """What the sandbox keeps of a template, write-only parts too."""
    found = server.sandbox.store.get(TEMPLATE, template_id)
    assert found is not None
    return found


def shown(plan: Plan) -> str:
    return render.text(plan) + render.markdown(plan) + render.to_json(plan)


def the_update(plan: Plan) -> Update:
    (action,) = plan.actions
    assert isinstance(action, Update), action
    return action


def test_apply_then_plan_is_empty_and_the_keys_do_not_collide(
    envs: Deployer, server: SandboxServer, client: openai.OpenAI
) -> None:
    plan = envs.apply()
    assert {(a.kind, a.key) for a in plan.actions if isinstance(a, Create)} == {
        ("file", "knowledge/sales.csv"),
        ("skill", "report-writer"),
        ("environment_template", ENV_KEY),
        ("environment_template", "analysis"),
        ("agent", "analyst"),
        ("agent", "analysis"),
    }
    assert envs.plan().empty
    state = envs.backend.read_state()
    assert_no_duplicates(state, "envs")
    by_key = {o.owner.key: o for o in state.of("environment_template")}
    declared, derived = by_key[ENV_KEY], by_key["analysis"]
    assert declared.data["name"].startswith("envs~analysis~") and " environment " in str(
        declared.data["name"]
    )
    agents = {o.owner.key: o for o in state.of("agent")}
    assert agents["analyst"].data["metadata"][identity.TEMPLATE_KEY] == declared.id
    assert agents["analysis"].data["metadata"][identity.TEMPLATE_KEY] == derived.id
    # the declared template as the specs say, its write-only parts held by the sandbox only
    live = stored(server, declared.id)
    assert live["env"] == {"REGION": "eu", "WAREHOUSE_TOKEN": WAREHOUSE_TOKEN}
    assert live["setup_commands"] == [{"command": "python -c 'import pandas'"}]
    assert live["network"] == {
        "access": "restricted",
        "allowed_domains": ["api.example.com"],
        "blocked_domains": [],
    }
    (skill,) = client.skills.list()
    assert skill.name == "report-writer"
    assert skill.description.startswith("Writes the daily sales report from the warehouse data.")
    assert [
        s.skill_id for s in client.beta.agents.environments.templates.retrieve(declared.id).skills
    ] == [skill.id]
    assert WAREHOUSE_TOKEN not in shown(plan) and "(secret from $WAREHOUSE_TOKEN)" in shown(plan)
    assert WAREHOUSE_TOKEN not in str(templates(client))


EDITS: dict[str, tuple[str, str, str]] = {
    "packages": ("packages", "system: [jq]", "system: [jq, curl]"),
    "network": (
        "network",
        "allowed_domains: [api.example.com]",
        "allowed_domains: [db.example.com]",
    ),
    "blocked_domains": (
        "network",
        "allowed_domains: [api.example.com]",
        "blocked_domains: [ads.example.com]",
    ),
    "files": (
        "files",
        "files: [knowledge/sales.csv]",
        "files: [knowledge/sales.csv, knowledge/regions.csv]",
    ),
    "setup_commands": ("setup_commands", "import pandas", "import pandas, numpy"),
    "env value": ("env", "REGION: eu", "REGION: us"),
    "env name": ("env", "REGION: eu", "AREA: eu"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_field_edit_shows_alone_and_is_one_update(
    envs: Deployer, server: SandboxServer, edit: str
) -> None:
    field, old, new = EDITS[edit]
    envs.apply()
    before = declared_id(envs)
    envs.edit(SPEC, old, new)
    plan = envs.plan()
    files = [a for a in plan.actions if a.kind == "file"]
    action = next(a for a in plan.actions if a.kind == "environment_template")
    assert isinstance(action, Update) and not action.drift
    assert (action.key, [c.field for c in action.changes]) == (ENV_KEY, [field])
    assert len(plan.actions) == 1 + len(files)  # a new file is uploaded first
    envs.apply()
    assert declared_id(envs) == before  # in place
    assert envs.plan().empty


def test_a_write_only_edit_shows_as_a_digest_never_a_value(envs: Deployer) -> None:
    envs.apply()
    envs.edit(SPEC, "import pandas", "import polars")
    plan = envs.plan()
    change = the_update(plan).changes[0]
    assert str(change.before).startswith("(write-only) ")
    assert str(change.after).startswith("(write-only) ") and change.before != change.after
    assert "setup_commands" in render.text(plan)


def test_a_rotated_secret_is_one_secret_changed_and_an_update_in_place(
    envs: Deployer, server: SandboxServer, client: openai.OpenAI, secrets: pytest.MonkeyPatch
) -> None:
    envs.apply()
    before = declared_id(envs)
    secrets.setenv("WAREHOUSE_TOKEN", ROTATED)
    plan = envs.plan()
    action = the_update(plan)
    assert (action.kind, action.key, [c.field for c in action.changes]) == (
        "environment_template",
        ENV_KEY,
        ["env_secrets"],
    )
    text = render.text(plan)
    assert text.count("secret changed") == 1
    assert "env_secrets: secret changed (from $WAREHOUSE_TOKEN)" in text
    assert render.markdown(plan).count("secret changed") == 1
    for value in (WAREHOUSE_TOKEN, ROTATED):
        assert value not in shown(plan)
    envs.apply()
    assert declared_id(envs) == before
    assert stored(server, before)["env"] == {"REGION": "eu", "WAREHOUSE_TOKEN": ROTATED}
    assert ROTATED not in str(templates(client))
    assert envs.plan().empty


def test_a_missing_variable_is_an_error_before_any_call(
    envs: Deployer, secrets: pytest.MonkeyPatch
) -> None:
    secrets.delenv("WAREHOUSE_TOKEN")
    result = run("plan", str(envs.root))
    assert result.code == 1
    assert "the environment variable WAREHOUSE_TOKEN is not set" in result.err
    assert "environment_template/environment/analysis/env/WAREHOUSE_TOKEN" in result.err
    assert "nothing was called" in result.err
    assert not (envs.root / ".state").exists()


def test_an_out_of_band_edit_shows_as_drift(envs: Deployer, client: openai.OpenAI) -> None:
    envs.apply()
    template = declared_id(envs)
    client.beta.agents.environments.templates.update(
        template, packages={"python": ["pandas==2.3.3"], "npm": ["left-pad"], "system": ["jq"]}
    )
    plan = envs.plan()
    action = the_update(plan)
    assert action.drift and [c.field for c in action.changes] == ["packages"]
    envs.apply()
    assert envs.plan().empty


def test_a_changed_skill_folder_is_a_new_default_version_of_the_same_skill(
    envs: Deployer, client: openai.OpenAI
) -> None:
    envs.apply()
    (skill,) = client.skills.list()
    (envs.root / "skills/report-writer/scripts/report.py").write_text(
        "print('day,amount,region')\n"
    )
    action = the_update(envs.plan())
    assert (action.kind, action.key, [c.field for c in action.changes]) == (
        "skill",
        "report-writer",
        ["content"],
    )
    envs.apply()
    (after,) = client.skills.list()
    assert after.id == skill.id
    assert after.default_version == after.latest_version != skill.default_version
    assert envs.plan().empty
    # what the service shows of it changes with SKILL.md: name and description, and content
    envs.edit("skills/report-writer/SKILL.md", "the daily sales", "the weekly sales")
    action = the_update(envs.plan())
    assert [c.field for c in action.changes] == ["content", "description"]
    envs.apply()
    assert envs.plan().empty


def test_a_skill_made_default_outside_shows_its_content(
    envs: Deployer, client: openai.OpenAI
) -> None:
    envs.apply()
    (envs.root / "skills/report-writer/scripts/report.py").write_text("print('v2')\n")
    envs.apply()
    (skill,) = client.skills.list()
    client.skills.update(skill.id, default_version="1")  # back to the first upload
    action = the_update(envs.plan())
    assert (action.kind, [c.field for c in action.changes]) == ("skill", ["content"])
    envs.apply()
    assert envs.plan().empty


def test_skills_by_id_and_new_skills_of_the_project(envs: Deployer, client: openai.OpenAI) -> None:
    envs.apply()
    theirs = client.skills.create(
        files=("shared.zip", _zip({"shared/SKILL.md": "---\nname: shared\ndescription: x\n---\n"}))
    )
    envs.edit(
        SPEC, "skills: [report-writer]", f"skills: [report-writer, {{skill_id: {theirs.id}}}]"
    )
    action = the_update(envs.plan())
    assert [c.field for c in action.changes] == ["skills"]
    envs.apply()
    assert envs.plan().empty
    # another skill of the project: made first, then named
    write_project(
        envs.root,
        {
            "skills/charts.yaml": "kind: skill\nkey: charts\npath: skills/charts\n",
            "skills/charts/SKILL.md": "---\nname: charts\ndescription: Draws charts.\n---\n",
        },
    )
    envs.edit(SPEC, "skills: [report-writer,", "skills: [charts, report-writer,")
    plan = envs.plan()
    assert [(type(a).__name__, a.kind) for a in plan.actions] == [
        ("Create", "skill"),
        ("Update", "environment_template"),
    ]
    envs.apply()
    assert envs.plan().empty
    template = client.beta.agents.environments.templates.retrieve(declared_id(envs))
    names = {s.id: s.name for s in client.skills.list()}
    assert [names[s.skill_id] for s in template.skills] == ["charts", "report-writer", "shared"]


def test_destroy_leaves_nothing(envs: Deployer, client: openai.OpenAI) -> None:
    envs.apply()
    plan = envs.destroy()
    assert {a.kind for a in plan.actions} >= {"skill", "environment_template", "agent"}
    assert all(isinstance(a, Delete) for a in plan.actions)
    assert not managed_counts(envs.backend.read_state(), "envs")
    assert list(client.skills.list()) == []
    assert templates(client) == {}


def test_a_saved_plan_applies_and_one_made_before_a_rotation_is_refused(
    envs: Deployer, tmp_path: Path, secrets: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "plan.json"
    assert run("plan", str(envs.root), "--out", str(out)).code == 0
    assert WAREHOUSE_TOKEN not in out.read_text()
    result = run("apply", str(out))
    assert result.code == 0, result.err
    assert WAREHOUSE_TOKEN not in result.out + result.err
    assert run("plan", str(envs.root), "--detailed-exitcode").code == 0
    secrets.setenv("WAREHOUSE_TOKEN", ROTATED)
    assert run("plan", str(envs.root), "--out", str(out)).code == 0
    secrets.setenv("WAREHOUSE_TOKEN", "rotated-again-0c4e")
    result = run("apply", str(out))
    assert result.code == 1
    assert "is not what a fresh plan would do" in result.err
    assert "rotated-again-0c4e" not in result.out + result.err


def test_an_assistant_that_leaves_its_environment_gets_its_own_template(
    envs: Deployer,
) -> None:
    envs.apply()
    envs.edit(
        "assistants/analyst.yaml", "environment: analysis", "tools: [{type: code_interpreter}]"
    )
    plan = envs.plan()
    made = {(a.kind, a.key) for a in plan.actions if isinstance(a, Create)}
    updated = {(a.kind, a.key) for a in plan.actions if isinstance(a, Update)}
    assert made == {("environment_template", "analyst")}
    assert updated == {("agent", "analyst")}
    envs.apply()
    assert envs.plan().empty


def _zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_the_tag_parses_back() -> None:
    tags = {
        identity.PROJECT_KEY: "envs",
        identity.SPEC_KEY: "report-writer",
        identity.HASH_KEY: "0123456789abcdef+protect~fedcba9876543210",
        skill_kind.CONTENT_KEY: "00112233445566aa",
        skill_kind.PATH_KEY: "skills/report (v2)",
    }
    description, parsed = skill_kind.parse_tag("Writes. " + skill_kind.tag_text(tags))
    assert (description, parsed) == ("Writes.", tags)
    assert skill_kind.parse_tag("Plain (asst-deploy words)") == ("Plain (asst-deploy words)", None)


def test_refresh_only_keeps_the_agents_links_to_its_template_and_vaults(
    envs: Deployer, client: openai.OpenAI
) -> None:
    (envs.root / "vaults").mkdir()
    envs.write(
        "vaults/crm.yaml",
        "kind: vault\nkey: crm\ncredentials:\n  - name: crm-mcp\n    auth: {type: static_bearer, "
        'mcp_server_url: "https://mcp.example.com/crm", token: {from_env: WAREHOUSE_TOKEN}}\n',
    )
    envs.edit(
        "assistants/analyst.yaml",
        "environment: analysis\n",
        "environment: analysis\ntools:\n  - type: mcp\n    server_label: crm\n"
        '    transport: {type: http, server_url: "https://mcp.example.com/crm"}\n'
        "    credential: crm/crm-mcp\n",
    )
    envs.apply()
    agent = next(
        a for a in client.beta.agents.list() if a.metadata.get(identity.SPEC_KEY) == "analyst"
    )
    links = {k: agent.metadata[k] for k in (identity.TEMPLATE_KEY, identity.VAULTS_KEY)}
    client.beta.agents.update(agent.id, instructions="Edited by hand.")
    project = envs.load()
    remote = envs.backend.read_state()
    refresh = operations.refresh_plan(project, remote)
    assert [(a.kind, a.key) for a in refresh.actions] == [("agent", "analyst")]
    apply_plan(refresh, project.root, envs.backend, remote, options=envs.options)
    kept = client.beta.agents.retrieve(agent.id).metadata
    assert {k: kept.get(k) for k in links} == links
    # the way back to the spec is the instructions alone, not the template or the tools
    (action,) = envs.plan().actions
    assert isinstance(action, Update) and not action.drift
    assert [c.field for c in action.changes] == ["instructions"]
    envs.apply()
    assert envs.plan().empty
