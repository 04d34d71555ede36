"""Automations through the SDK: CRUD, pause/resume, schedules across DST, invocations that start sessions."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import openai
import pytest
from openai.types.beta import Agent
from openai.types.beta.agents.automations import AutomationInvocation

from asst_deploy.sandbox.automations import AUTOMATION
from asst_deploy.sandbox.server import SandboxServer
from tests.sandbox.agents.conftest import log_text

BERLIN = ZoneInfo("Europe/Berlin")
NONE: Any = {"type": "none"}
HELLO: Any = [{"role": "user", "content": [{"type": "input_text", "text": "Good morning"}]}]


def _at(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int, fold: int = 0
) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold).timestamp())


def new_session(**extra: Any) -> Any:
    return {
        "type": "new_session",
        "agent": {"model": "gpt-5"},
        "environment": NONE,
        "input": HELLO,
        **extra,
    }


def run_now(client: openai.OpenAI, automation_id: str) -> AutomationInvocation:
    """The sandbox-only endpoint: deliver the next scheduled occurrence now."""
    return client.post(
        f"/agents/automations/{automation_id}/sandbox/run",
        cast_to=AutomationInvocation,
        options={"headers": {"OpenAI-Beta": "agents=v1"}},
    )


def next_run(client: openai.OpenAI, automation_id: str) -> int:
    """When the occurrence the sandbox-only endpoint just delivered was scheduled."""
    scheduled = run_now(client, automation_id).scheduled_at
    assert scheduled is not None
    return scheduled


def periodic(client: openai.OpenAI, expression: str, timezone: str, **kwargs: Any) -> Any:
    return client.beta.agents.automations.create(
        type="periodic",
        name=kwargs.pop("name", "job"),
        expression=expression,
        timezone=timezone,
        target=kwargs.pop("target", new_session()),
        **kwargs,
    )


def test_periodic_automation_crud(client: openai.OpenAI, agent: Agent) -> None:
    automations = client.beta.agents.automations
    created = periodic(
        client,
        "0 9 * * 1-5",
        "Europe/Berlin",
        name="weekday brief",
        metadata={"team": "ops"},
        target={
            "type": "new_session",
            "agent_id": agent.id,
            "environment": NONE,
            "input": HELLO,
            "metadata": {"from": "automation"},
        },
    )
    assert created.type == "periodic" and created.object == "agent.automation"
    assert created.id.startswith("auto_") and created.status == "active"
    assert created.created_by.type == "developer" and created.pause_reason is None
    assert (created.expression, created.timezone) == ("0 9 * * 1-5", "Europe/Berlin")
    target = created.target
    assert target.type == "new_session" and target.agent_id == agent.id and target.agent is None
    assert target.input[0].type == "message" and target.metadata == {"from": "automation"}
    assert target.vault_ids == [] and target.environment.type == "none"
    assert automations.retrieve(created.id) == created
    assert created.id in [a.id for a in automations.list()]
    updated = automations.update(
        created.id,
        name="renamed",
        metadata={"team": "dev"},
        expression="30 8 * * *",
        target=new_session(),
    )
    assert updated.type == "periodic"
    assert (updated.name, updated.metadata, updated.expression) == (
        "renamed",
        {"team": "dev"},
        "30 8 * * *",
    )
    assert updated.target.type == "new_session" and updated.target.agent is not None
    assert updated.target.agent.model == "gpt-5" and updated.target.agent_id is None
    with pytest.raises(openai.BadRequestError) as caught:
        automations.update(created.id, run_at=2_000_000_000)
    assert caught.value.body["param"] == "run_at"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        automations.update(
            created.id,
            target={"type": "existing_session", "session_id": "sess_x", "instructions": "x"},
        )
    assert caught.value.body["param"] == "target.type"  # type: ignore[index]
    gone = automations.delete(created.id)
    assert (gone.id, gone.object, gone.deleted) == (created.id, "agent.automation.deleted", True)
    with pytest.raises(openai.NotFoundError):
        automations.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        automations.invocations.list(created.id)


def test_automation_pages(client: openai.OpenAI) -> None:
    automations = client.beta.agents.automations
    made = [periodic(client, "0 * * * *", "UTC", name=f"a{i}") for i in range(3)]
    page = automations.list(limit=2)
    assert [a.id for a in page.data] == [made[2].id, made[1].id] and page.has_more
    after = automations.list(limit=2, after=page.data[-1].id)
    assert after.data[0].id == made[0].id
    for automation in made:
        automations.delete(automation.id)


def test_pause_and_resume_change_the_state(client: openai.OpenAI) -> None:
    automations = client.beta.agents.automations
    created = periodic(client, "*/5 * * * *", "UTC")
    paused = automations.pause(created.id)
    assert (paused.status, paused.pause_reason) == ("paused", None)
    assert automations.retrieve(created.id).status == "paused"
    with pytest.raises(openai.ConflictError):
        run_now(client, created.id)
    manual = automations.invocations.create(created.id)  # manual runs ignore the pause
    assert manual.status == "completed" and manual.source.type == "manual"
    resumed = automations.resume(created.id)
    assert resumed.status == "active"
    assert run_now(client, created.id).status == "completed"
    automations.delete(created.id)


def test_next_runs_in_berlin_across_both_dst_changes(
    client: openai.OpenAI, server: SandboxServer, clock: Callable[[float], None]
) -> None:
    automations = client.beta.agents.automations
    clock(_at(BERLIN, 2026, 3, 27, 12, 0))
    spring = periodic(client, "30 2 * * *", "Europe/Berlin")
    # 02:30 does not exist on 29 March (02:00 -> 03:00): it runs at 03:30 CEST, once
    runs = [next_run(client, spring.id) for _ in range(3)]
    assert runs == [
        _at(BERLIN, 2026, 3, 28, 2, 30),
        _at(BERLIN, 2026, 3, 29, 3, 30),
        _at(BERLIN, 2026, 3, 30, 2, 30),
    ]
    # the instant 02:30 would have had without the jump: a day after the last, to the second
    assert (runs[1] - runs[0], runs[2] - runs[1]) == (24 * 3600, 23 * 3600)
    stored = server.sandbox.store.get(AUTOMATION, spring.id)
    assert stored is not None and stored["_next_run_at"] == _at(BERLIN, 2026, 3, 31, 2, 30)

    clock(_at(BERLIN, 2026, 10, 24, 12, 0))
    autumn = periodic(client, "30 2 * * *", "Europe/Berlin")
    # 02:30 happens twice on 25 October: a fixed hour runs at its first pass only
    assert [next_run(client, autumn.id) for _ in range(2)] == [
        _at(BERLIN, 2026, 10, 25, 2, 30),
        _at(BERLIN, 2026, 10, 26, 2, 30),
    ]
    clock(_at(BERLIN, 2026, 10, 25, 1, 50))
    hourly = periodic(client, "*/30 * * * *", "Europe/Berlin")
    # a wildcard hour follows real time: both passes of the repeated hour
    seen = [next_run(client, hourly.id) for _ in range(5)]
    assert seen == [
        _at(BERLIN, 2026, 10, 25, 2, 0),
        _at(BERLIN, 2026, 10, 25, 2, 30),
        _at(BERLIN, 2026, 10, 25, 2, 0, fold=1),
        _at(BERLIN, 2026, 10, 25, 2, 30, fold=1),
        _at(BERLIN, 2026, 10, 25, 3, 0),
    ]
    assert all(b - a == 1800 for a, b in itertools.pairwise(seen))
    for automation in (spring, autumn, hourly):
        automations.delete(automation.id)


def test_next_runs_in_other_zones(client: openai.OpenAI, clock: Callable[[float], None]) -> None:
    automations = client.beta.agents.automations
    new_york = ZoneInfo("America/New_York")
    clock(_at(new_york, 2026, 12, 4, 10, 0))  # a Friday, after 09:00
    weekdays = periodic(client, "0 9 * * MON-FRI", "America/New_York")
    first = run_now(client, weekdays.id)
    assert first.scheduled_at == _at(new_york, 2026, 12, 7, 9, 0)  # Monday
    assert first.scheduled_at == int(dt.datetime(2026, 12, 7, 14, tzinfo=dt.UTC).timestamp())
    tokyo = ZoneInfo("Asia/Tokyo")
    clock(_at(tokyo, 2026, 1, 31, 23, 59))
    monthly = periodic(client, "0 0 1 * *", "Asia/Tokyo")
    assert [next_run(client, monthly.id) for _ in range(2)] == [
        _at(tokyo, 2026, 2, 1, 0, 0),
        _at(tokyo, 2026, 3, 1, 0, 0),
    ]
    clock(int(dt.datetime(2026, 6, 1, 10, 7, tzinfo=dt.UTC).timestamp()))
    either = periodic(client, "0 12 13 * FRI", "UTC")  # the 13th OR a Friday
    days = [dt.datetime.fromtimestamp(next_run(client, either.id), dt.UTC).day for _ in range(3)]
    assert days == [5, 12, 13]
    for automation in (weekdays, monthly, either):
        automations.delete(automation.id)


def test_bad_schedules_are_refused(client: openai.OpenAI) -> None:
    cases = [
        ("61 * * * *", "UTC", "expression"),
        ("* * *", "UTC", "expression"),
        ("0 0 30 2 *", "UTC", "expression"),  # never occurs
        ("*/0 * * * *", "UTC", "expression"),
        ("0 9 * * *", "Mars/Olympus", "timezone"),
        ("0 9 * * *", "../etc/passwd", "timezone"),
    ]
    for expression, timezone, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            periodic(client, expression, timezone)
        assert caught.value.body["param"] == param, (expression, timezone)  # type: ignore[index]


def test_a_one_time_automation_runs_once_then_completes(
    client: openai.OpenAI, clock: Callable[[float], None]
) -> None:
    automations = client.beta.agents.automations
    now = _at(BERLIN, 2026, 12, 4, 12, 0)
    clock(now)
    with pytest.raises(openai.BadRequestError) as caught:
        automations.create(type="once", name="past", run_at=now - 60, target=new_session())
    assert caught.value.body["param"] == "run_at"  # type: ignore[index]
    once = automations.create(type="once", name="later", run_at=now + 3600, target=new_session())
    assert once.type == "once" and once.run_at == now + 3600 and once.status == "active"
    moved = automations.update(once.id, run_at=now + 7200)
    assert moved.type == "once" and moved.run_at == now + 7200
    with pytest.raises(openai.BadRequestError) as caught:
        automations.update(once.id, expression="0 * * * *")
    assert caught.value.body["param"] == "expression"  # type: ignore[index]
    delivered = run_now(client, once.id)
    assert delivered.scheduled_at == now + 7200 and delivered.status == "completed"
    assert automations.retrieve(once.id).status == "completed"
    with pytest.raises(openai.ConflictError):
        run_now(client, once.id)
    with pytest.raises(openai.ConflictError):
        automations.update(once.id, run_at=now + 9000)
    with pytest.raises(openai.ConflictError):
        automations.pause(once.id)
    automations.delete(once.id)


def test_invocations_start_sessions_and_are_listed(
    client: openai.OpenAI, clock: Callable[[float], None]
) -> None:
    automations = client.beta.agents.automations
    clock(_at(BERLIN, 2026, 12, 4, 12, 0))
    created = periodic(
        client,
        "0 7 * * *",
        "Europe/Berlin",
        target=new_session(metadata={"origin": "auto"}),
    )
    manual = automations.invocations.create(created.id)
    assert manual.object == "agent.automation.invocation" and manual.id.startswith("ainv_")
    assert (manual.status, manual.scheduled_at, manual.source.type) == ("completed", None, "manual")
    assert manual.session_id is not None and manual.error is None
    session = client.beta.agents.sessions.retrieve(manual.session_id)
    assert session.metadata == {"origin": "auto"} and session.agent.model == "gpt-5"
    items = list(client.beta.agents.sessions.items.list(session.id))
    assert any(
        i.type == "message" and i.role == "user" and i.content[0].text == "Good morning"  # type: ignore[union-attr]
        for i in items
    )
    scheduled = run_now(client, created.id)
    assert scheduled.scheduled_at == _at(BERLIN, 2026, 12, 5, 7, 0)
    assert scheduled.source.type == "automation"
    assert scheduled.source.automation.id == created.id
    assert scheduled.session_id not in (None, manual.session_id)
    page = automations.invocations.list(created.id, limit=1)
    assert [i.id for i in page.data] == [scheduled.id] and page.has_more
    assert [i.id for i in automations.invocations.list(created.id, order="asc")] == [
        manual.id,
        scheduled.id,
    ]
    assert automations.invocations.retrieve(manual.id, automation_id=created.id) == manual
    with pytest.raises(openai.NotFoundError):
        automations.invocations.retrieve("ainv_missing", automation_id=created.id)
    automations.delete(created.id)


def test_an_existing_session_target_gets_the_instructions(
    client: openai.OpenAI,
    agent: Agent,
    clock: Callable[[float], None],
    rules: Callable[..., None],
) -> None:
    automations = client.beta.agents.automations
    sessions = client.beta.agents.sessions
    rules("(?i)check the build", reply="Build is green.")
    rules("(?i)break the session", status="session_failed", error="The host broke.")
    start = _at(BERLIN, 2026, 12, 4, 12, 0)
    clock(start)
    session = sessions.create(agent_id=agent.id, environment=NONE)
    target: Any = {
        "type": "existing_session",
        "session_id": session.id,
        "instructions": "Check the build",
    }
    created = periodic(client, "0 * * * *", "UTC", target=target)
    assert created.target.type == "existing_session"
    assert created.target.instructions == "Check the build"
    assert created.id in [a.id for a in automations.list(session_id=session.id)]
    assert created.id not in [a.id for a in automations.list(session_id="sess_other")]
    first = run_now(client, created.id)
    assert (first.status, first.session_id) == ("completed", session.id)
    # the clock stands still, so the turn it started is still running: skipped
    busy = run_now(client, created.id)
    assert (busy.status, busy.skip_reason) == ("skipped", "pending_delivery")
    clock(start + 60)  # the turn finishes
    items = list(sessions.items.list(session.id, order="asc"))
    texts = [p.text for i in items if i.type == "message" for p in i.content]  # type: ignore[union-attr]
    assert texts == ["Check the build", "Build is green."]
    # a target session that failed pauses the automation
    breaking: Any = {"type": "input_text", "text": "break the session"}
    sessions.events.create(
        session.id,
        events=[
            {
                "type": "agent.session.input.message",
                "input": [{"role": "user", "content": [breaking]}],
            }
        ],
    )
    clock(start + 120)
    failed = automations.invocations.create(created.id)
    assert sessions.retrieve(session.id).status == "failed"
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.code == "target_session_failed"
    paused = automations.retrieve(created.id)
    assert (paused.status, paused.pause_reason) == ("paused", "target_session_failed")
    sessions.delete(session.id)
    gone = automations.invocations.create(created.id)
    assert gone.status == "failed" and gone.error is not None
    assert gone.error.code == "session_not_found"
    automations.delete(created.id)


def test_targets_are_checked_and_their_confidential_parts_kept_private(
    client: openai.OpenAI, server: SandboxServer, agent: Agent
) -> None:
    automations = client.beta.agents.automations
    bad = [
        (new_session(agent_id=agent.id), 400, "target.agent"),
        ({**new_session(), "agent": None} | {"agent_id": "agent_missing"}, 404, "target.agent_id"),
        (new_session(vault_ids=["vault_missing"]), 404, "target.vault_ids[0]"),
        (
            new_session(
                environment={"type": "openai_hosted", "environment_template_id": "envtpl_x"}
            ),
            404,
            "target.environment.environment_template_id",
        ),
        (
            {"type": "existing_session", "session_id": "sess_missing", "instructions": "x"},
            404,
            "target.session_id",
        ),
    ]
    for target, status, param in bad:
        target = {k: v for k, v in target.items() if v is not None}
        with pytest.raises(openai.APIStatusError) as caught:
            periodic(client, "0 * * * *", "UTC", target=target)
        assert caught.value.status_code == status, target
        assert caught.value.body["param"] == param  # type: ignore[index]
    secret = "env-secret-value-41e1"
    start = server.log.total
    hosted = periodic(
        client,
        "0 * * * *",
        "UTC",
        target=new_session(
            environment={
                "type": "openai_hosted",
                "env": {"TOKEN": secret},
                "setup_commands": [{"command": f"export X={secret}"}],
                "files": [{"type": "inline", "data": "aGk=", "path": "/workspace/hi.txt"}],
                "network": {"access": "restricted", "blocked_domains": ["blocked.example"]},
            }
        ),
    )
    env = hosted.target.environment
    assert env.type == "openai_hosted"
    assert env.to_dict() == {
        "type": "openai_hosted",
        "capability_directories": None,
        "container_size": None,
        "desktop": None,
        "environment_id": None,
        "environment_template_id": None,
        "files": [{"type": "inline", "path": "/workspace/hi.txt", "size_bytes": 2}],
        "network": {"access": "restricted", "allowed_domains": []},
        "packages": None,
        "plugins": None,
        "skills": None,
    }
    delivered = automations.invocations.create(hosted.id)
    assert delivered.status == "completed" and delivered.session_id
    answered = log_text(server, start)
    assert secret not in answered and "blocked.example" not in answered
    stored = server.sandbox.store.get(AUTOMATION, hosted.id)
    assert stored is not None and stored["_target"]["environment"]["env"] == {"TOKEN": secret}
    automations.delete(hosted.id)
    client.beta.agents.sessions.delete(delivered.session_id)


def test_an_agent_makes_automations_with_its_automations_tool(
    client: openai.OpenAI,
    server: SandboxServer,
    rules: Callable[..., None],
    clock: Callable[[float], None],
) -> None:
    now = _at(BERLIN, 2027, 3, 26, 12, 0)
    clock(now)
    rules(
        r"(?i)remind me at (?P<hour>\d+)",
        automation={
            "name": "Reminder",
            "expression": "0 {match[hour]} * * *",
            "timezone": "Europe/Berlin",
            "metadata": {"team": "data"},
        },
        reply="I will remind you.",
    )
    rules("(?i)just once", automation={"type": "once", "run_at": "2027-04-01T09:00:00+02:00"})
    rules("(?i)never", automation={"expression": "0 25 * * *"})
    tooled = client.beta.agents.create(model="gpt-5", tools=[{"type": "automations"}])
    plain = client.beta.agents.create(model="gpt-5")
    moment = [now]

    def turn(agent: Agent, text: str) -> tuple[str, Any]:
        session = client.beta.agents.sessions.create(agent_id=agent.id, environment=NONE)
        message: Any = {"type": "agent.session.input.message", "input": _said(text)}
        client.beta.agents.sessions.events.create(session.id, events=[message])
        moment[0] += 1
        clock(moment[0])  # the scripted model's steps are due
        assert client.beta.agents.sessions.retrieve(session.id).status == "idle"
        (last,) = client.beta.agents.sessions.turns.list(session.id, limit=1).data
        return session.id, last

    session_id, done = turn(tooled, "Remind me at 7")
    assert done.status == "completed"
    (made,) = client.beta.agents.automations.list(session_id=session_id)
    by: Any = made.created_by
    assert (by.type, by.session_id) == ("agent", session_id)
    assert by.tool_call_id.startswith("call_")
    assert (made.name, made.type, made.expression, made.timezone) == (
        "Reminder",
        "periodic",
        "0 7 * * *",
        "Europe/Berlin",
    )
    assert made.metadata == {"team": "data"} and made.status == "active"
    target: Any = made.target
    assert (target.type, target.session_id, target.instructions) == (
        "existing_session",
        session_id,
        "Remind me at 7",  # the user's message, when the rule gives no instructions
    )
    stored = server.sandbox.store.get(AUTOMATION, made.id)
    assert stored is not None and stored["_next_run_at"] == _at(BERLIN, 2027, 3, 27, 7, 0)
    once_id, _ = turn(tooled, "Just once")
    (once,) = client.beta.agents.automations.list(session_id=once_id)
    assert (once.type, once.run_at) == ("once", _at(BERLIN, 2027, 4, 1, 9, 0))
    # a call the service refuses fails the turn; an agent without the tool cannot call it
    never_id, refused = turn(tooled, "never")
    assert refused.status == "failed" and refused.error is not None
    assert "automations tool: Invalid 'expression'" in refused.error.message
    assert list(client.beta.agents.automations.list(session_id=never_id)) == []
    plain_id, lacking = turn(plain, "Remind me at 7")
    assert lacking.status == "failed" and lacking.error is not None
    assert "the agent has no automations tool" in lacking.error.message
    assert list(client.beta.agents.automations.list(session_id=plain_id)) == []


def _said(text: str) -> Any:
    return [{"role": "user", "content": [{"type": "input_text", "text": text}]}]
