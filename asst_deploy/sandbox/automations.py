"""Automations: their answered shape, their schedule (next occurrence), their invocations.

A stored automation is the SDK's Automation (PeriodicAutomation or OneTimeAutomation) plus
private keys that `view` drops: `_target`, the target as given (write-only parts of an
inline environment included, to start each session with), `_next_run_at`, the next
scheduled occurrence (Unix seconds; periodic ones, from the cron expression in the time
zone, see asst_deploy/schedule.py, which validate and plan use too) and `_fired` (a one-time automation's occurrence
was delivered). The SDK's Automation has no next-run field: the sandbox-only run
endpoint (see routes/agent_automations.py) shows it as an invocation's `scheduled_at`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from asst_deploy import schedule as cron
from asst_deploy.sandbox import agent_objects
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.store import new_id

AUTOMATION = "agent.automation"
INVOCATION = "agent.automation.invocation"  # parent: the automation's id
DEVELOPER = {"type": "developer"}  # created_by of an automation made through the API

_AGENT_CONFIG = agent_objects.AGENT_SETTINGS


def view(automation: Mapping[str, Any]) -> dict[str, Any]:
    """An automation as answered: private keys dropped."""
    return {k: copy.deepcopy(v) for k, v in automation.items() if not k.startswith("_")}


def schedule(expression: str, timezone: str, after: float) -> int:
    """The first occurrence after `after`, or the real 400 naming the field at fault."""
    try:
        parsed = cron.parse(expression)
    except cron.ScheduleError as exc:
        raise APIError(
            400, f"Invalid 'expression': {exc}.", param="expression", code="invalid_value"
        ) from None
    try:
        zone = cron.zone(timezone)
    except cron.ScheduleError as exc:
        raise APIError(
            400, f"Invalid 'timezone': {exc}.", param="timezone", code="invalid_value"
        ) from None
    found = cron.next_run(parsed, zone, after)
    if found is None:
        raise APIError(
            400,
            f"Invalid 'expression': '{expression}' never occurs.",
            param="expression",
            code="invalid_value",
        )
    return found


def agent_config(inline: Mapping[str, Any]) -> dict[str, Any]:
    """An inline agent as a target shows it (the SDK's AutomationAgentConfig)."""
    settings = agent_objects.settings(inline)
    out = {k: settings[k] for k in _AGENT_CONFIG}
    out["tools"] = agent_objects.session_tools(settings["tools"])
    return out


def _file(spec: Mapping[str, Any]) -> dict[str, Any]:
    if spec["type"] == "file_id":
        return {"type": "file_id", "file_id": spec["file_id"], "path": spec["path"]}
    return {
        "type": "inline",
        "path": spec["path"],
        "size_bytes": agent_objects.inline_size(spec["data"]),
    }


def _skill(spec: Mapping[str, Any]) -> dict[str, Any]:
    if spec["type"] == "skill_reference":
        return {"type": spec["type"], "skill_id": spec["skill_id"], "version": spec.get("version")}
    return {"type": spec["type"], "name": spec["name"], "description": spec["description"]}


def environment_view(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A target's environment as given, confidential parts omitted (the SDK's
    AutomationEnvironment: null where a field inherits the template or the default)."""
    if spec["type"] != "openai_hosted":
        return {"type": spec["type"]}

    def listed(key: str, shape: Any) -> list[Any] | None:
        value = spec.get(key)
        return None if value is None else [shape(item) for item in value]

    network = spec.get("network")
    packages = spec.get("packages")
    return {
        "type": "openai_hosted",
        "capability_directories": spec.get("capability_directories"),
        "container_size": spec.get("container_size"),
        "desktop": spec.get("desktop"),
        "environment_id": spec.get("environment_id"),
        "environment_template_id": spec.get("environment_template_id"),
        "files": listed("files", _file),
        "network": None
        if network is None
        else {
            "access": network["access"],
            "allowed_domains": list(network.get("allowed_domains") or []),
        },
        "packages": None
        if packages is None
        else {k: list(packages.get(k) or []) for k in ("npm", "python", "system")},
        "plugins": listed("plugins", lambda p: {k: p[k] for k in ("type", "name", "description")}),
        "skills": listed("skills", _skill),
    }


def target_view(target: Mapping[str, Any]) -> dict[str, Any]:
    """A target as answered (the SDK's AutomationTarget)."""
    if target["type"] == "existing_session":
        return {
            "type": "existing_session",
            "session_id": target["session_id"],
            "instructions": target["instructions"],
        }
    inline = target.get("agent")
    return {
        "type": "new_session",
        "agent": None if inline is None else agent_config(inline),
        "agent_id": target.get("agent_id"),
        "environment": environment_view(target["environment"]),
        "input": [
            {"type": "message", "role": "user", "content": copy.deepcopy(m["content"])}
            for m in target["input"]
        ],
        "metadata": dict(target.get("metadata") or {}),
        "vault_ids": list(target.get("vault_ids") or []),
    }


def session_body(target: Mapping[str, Any]) -> dict[str, Any]:
    """The `POST /agents/sessions` body a new_session target starts each session with."""
    body: dict[str, Any] = {
        "environment": copy.deepcopy(target["environment"]),
        "input": copy.deepcopy(target["input"]),
    }
    for key in ("agent", "agent_id", "metadata", "vault_ids"):
        if target.get(key) is not None:
            body[key] = copy.deepcopy(target[key])
    return body


def new(body: Mapping[str, Any], created_by: Mapping[str, Any], now: float) -> dict[str, Any]:
    """A stored automation from a create's checked body (its one-time `run_at` checked to
    be in the future already), made by `created_by`."""
    automation: dict[str, Any] = {
        "id": new_id("auto"),
        "object": "agent.automation",
        "type": body["type"],
        "name": body["name"],
        "status": "active",
        "pause_reason": None,
        "created_at": int(now),
        "created_by": dict(created_by),
        "metadata": dict(body.get("metadata") or {}),
        "target": target_view(body["target"]),
        "_target": copy.deepcopy(dict(body["target"])),
        "_fired": False,
    }
    if body["type"] == "periodic":
        automation["_next_run_at"] = schedule(body["expression"], body["timezone"], now)
        automation.update(expression=body["expression"], timezone=body["timezone"])
    else:
        automation["run_at"] = automation["_next_run_at"] = body["run_at"]
    return automation


def by_agent(
    arguments: Mapping[str, Any], session_id: str, call_id: str, now: float
) -> dict[str, Any]:
    """What a session's automations tool creates from its call's `arguments` (a sandbox
    rule's `automation`): a schedule whose target is the creator session, which each run
    posts `instructions` to (AutomationCreatedByResourceAgent: "The creator session,
    which is also the automation's target"). An APIError says what is wrong."""
    kind = str(arguments.get("type", "periodic"))
    body: dict[str, Any] = {
        "type": kind,
        "name": str(arguments.get("name") or "Automation"),
        "metadata": {str(k): str(v) for k, v in (arguments.get("metadata") or {}).items()},
        "target": {
            "type": "existing_session",
            "session_id": session_id,
            "instructions": str(arguments["instructions"]),
        },
    }
    if kind == "periodic":
        body.update(
            expression=str(arguments["expression"]), timezone=str(arguments.get("timezone", "UTC"))
        )
    else:
        run_at = arguments["run_at"]
        try:
            at = run_at if isinstance(run_at, int) else cron.parse_time(str(run_at))
        except cron.ScheduleError as exc:
            raise APIError(400, f"Invalid 'run_at': {exc}.", param="run_at") from None
        if at <= now:
            raise APIError(400, f"Invalid 'run_at': {at} is not in the future.", param="run_at")
        body["run_at"] = at
    made_by = {"type": "agent", "session_id": session_id, "tool_call_id": call_id}
    return new(body, made_by, now)


def invocation(
    invocation_id: str,
    automation_id: str,
    now: int,
    *,
    source: dict[str, Any],
    scheduled_at: int | None,
    status: str,
    session_id: str | None = None,
    error: dict[str, str] | None = None,
    skip_reason: str | None = None,
) -> dict[str, Any]:
    """One delivery record (the SDK's AutomationInvocation)."""
    return {
        "id": invocation_id,
        "object": "agent.automation.invocation",
        "automation_id": automation_id,
        "created_at": now,
        "scheduled_at": scheduled_at,
        "source": source,
        "status": status,
        "session_id": session_id,
        "error": error,
        "skip_reason": skip_reason,
    }
