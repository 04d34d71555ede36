"""Automations on an agents target, end to end through the sandbox: created, updated,
paused and resumed from the spec; drift; those an agent made itself never touched;
destroy; saved plans; and the next run each schedule has, which `plan` lists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.beta.agents.automations.automation_invocation import AutomationInvocation

from asst_deploy import generations, identity, schedule
from asst_deploy.engine import render
from asst_deploy.engine.importing import import_object
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.plan import Create, Replace, Update
from asst_deploy.sandbox.routes.agent_automations import SANDBOX_RUN
from asst_deploy.sandbox.server import SandboxServer

from .conftest import Deployer, write_project
from .test_cli import run

WAREHOUSE_TOKEN = "warehouse-token-3f9e1c"
NIGHTLY = "automations/nightly.yaml"
YEARLY = "automations/yearly.yaml"
PROJECT = {
    "asst-deploy.yaml": """\
project: sched
targets:
  sandbox: {type: sandbox, api: agents, db: .state/sandbox.db}
default_target: sandbox
""",
    "assistants/analyst.yaml": """\
kind: assistant
key: analyst
model: gpt-5.4-mini
instructions: Analyse the sales numbers.
""",
    "assistants/writer.yaml": """\
kind: assistant
key: writer
model: gpt-5.4-mini
instructions: Write reports.
tools: [{type: automations}]
""",
    "assistants/coder.yaml": """\
kind: assistant
key: coder
model: gpt-5.4-mini
instructions: Compute with the data.
tools: [{type: code_interpreter}]
tool_resources: {code_interpreter: {files: [data/sales.csv]}}
""",
    "data/sales.csv": "day,total\n1,10\n",
    "vaults/crm.yaml": """\
kind: vault
key: crm
credentials:
  - name: warehouse
    auth:
      type: environment_variable
      secret_name: WAREHOUSE_TOKEN
      secret_value: {from_env: WAREHOUSE_TOKEN}
      networking: {type: limited, allowed_hosts: [db.example.com]}
""",
    NIGHTLY: """\
kind: automation
key: nightly
name: Nightly report
type: periodic
expression: "0 6 * * *"
timezone: Europe/Berlin
metadata: {team: data}
target:
  new_session:
    agent: analyst
    vaults: [crm]
    input: Write the daily sales report.
""",
    YEARLY: """\
