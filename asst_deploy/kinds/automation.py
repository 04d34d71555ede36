"""Agents API automations (`kind: automation`): schedules that start sessions of an agent.

Identity: the automation's metadata (AutomationCreateParams and AutomationUpdateParams both
take it) carries the identity tags, as an agent's does.

The canonical form uses the 3.60 SDK's names: name, type, expression and timezone
(periodic) or run_at (once; ISO 8601 in UTC, the API's Unix seconds), status ("active" or
"paused", as `paused:` says; "completed" once a one-time automation ran), metadata, and the
target's fields flat as `target.<field>`, so that an edit of one shows as that field
alone: target.agent_id (the agent, by logical name), target.environment (the environment
template its sessions run in, by logical name, or null for none), target.vault_ids,
target.input (the first message's text) and target.metadata.

An update sends what changed (run_at only then: the API refuses it once the one-time run
was delivered) and the metadata; a change of status is the pause or resume call after it.
The type, periodic or once, cannot change in place, and a completed one-time automation
is made anew.

Automations an agent created itself (`created_by.type: agent`, from a session's automations
tool) belong to that session: their tags are never read, so no project manages, prunes,
destroys or shows drift of one, and none can be adopted, imported or exported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from asst_deploy import identity, schedule
from asst_deploy.errors import AsstDeployError
from asst_deploy.kinds.agent import KIND as AGENT
from asst_deploy.kinds.base import Desired, Kind, Writer, Writing, with_protect
from asst_deploy.kinds.environment_template import (
    DECLARED_REF_PREFIX,
    for_assistant,
    logical_name,
)
from asst_deploy.kinds.vault import KIND as VAULT
from asst_deploy.plan import FieldChange, NextRun, Update
from asst_deploy.state import RemoteObject, RemoteState
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.desired import AssistantSpec, AutomationSpec, Project
    from asst_deploy.kinds.ports import Comparing, Exporting

NAME = "automation"
TARGET = "target."  # the prefix of the target's fields in the canonical form
# how the canonical form names the template of a `kind: environment` document
ENVIRONMENT_PREFIX = "environment:"
_SCHEDULE = {"periodic": ("expression", "timezone"), "once": ("run_at",)}
_VERBS = {"paused": "pause", "active": "resume"}  # a status, and the call that sets it


def made_by_agent(data: Mapping[str, Any]) -> bool:
    """Whether a session's agent created the automation (not a developer, not us)."""
    created_by = data.get("created_by")
    return isinstance(created_by, Mapping) and created_by.get("type") == "agent"


def form(
    *,
    name: Json,
    type_: Json,
    schedule_: Mapping[str, Json],
    status: Json,
    metadata: Mapping[str, Json] | None,
    target: Mapping[str, Json],
) -> dict[str, Json]:
    return {
        "name": name,
        "type": type_,
        **schedule_,
        "status": status,
        "metadata": identity.user_metadata(dict(metadata or {})),
        **{TARGET + k: v for k, v in target.items()},
    }


def _expression(text: Json) -> Json:
    """Runs of blanks between the fields mean one blank."""
    return " ".join(text.split()) if isinstance(text, str) else text


def environment_name(spec: AutomationSpec, agent: AssistantSpec | None) -> str | None:
    """The template the sessions run in: the spec's environment, else the one the agent's
    code runs in (where conversation tests run it too), else none."""
    if spec.environment is not None:
        return ENVIRONMENT_PREFIX + spec.environment
    if agent is not None and for_assistant(agent) is not None:
        return logical_name(str(for_assistant(agent)))  # a declared one, or its own
    return None


def from_spec(spec: AutomationSpec, agent: AssistantSpec | None) -> dict[str, Json]:
    when: dict[str, Json] = (
        {"expression": _expression(spec.expression), "timezone": spec.timezone}
        if spec.type == "periodic"
        else {"run_at": schedule.iso(int(spec.run_at or 0))}
    )
    return form(
        name=spec.name or spec.key,
        type_=spec.type,
        schedule_=when,
        status="paused" if spec.paused else "active",
        metadata=spec.metadata,
        target={
            "type": "new_session",
            "agent_id": AGENT.ref_name(spec.agent),
            "environment": environment_name(spec, agent),
            "vault_ids": [VAULT.ref_name(v) for v in spec.vaults],
            "input": spec.input,
            "metadata": {},
        },
    )


