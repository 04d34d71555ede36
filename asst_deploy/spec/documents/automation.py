"""`kind: automation`: a schedule (a cron expression in a time zone, or one time) that
starts a session of one of the project's agents (the 3.60 SDK's AutomationCreateParams).

    kind: automation
    key: nightly-report
    name: Nightly report                # the API's name; default: the key
    type: periodic                      # or once, with run_at (ISO 8601 with its offset)
    expression: "0 6 * * *"             # minute hour day-of-month month day-of-week
    timezone: Europe/Berlin             # an IANA time zone name
    paused: false
    metadata: {team: data}
    target:
      new_session:
        agent: analyst                  # an assistant spec, deployed as an agent
        environment: analysis           # a `kind: environment` document (optional)
        vaults: [crm]                   # `kind: vault` documents
        input: Write the daily sales report.

References are checked against the documents the environment deploys; an `environment:`
or a vault is checked only once the project knows that document kind (the Agents API's
environment and vault documents are kinds of their own).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from asst_deploy import limits, schedule
from asst_deploy.desired import AutomationSpec
from asst_deploy.spec import schemacheck
from asst_deploy.spec.documents.base import Context, DocumentKind
from asst_deploy.spec.schema import closed_object

if TYPE_CHECKING:
    from asst_deploy.spec.build import Builder
    from asst_deploy.yamlpos import Document, JsonPath

AGENTS = "assistant"  # the document kind an automation's agent is (deployed as an agent)
ENVIRONMENTS = "environment"
VAULTS = "vault"
EXAMPLE = (
    "'0 6 * * *' runs at 06:00 every day, '*/30 9-17 * * MON-FRI' every half hour of office hours"
)
_KEY = {"$ref": "#/$defs/key"}

FIELDS: dict[str, Any] = {
    "name": {
        "type": "string",
        "minLength": 1,
        "maxLength": limits.NAME_MAX,
        "description": "The automation's display name (default: its key).",
    },
    "type": {
        "enum": ["periodic", "once"],
        "description": "periodic: runs by `expression` in `timezone`; once: at `run_at`.",
    },
    "expression": {
        "type": "string",
        "minLength": 1,
        "description": "periodic: a standard five-field cron expression "
        f"({schedule.FIELDS}), e.g. '0 6 * * *'.",
    },
    "timezone": {
        "type": "string",
        "minLength": 1,
        "description": "periodic: the IANA time zone the expression is read in, e.g. Europe/Berlin.",
    },
    "run_at": {
        "type": "string",
        "minLength": 1,
        "description": "once: when, in ISO 8601 with its UTC offset "
        "(2027-01-05T06:00:00+01:00); it must lie in the future.",
    },
    "paused": {"type": "boolean", "description": "Pause the schedule (resume with false)."},
    "target": closed_object(
        {
            "new_session": closed_object(
                {
                    "agent": {
                        **_KEY,
                        "description": "The key of the assistant spec whose agent runs.",
                    },
                    "environment": {
                        **_KEY,
                        "description": "The key of a `kind: environment` document the "
                        "sessions run in (default: the agent's own).",
                    },
                    "vaults": {
                        "type": "array",
                        "items": _KEY,
                        "description": "Keys of `kind: vault` documents given to each session.",
                    },
                    "input": {
                        "type": "string",
                        "minLength": 1,
                        "description": "The user message each session starts with.",
                    },
                },
                ("agent", "input"),
            )
        },
        ("new_session",),
        description="What each run starts: a new session of one of the project's agents.",
    ),
    "metadata": {"$ref": "#/$defs/metadata"},
    "protect": {"type": "boolean", "description": "Refuse to delete or replace this resource."},
    "adopt": {"$ref": "#/$defs/adopt"},
}
# what each type takes, and what it does not
_OWN = {"periodic": ("expression", "timezone"), "once": ("run_at",)}
_HOW = {
    "expression": f'expression: "0 6 * * *" ({schedule.FIELDS})',
    "timezone": "timezone: Europe/Berlin (an IANA time zone name)",
    "run_at": "run_at: 2027-01-05T06:00:00+01:00 (ISO 8601 with its UTC offset)",
}


def _schedule(builder: Builder, doc: Document, now: float) -> tuple[str | None, int | None]:
    """The type's own fields checked: (the type, run_at as Unix seconds)."""
    data = doc.data
    kind = data.get("type")
    if "type" not in data:
        builder.error(
            doc,
            ("key",),
            f"automation '{data['key']}' has no type",
            "add 'type: periodic' (with expression and timezone) or 'type: once' (with run_at)",
        )
        return None, None
    if kind not in _OWN:
        return None, None  # the schema said so already
    other = "once" if kind == "periodic" else "periodic"
    for name in _OWN[other]:
        if name in data:
            builder.error(
                doc,
                (name,),
                f"'{name}' is for type: {other}, and this automation is type: {kind}",
                f"remove it, or set type: {other}",
                key=True,
            )
    missing = [name for name in _OWN[kind] if name not in data]
    for name in missing:
        builder.error(doc, ("type",), f"a {kind} automation needs '{name}'", f"add {_HOW[name]}")
    if kind == "once":
        return kind, None if missing else _run_at(builder, doc, data["run_at"], now)
    _cron(builder, doc, data.get("expression"), data.get("timezone"))
    return kind, None