kind: automation
key: yearly
type: once
run_at: 2099-01-01T06:00:00+01:00
paused: false
target: {new_session: {agent: writer, input: Write the yearly report.}}
""",
}


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WAREHOUSE_TOKEN", WAREHOUSE_TOKEN)
    return write_project(tmp_path / "sched", PROJECT)


@pytest.fixture
def auto(proj: Path, client: openai.OpenAI) -> Deployer:
    return Deployer(proj, AgentsBackend(client))


def automations(client: openai.OpenAI) -> dict[str, Any]:
    """Every automation on the server by name, as the SDK reads it."""
    return {a.name: a for a in client.beta.agents.automations.list(limit=100)}


def ids_of(client: openai.OpenAI) -> dict[str, str]:
    return {
        **{f"agent {a.name}": a.id for a in client.beta.agents.list()},
        **{f"vault {v.name}": v.id for v in client.beta.agents.vaults.list()},
    }


def test_apply_then_plan_is_empty(auto: Deployer, client: openai.OpenAI) -> None:
    applied = auto.apply()
    made = {(a.kind, a.key) for a in applied.actions if isinstance(a, Create)}
    assert {("automation", "nightly"), ("automation", "yearly")} <= made
    assert auto.plan().empty
    found = automations(client)
    nightly, yearly = found["Nightly report"], found["yearly"]
    agents = {a.metadata[identity.SPEC_KEY]: a.id for a in client.beta.agents.list() if a.metadata}
    (vault,) = client.beta.agents.vaults.list()
    assert nightly.type == "periodic" and nightly.expression == "0 6 * * *"
    assert nightly.timezone == "Europe/Berlin" and nightly.status == "active"
    assert nightly.created_by.type == "developer"
    assert nightly.target.type == "new_session"
    assert nightly.target.agent_id == agents["analyst"]
    assert nightly.target.vault_ids == [vault.id]
    assert nightly.target.environment.type == "none"
    assert nightly.target.input[0].content[0].text == "Write the daily sales report."  # type: ignore[union-attr]
    assert nightly.metadata["team"] == "data"
    assert nightly.metadata[identity.PROJECT_KEY] == "sched"
    assert yearly.type == "once"
    assert yearly.run_at == schedule.parse_time("2099-01-01T06:00:00+01:00")
    assert yearly.target.agent_id == agents["writer"]


@pytest.mark.parametrize(
    ("spec", "old", "new", "field"),
    [
        (NIGHTLY, "name: Nightly report", "name: Morning report", "name"),
        (NIGHTLY, '"0 6 * * *"', '"30 7 * * MON-FRI"', "expression"),
        (NIGHTLY, "Europe/Berlin", "America/New_York", "timezone"),
        (NIGHTLY, "{team: data}", "{team: sales}", "metadata"),
        (NIGHTLY, "agent: analyst", "agent: writer", "target.agent_id"),
        (NIGHTLY, "vaults: [crm]", "vaults: []", "target.vault_ids"),
        (NIGHTLY, "daily sales report", "weekly sales report", "target.input"),
        (YEARLY, "2099-01-01T06:00:00+01:00", "2099-06-01T06:00:00Z", "run_at"),
        (YEARLY, "paused: false", "paused: true", "status"),
    ],
)
def test_an_edit_shows_as_that_field_alone(
    auto: Deployer, spec: str, old: str, new: str, field: str
) -> None:
    auto.apply()
    auto.edit(spec, old, new)
    (action,) = auto.plan().actions
    assert isinstance(action, Update) and not action.drift
    assert [c.field for c in action.changes] == [field]
    auto.apply()
    assert auto.plan().empty  # and the edit itself round-trips


def test_sessions_run_where_the_agents_code_runs(auto: Deployer, client: openai.OpenAI) -> None:
    # an automation of an agent that runs code starts its sessions in the agent's template
    auto.apply()
    auto.edit(NIGHTLY, "agent: analyst", "agent: coder")
    (action,) = auto.plan().actions
    assert isinstance(action, Update)
    assert [c.field for c in action.changes] == ["target.agent_id", "target.environment"]
    auto.apply()
    assert auto.plan().empty
    (template,) = client.beta.agents.environments.templates.list()
    environment = automations(client)["Nightly report"].target.environment
    assert environment.type == "openai_hosted"
    assert environment.environment_template_id == template.id


def run_now(client: openai.OpenAI, automation_id: str) -> AutomationInvocation:
    """The sandbox-only endpoint: deliver the next scheduled run now."""
    return client.post(
        SANDBOX_RUN.format(automation_id=automation_id),
        cast_to=AutomationInvocation,
        options={"headers": {"OpenAI-Beta": "agents=v1"}},
    )


def writes(server: SandboxServer, since: int) -> list[str]:
    return [f"{e.method} {e.path}" for e in server.log.since(since) if e.method != "GET"]


def test_pause_and_resume_are_the_apis_own_calls(
    auto: Deployer, client: openai.OpenAI, server: SandboxServer
) -> None:
    auto.apply()
    automation_id = automations(client)["Nightly report"].id
    auto.edit(NIGHTLY, "timezone: Europe/Berlin", "timezone: Europe/Berlin\npaused: true")
    (action,) = auto.plan().actions
    assert isinstance(action, Update)
    assert [(c.field, c.before, c.after) for c in action.changes] == [
        ("status", "active", "paused")
    ]
    start = server.log.total
    auto.apply()
    assert writes(server, start) == [
        f"POST /v1/agents/automations/{automation_id}",  # the new stamp in its metadata
        f"POST /v1/agents/automations/{automation_id}/pause",
    ]
    assert automations(client)["Nightly report"].status == "paused"
    assert auto.plan().empty
    auto.edit(NIGHTLY, "paused: true", "paused: false")
    start = server.log.total
    auto.apply()
    assert writes(server, start)[-1] == f"POST /v1/agents/automations/{automation_id}/resume"
    assert automations(client)["Nightly report"].status == "active"
    assert auto.plan().empty


def test_an_automation_made_paused_is_paused_after_its_create(
    auto: Deployer, client: openai.OpenAI
) -> None:
    auto.edit(YEARLY, "paused: false", "paused: true")
    auto.apply()
    assert automations(client)["yearly"].status == "paused"
    assert auto.plan().empty


def test_a_change_of_type_replaces_the_automation(auto: Deployer, client: openai.OpenAI) -> None:
    auto.apply()
    before = automations(client)["Nightly report"].id
    auto.edit(NIGHTLY, "type: periodic", "type: once\nrun_at: 2099-03-01T06:00:00Z")
    auto.edit(NIGHTLY, 'expression: "0 6 * * *"\ntimezone: Europe/Berlin\n', "")
    (action,) = auto.plan().actions
    assert isinstance(action, Replace) and "type" in action.reason
    auto.apply()
    assert automations(client)["Nightly report"].id != before
    assert auto.plan().empty


def test_a_completed_one_time_automation_is_made_anew(
    auto: Deployer, client: openai.OpenAI
) -> None:
    auto.apply()
    yearly = automations(client)["yearly"]
    run_now(client, yearly.id)  # its one run, delivered now
    assert automations(client)["yearly"].status == "completed"
    (action,) = auto.plan().actions
    assert isinstance(action, Replace) and action.key == "yearly"
    assert [(c.field, c.before, c.after) for c in action.changes] == [
        ("status", "completed", "active")
    ]
    auto.apply()
    assert automations(client)["yearly"].status == "active"
    assert auto.plan().empty


def test_out_of_band_edits_show_as_drift(auto: Deployer, client: openai.OpenAI) -> None:
    auto.apply()
    nightly = automations(client)["Nightly report"]
    client.beta.agents.automations.update(nightly.id, expression="0 7 * * *")
    client.beta.agents.automations.pause(nightly.id)
    (action,) = auto.plan().actions
    assert isinstance(action, Update) and action.drift
    assert [(c.field, c.before, c.after) for c in action.changes] == [
        ("expression", "0 7 * * *", "0 6 * * *"),
        ("status", "paused", "active"),
    ]
    auto.apply()
    live = automations(client)["Nightly report"]
    assert (live.expression, live.status) == ("0 6 * * *", "active")
    assert auto.plan().empty


def agent_made(server: SandboxServer, client: openai.OpenAI, metadata: dict[str, str]) -> str:
    """An automation a session's agent made itself: the writer agent (it has the automations
    tool) told to, in a session, by a sandbox rule calling that tool."""
    model = server.sandbox.model
    model.step_delay = 0
    ask = f"Remind me every morning ({len(model.rules)})"
    model.add_rule(
        match=re.escape(ask),
        automation={
            "name": "Reminder the agent set",
            "expression": "0 9 * * *",
            "timezone": "UTC",
            "metadata": metadata,
        },
        reply="I will remind you.",
    )
    writer = next(
        a for a in client.beta.agents.list() if a.metadata.get(identity.SPEC_KEY) == "writer"
    )
    session = client.beta.agents.sessions.create(
        agent_id=writer.id,
        environment={"type": "none"},
        input=[{"role": "user", "content": [{"type": "input_text", "text": ask}]}],
    )
    assert client.beta.agents.sessions.retrieve(session.id).status == "idle"
    (made,) = [
        a
        for a in client.beta.agents.automations.list(session_id=session.id)
        if a.name == "Reminder the agent set"
    ]
    by = made.created_by
    assert (by.type, getattr(by, "session_id", None)) == ("agent", session.id)
    assert getattr(by, "tool_call_id", "").startswith("call_")
    assert made.target.type == "existing_session" and made.target.session_id == session.id
    assert dict(made.metadata) == metadata
    return made.id


def test_automations_an_agent_made_are_never_touched(
    auto: Deployer, client: openai.OpenAI, server: SandboxServer
) -> None:
    auto.apply()
    ours = automations(client)["Nightly report"]
    # one bare, one carrying our automation's very tags (an agent copied them)
    bare = agent_made(server, client, {})
    copied = agent_made(server, client, dict(ours.metadata))
    before = {i: client.beta.agents.automations.retrieve(i).model_dump() for i in (bare, copied)}
    plan = auto.plan(prune=True)
    assert plan.empty and not plan.kept and not plan.lookalikes
    auto.edit(NIGHTLY, "name: Nightly report", "name: Morning report")
    (action,) = auto.plan(prune=True).actions  # ours only, not drift of the copy
    assert action.remote_id == ours.id and not getattr(action, "drift", False)
    auto.apply(prune=True)
    # adopting one is refused, and so is importing it
    auto.write(YEARLY, PROJECT[YEARLY] + f"adopt: {bare}\n")
    project = auto.load()
    refused = auto.plan().refused
    session = client.beta.agents.automations.retrieve(bare).created_by
    assert refused == (
        f"automation 'yearly': adopt: {bare} is refused: an agent created it (created_by: "
        f"agent, in session {getattr(session, 'session_id', None)}); it belongs to that "
        "session, and asst-deploy never manages it",
    )
    with pytest.raises(AsstDeployError, match="cannot be imported: an agent created it"):
        import_object(auto.backend, project, "automation", bare, "reminder")
    auto.write(YEARLY, PROJECT[YEARLY])
    auto.destroy()
    left = {a.id for a in client.beta.agents.automations.list()}
    assert left == {bare, copied}
    after = {i: client.beta.agents.automations.retrieve(i).model_dump() for i in (bare, copied)}
    assert after == before


def test_an_automation_made_by_hand_is_adopted(auto: Deployer, client: openai.OpenAI) -> None:
    (auto.root / YEARLY).unlink()
    auto.apply()
    writer = next(
        a for a in client.beta.agents.list() if a.metadata.get(identity.SPEC_KEY) == "writer"
    )
    by_hand = client.beta.agents.automations.create(
        type="once",
        name="yearly",
        run_at=schedule.parse_time("2099-01-01T06:00:00+01:00"),
        target={
            "type": "new_session",
            "agent_id": writer.id,
            "environment": {"type": "none"},
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "Old text"}]}],
        },
    )
    auto.write(YEARLY, PROJECT[YEARLY] + f"adopt: {by_hand.id}\n")
    (action,) = auto.plan().actions
    assert isinstance(action, Update) and action.adopt and action.remote_id == by_hand.id
    assert [c.field for c in action.changes] == ["target.input"]
    auto.apply()
    assert auto.plan().empty
    assert automations(client)["yearly"].metadata[identity.SPEC_KEY] == "yearly"


def test_destroy_leaves_nothing(auto: Deployer, client: openai.OpenAI) -> None:
    auto.apply()
    plan = auto.destroy()
    deleted = [(a.kind, a.key) for a in plan.actions]
    # the automations go first: nothing they start is deleted while they point at it
    assert deleted[:2] == [("automation", "nightly"), ("automation", "yearly")]
    assert list(client.beta.agents.automations.list()) == []
    assert list(client.beta.agents.list()) == []
    assert list(client.beta.agents.vaults.list()) == []


def test_a_saved_plan_applies_and_plan_lists_the_next_runs(
    proj: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Friday 2027-03-26, 12:00 UTC: the nightly runs Saturday 06:00 CET; then the clocks
    # go forward, and Sunday's run is at 06:00 CEST, an hour earlier in UTC
    monkeypatch.setenv(schedule.NOW_VARIABLE, "2027-03-26T12:00:00Z")
    out = tmp_path / "plan.json"
    made = run("plan", str(proj), "--out", str(out))
    assert made.code == 0, made.err
    assert (
        "automation nightly: next run Sat 2027-03-27 06:00 CET (Europe/Berlin; "
        "2027-03-27T05:00:00Z)" in made.err
    )
    assert "automation yearly: runs once, Thu 2099-01-01 05:00 UTC (2099-01-01T05:00:00Z)" in (
        made.err
    )
    planned = {(a["kind"], a["key"]) for a in json.loads(out.read_text())["actions"]}
    assert {("automation", "nightly"), ("automation", "yearly")} <= planned
    applied = run("apply", str(out))
    assert applied.code == 0, applied.err
    monkeypatch.setenv(schedule.NOW_VARIABLE, "2027-03-27T12:00:00Z")
    again = run("plan", str(proj), "--detailed-exitcode")
    assert again.code == 0, again.err
    assert "next run Sun 2027-03-28 06:00 CEST (Europe/Berlin; 2027-03-28T04:00:00Z)" in again.err


NEXT_RUNS = [
    {
        "kind": "automation",
        "key": "nightly",
        "type": "periodic",
        "expression": "0 6 * * *",
        "timezone": "Europe/Berlin",
        "paused": False,
        "next_run": "2027-03-27T05:00:00Z",
        "local": "Sat 2027-03-27 06:00 CET",
    },
    {
        "kind": "automation",
        "key": "yearly",
        "type": "once",
        "expression": None,
        "timezone": "UTC",
        "paused": False,
        "next_run": "2099-01-01T05:00:00Z",
        "local": "Thu 2099-01-01 05:00 UTC",
    },
]


def test_plan_json_and_markdown_list_the_next_runs_text_shows(
    proj: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jsonschema import Draft202012Validator

    from asst_deploy.engine.planfile import plan_schema

    monkeypatch.setenv(schedule.NOW_VARIABLE, "2027-03-26T12:00:00Z")
    text = run("plan", str(proj))
    as_json = run("plan", str(proj), "--json")
    markdown = run("plan", str(proj), "--markdown")
    assert (text.code, as_json.code, markdown.code) == (0, 0, 0), text.err + as_json.err
    lines = [
        "automation nightly: next run Sat 2027-03-27 06:00 CET (Europe/Berlin; "
        "2027-03-27T05:00:00Z)",
        "automation yearly: runs once, Thu 2099-01-01 05:00 UTC (2099-01-01T05:00:00Z)",
    ]
    # the text plan: its notes on stderr, the plan itself on stdout without them
    assert [line for line in text.err.splitlines() if line.startswith("automation ")] == lines
    assert "next run" not in text.out
    data = json.loads(as_json.out)
    assert data["next_runs"] == NEXT_RUNS
    assert list(Draft202012Validator(plan_schema()).iter_errors(data)) == []
    assert markdown.out.endswith(
        "\n\n**Next runs:**\n"
        "- automation `nightly`: next run Sat 2027-03-27 06:00 CET (Europe/Berlin; "
        "2027-03-27T05:00:00Z)\n"
        "- automation `yearly`: runs once, Thu 2099-01-01 05:00 UTC (2099-01-01T05:00:00Z)\n"
    )
    # a saved plan carries no next runs: they are as of the plan, and apply ignores them
    out = proj / "saved.json"
    assert run("plan", str(proj), "--out", str(out)).code == 0
    assert "next_runs" not in json.loads(out.read_text())


def test_the_next_run_plan_lists_is_the_one_the_service_delivers(
    auto: Deployer, client: openai.OpenAI, server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 02:30 does not exist in Berlin on 2027-03-28: the run is at 03:30 CEST, once
    now = float(schedule.parse_time("2027-03-27T12:00:00Z"))
    server.sandbox.clock = lambda: now
    auto.edit(NIGHTLY, '"0 6 * * *"', '"30 2 * * *"')
    auto.apply()
    project = auto.load()
    lines = render.next_run_lines(generations.next_runs(project, now))
    (line,) = [n for n in lines if "nightly" in n]
    assert line == (
        "automation nightly: next run Sun 2027-03-28 03:30 CEST (Europe/Berlin; "
        "2027-03-28T01:30:00Z)"
    )
    nightly = automations(client)["Nightly report"]
    delivered = run_now(client, nightly.id)
    assert delivered.scheduled_at == schedule.parse_time("2027-03-28T01:30:00Z")