def _named(value: Json, names: Mapping[str, str]) -> Json:
    return names.get(str(value), f"id:{value}") if value else None


def _environment(value: Json, names: Mapping[str, str]) -> Json:
    """A target's environment as the form names it: null for none, a template by its
    logical name; anything else as the API shows it (so an edit shows as drift)."""
    if not isinstance(value, Mapping) or value.get("type") == "none":
        return None
    given = {k: v for k, v in value.items() if v is not None}
    if value.get("type") == "openai_hosted" and set(given) == {"type", "environment_template_id"}:
        return _named(given["environment_template_id"], names)
    return given


def _input(messages: Json) -> Json:
    """The text of a single text message; any other input as the API shows it."""
    if isinstance(messages, list) and len(messages) == 1 and isinstance(messages[0], Mapping):
        content = messages[0].get("content")
        if isinstance(content, list) and len(content) == 1 and isinstance(content[0], Mapping):
            part = content[0]
            return part.get("text") if part.get("type") == "input_text" else messages
    return messages


def _target(target: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Json]:
    if target.get("type") != "new_session":
        return dict(target)  # only out-of-band: its type shows as a change, which replaces
    found: dict[str, Json] = {
        "type": "new_session",
        "agent_id": _named(target.get("agent_id"), names),
        "environment": _environment(target.get("environment"), names),
        "vault_ids": [_named(v, names) for v in target.get("vault_ids") or []],
        "input": _input(target.get("input")),
        "metadata": dict(target.get("metadata") or {}),
    }
    if target.get("agent") is not None:  # an inline agent, set outside asst-deploy
        found["agent"] = target["agent"]
    return found


def from_remote(data: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Json]:
    kind = data.get("type")
    when: dict[str, Json] = (
        {"expression": _expression(data.get("expression")), "timezone": data.get("timezone")}
        if kind == "periodic"
        else {"run_at": schedule.iso(int(data.get("run_at") or 0))}
    )
    return form(
        name=data.get("name"),
        type_=kind,
        schedule_=when,
        status=data.get("status"),
        metadata=data.get("metadata"),
        target=_target(data.get("target") or {}, names),
    )


def _message(text: Json) -> list[Json]:
    return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]