def _run_at(builder: Builder, doc: Document, text: Any, now: float) -> int | None:
    if not isinstance(text, str):
        return None  # the schema said so already
    try:
        run_at = schedule.parse_time(text)
    except schedule.ScheduleError as exc:
        builder.error(doc, ("run_at",), f"run_at: {exc}", f"write it as {_HOW['run_at']}")
        return None
    if run_at <= now:
        builder.error(
            doc,
            ("run_at",),
            f"run_at {text} has passed: a one-time automation runs in the future",
            "set a later run_at, or remove this automation once it has run",
        )
        return None
    return run_at


def _cron(builder: Builder, doc: Document, expression: Any, timezone: Any) -> None:
    cron = zone = None
    if isinstance(expression, str):
        try:
            cron = schedule.parse(expression)
        except schedule.ScheduleError as exc:
            builder.error(
                doc,
                ("expression",),
                f"cron expression '{expression}': {exc}",
                f"write 5 fields: {schedule.FIELDS}; {EXAMPLE}",
            )
    if isinstance(timezone, str):
        try:
            zone = schedule.zone(timezone)
        except schedule.ScheduleError as exc:
            builder.error(
                doc,
                ("timezone",),
                f"timezone: {exc}",
                # the ~600 names are no hint: only a close one is
                next(
                    (
                        f"did you mean '{close}'?"
                        for close in difflib.get_close_matches(timezone, schedule.zone_names(), 1)
                    ),
                    "name an IANA time zone, e.g. Europe/Berlin, America/New_York or UTC",
                ),
            )
    if cron is not None and zone is not None and schedule.next_run(cron, zone, 0) is None:
        builder.error(
            doc,
            ("expression",),
            f"cron expression '{expression}' never runs: no month has that day",
            "check the day-of-month against the month (30 2 would be February 30th)",
        )


def _reference(
    builder: Builder,
    doc: Document,
    path: JsonPath,
    kind: str,
    key: str,
    context: Context,
) -> None:
    """A located error when document `kind` `key` is not one the environment deploys
    (unchecked while the project knows no documents of `kind`: see the module's doc)."""
    if kind not in context.declared:
        return
    label = kind.replace("_", " ")
    this = doc.data["key"]
    if key in context.excluded.get(kind, ()):
        builder.error(
            doc,
            path,
            f"{label} '{key}' is excluded from this environment",
            f"exclude automation '{this}' too (exclude: {{automations: [{this}]}}), or keep "
            f"the {label}",
        )
    elif key not in context.declared[kind]:
        known = sorted(context.declared[kind])
        builder.error(
            doc,
            path,
            f"unknown {label} '{key}'",
            schemacheck.suggest(key, known) if known else f"declare it with 'kind: {kind}'",
        )


def _target(builder: Builder, doc: Document, context: Context) -> dict[str, Any] | None:
    target = doc.data.get("target")
    if "target" not in doc.data:
        builder.error(
            doc,
            ("key",),
            f"automation '{doc.data['key']}' has no target",
            "add target: {new_session: {agent: <assistant key>, input: <first message>}}",
        )
        return None
    session = target.get("new_session") if isinstance(target, dict) else None
    if not isinstance(session, dict) or "agent" not in session:
        return None  # the schema said so already
    where: JsonPath = ("target", "new_session")
    _reference(builder, doc, (*where, "agent"), AGENTS, session["agent"], context)
    if isinstance(session.get("environment"), str):
        _reference(
            builder, doc, (*where, "environment"), ENVIRONMENTS, session["environment"], context
        )
    seen: set[str] = set()
    for i, vault in enumerate(session.get("vaults") or []):
        if vault in seen:
            builder.error(
                doc, (*where, "vaults", i), f"vault '{vault}' is named twice", "name it once"
            )
        seen.add(vault)
        _reference(builder, doc, (*where, "vaults", i), VAULTS, vault, context)
    return session


def build(builder: Builder, doc: Document, context: Context) -> AutomationSpec | None:
    data = doc.data
    before = len(builder.problems)
    kind, run_at = _schedule(builder, doc, schedule.now())
    session = _target(builder, doc, context)
    builder.check_metadata(doc, data.get("metadata"))
    if len(builder.problems) > before or kind is None or session is None:
        return None
    spec = AutomationSpec(
        key=data["key"],
        location=doc.where(("key",)),
        type=kind,
        agent=session["agent"],
        input=session["input"],
        name=data.get("name"),
        expression=data.get("expression"),
        timezone=data.get("timezone"),
        run_at=run_at,
        paused=bool(data.get("paused", False)),
        environment=session.get("environment"),
        vaults=tuple(session.get("vaults") or ()),
        metadata=dict(data.get("metadata") or {}),
        protect=bool(data.get("protect", False)),
        adopt=data.get("adopt") if isinstance(data.get("adopt"), str) else None,
    )
    return builder.with_adopt(doc, spec, context.target, context.targets)


def after_prune(original: Document, rest: Document) -> None:
    """What the schema refused was reported: not "missing" too."""
    for name in ("type", "target", *_HOW):
        if name in original.data:
            rest.data.setdefault(name, None)


DOCUMENT = DocumentKind(
    name="automation",
    section="automations",
    fields=FIELDS,
    build=build,
    after_prune=after_prune,
)