class AutomationKind(Kind):
    name = NAME
    exports = True
    spec_kind = "automation"
    # AutomationUpdateParams keeps the type, and the target's
    replace_on = ("type", TARGET + "type")

    # ---- the specs' side -----------------------------------------------------------

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        agents = {a.key: a for a in project.assistants}
        return [
            Desired(
                self.name,
                s.key,
                with_protect(from_spec(s, agents.get(s.agent)), s.protect),
                s.protect,
                s.adopt,
            )
            for s in project.automations
        ]

    def keys(self, project: Project) -> dict[str, bool]:
        return {s.key: s.protect for s in project.automations}

    # ---- the remote side -----------------------------------------------------------

    def canonical(self, obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
        return from_remote(obj.data, names)

    def tags(self, data: Mapping[str, Json]) -> Mapping[str, Json] | None:
        if made_by_agent(data):
            return {}  # never read: whatever its metadata says, no project's
        return super().tags(data)

    def unmanageable(self, obj: RemoteObject) -> str | None:
        if not made_by_agent(obj.data):
            return None
        session = (obj.data.get("created_by") or {}).get("session_id")
        return (
            f"an agent created it (created_by: agent, in session {session}); it belongs to "
            "that session, and asst-deploy never manages it"
        )

    def references(self, obj: Any) -> set[str]:
        if made_by_agent(obj.data):
            return set()  # the session's own: it keeps none of the project's objects
        target = obj.data.get("target") or {}
        environment = target.get("environment") or {}
        ids = [
            target.get("agent_id"),
            environment.get("environment_template_id"),
            environment.get("environment_id"),
            *(target.get("vault_ids") or ()),
        ]
        return {str(i) for i in ids if i}

    # ---- export --------------------------------------------------------------------

    def exported_as(self, obj: RemoteObject, state: RemoteState) -> str | None:
        return None if made_by_agent(obj.data) else obj.id

    def export(self, ex: Exporting, obj: RemoteObject) -> None:
        """Its target's agent, environment and vaults by their exported specs' keys."""
        key = ex.result.keys[obj.id]
        doc = ex.header(self.name, key, obj)
        found = from_remote(obj.data, ex.names)
        user = f"automation '{key}'"
        unread: list[str] = []
        if found["name"] != key:
            doc["name"] = found["name"]
        doc["type"] = found["type"]
        for name in _SCHEDULE.get(str(found["type"]), ()):
            doc[name] = found[name]
        if found["status"] == "completed":
            unread.append("a one-time run already delivered (validate refuses a past run_at)")
        if found["status"] == "paused":
            doc["paused"] = True
        if found["metadata"]:
            doc["metadata"] = found["metadata"]
        agent_id = found[TARGET + "agent_id"]
        agent = ex.key_of(agent_id, AGENT.ref_name(""), user)
        session: dict[str, Json] = {"agent": agent or str(agent_id).removeprefix("id:")}
        environment = found[TARGET + "environment"]
        if environment != _agents_own(ex, obj):  # the agent's own is what a spec defaults to
            if isinstance(environment, str) and environment.startswith(DECLARED_REF_PREFIX):
                session["environment"] = environment.removeprefix(DECLARED_REF_PREFIX)
            elif environment is None:
                unread.append("sessions outside the environment its agent's code runs in")
            else:
                unread.append(f"the target environment {environment}")
        vaults = [ex.key_of(v, VAULT.ref_name(""), user) for v in found[TARGET + "vault_ids"] or []]
        if vaults:
            session["vaults"] = [v for v in vaults if v is not None]
        text = found[TARGET + "input"]
        session["input"] = text if isinstance(text, str) else ""
        if not isinstance(text, str):
            unread.append("an input other than one text message")
        unread += [f"target.{f}" for f in ("metadata", "agent") if found.get(TARGET + f)]
        doc["target"] = {"new_session": session}
        if unread:
            ex.result.warnings.append(
                f"{user}: a spec cannot say {'; '.join(unread)}: plan shows the difference"
            )
        ex.spec("automations", key, doc)

    # ---- the plan ------------------------------------------------------------------

    def compare(self, comparer: Comparing, wanted: list[Desired], held: set[str]) -> None:
        """As every kind, but an automation an agent made is never adopted (`adopt:`)."""
        live = comparer.remote.of(self.name)
        never = {o.id: why for o in live if (why := self.unmanageable(o)) is not None}
        for d in wanted:
            if d.adopt in never:
                comparer.refused.append(
                    f"automation '{d.key}': adopt: {d.adopt} is refused: {never[d.adopt]}"
                )
        comparer.objects(
            self.name,
            [d for d in wanted if d.adopt not in never],
            [o for o in live if o.id not in never],
        )

    def replace_fields(
        self, changes: Iterable[FieldChange], before: Mapping[str, Json]
    ) -> list[str]:
        changed = [c.field for c in changes]
        if before.get("status") == "completed":
            return changed  # its one run was delivered: nothing of it changes any more
        return super().replace_fields(changes, before)

    def holds(self, obj: Any, after: Mapping[str, Json], names: Mapping[str, str]) -> bool:
        """An update sends everything but the status, which pause and resume set."""
        live = with_protect(self.canonical(obj, names), obj.protected)
        fields = (set(live) | set(after)) - {"status"}
        same = all(live.get(f) == after.get(f) for f in fields)
        return same and obj.owner.stamp == identity.canonical_hash(after)

    def next_runs(self, project: Project, now: float) -> list[NextRun]:
        """The next run of each automation the specs want."""
        return [_next_run(s, now) for s in project.automations]

    # ---- apply ---------------------------------------------------------------------

    def write(self, run: Writer, action: Writing) -> str:
        after = action.after
        assert isinstance(after, Mapping)
        if isinstance(action, Update):
            remote_id = str(action.remote_id)
            changed = {c.field for c in action.changes}
            payload = self.update_payload(run, action.key, after, remote_id, changed)
            run.call(
                lambda: run.backend.update(self.name, remote_id, payload),
                landed=run.updated(self.name, remote_id, after),
            )
            before = action.before if isinstance(action.before, Mapping) else {}
            status = before.get("status")
        else:
            payload = self.payload(run, action.key, after, None)
            made = run.call(
                lambda: run.backend.create(self.name, payload),
                lambda: run.find(self.name, action.key, action.remote_id),
            )
            run.prove(self.name, action.key, made)
            remote_id, status = str(made.id), made.data.get("status")
        wanted = str(after["status"])
        if wanted != status and wanted in _VERBS:
            run.call(
                partial(run.backend.act, self.name, remote_id, _VERBS[wanted]),
                landed=self._status_is(run, remote_id, wanted),
            )
        return remote_id

    def _status_is(self, run: Writer, remote_id: str, status: str) -> Callable[[], Any]:
        """Whether a pause or resume landed."""

        def look() -> Any:
            obj = run.backend.retrieve(self.name, remote_id)
            return obj if obj is not None and obj.data.get("status") == status else None

        return look

    def payload(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        """What creates the automation (AutomationCreateParams)."""
        kind = str(after["type"])
        return {
            "type": kind,
            "name": after["name"],
            **{name: _sent(name, after[name]) for name in _SCHEDULE[kind]},
            "target": _target_payload(run, key, after),
            "metadata": run.metadata(self.name, key, after, remote_id),
        }

    def update_payload(
        self,
        run: Writer,
        key: str,
        after: Mapping[str, Json],
        remote_id: str,
        changed: set[str],
    ) -> dict[str, Json]:
        """What an update sends (AutomationUpdateParams): the fields that changed, and the
        metadata, which carries the new stamp."""
        payload: dict[str, Json] = {
            name: _sent(name, after[name])
            for name in ("name", *_SCHEDULE[str(after["type"])])
            if name in changed
        }
        if any(name.startswith(TARGET) for name in changed):
            payload["target"] = _target_payload(run, key, after)  # replaced whole
        payload["metadata"] = run.metadata(self.name, key, after, remote_id)
        return payload


def _agents_own(ex: Exporting, obj: RemoteObject) -> str | None:
    """The logical name of the template the automation's agent runs code in, if any."""
    agent_id = (obj.data.get("target") or {}).get("agent_id")
    agent = next((a for a in ex.state.of(AGENT.name) if a.id == agent_id), None)
    template = (agent.data.get("metadata") or {}).get(identity.TEMPLATE_KEY) if agent else None
    return ex.names.get(str(template)) if template else None


def _sent(name: str, value: Json) -> Json:
    return schedule.parse_time(str(value)) if name == "run_at" else value


def _resolve(run: Writer, key: str, name: Json, what: str) -> str:
    try:
        return run.resolve(str(name))
    except KeyError:
        raise AsstDeployError(
            f"automation {key}: its {what} {name} is not on the target; declare it in the "
            "specs (or take it out of the automation's target)"
        ) from None


def _target_payload(run: Writer, key: str, after: Mapping[str, Json]) -> dict[str, Json]:
    """The target (AutomationTargetParamNewSession), objects named by their ids now."""
    environment = after[TARGET + "environment"]
    vaults = after[TARGET + "vault_ids"]
    target: dict[str, Json] = {
        "type": "new_session",
        "agent_id": _resolve(run, key, after[TARGET + "agent_id"], "agent"),
        "environment": {"type": "none"}
        if environment is None
        else {
            "type": "openai_hosted",
            "environment_template_id": _resolve(run, key, environment, "environment"),
        },
        "input": _message(after[TARGET + "input"]),
    }
    if isinstance(vaults, list) and vaults:
        target["vault_ids"] = [_resolve(run, key, v, "vault") for v in vaults]
    if after.get(TARGET + "metadata"):
        target["metadata"] = after[TARGET + "metadata"]
    return target


def _next_run(spec: AutomationSpec, now: float) -> NextRun:
    """When the automation runs next (engine/render.py words it)."""
    if spec.type == "once":
        return NextRun(NAME, spec.key, "once", int(spec.run_at or 0), "UTC", spec.paused)
    zone = schedule.zone(str(spec.timezone))
    found = schedule.next_run(schedule.parse(str(spec.expression)), zone, now)
    return NextRun(
        NAME, spec.key, "periodic", found, str(spec.timezone), spec.paused, spec.expression
    )


KIND = AutomationKind()
