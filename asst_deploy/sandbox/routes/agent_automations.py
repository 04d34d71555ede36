"""Agents API (beta): automations (periodic by cron expression, or once), pause and resume, invocations.

Nothing fires on its own: the sandbox has no scheduler. Deliveries happen on request:

- `POST /v1/agents/automations/{id}/invocations` (real API, "Queues a manual delivery
  without changing the saved schedule"): delivered at once here, source `manual`,
  `scheduled_at` null; paused automations accept it too.
- `POST /v1/agents/automations/{id}/sandbox/run` (SANDBOX-ONLY, not in the real API):
  delivers the next scheduled occurrence now, as the scheduler would when its time comes.
  The invocation's source is the automation's snapshot and its `scheduled_at` that
  occurrence (computed from the cron expression in the automation's time zone, or
  `run_at`); the schedule then moves on (a one-time automation completes). A paused or
  completed automation answers 409.

A delivery to a `new_session` target starts a session (as `POST /agents/sessions` would,
its input starting the first turn); one to an `existing_session` target posts the
instructions to that session as a user message. The invocation is `completed` with the
session's id, `skipped` (`pending_delivery`) while that session still has a turn running,
or `failed` with the error the session refused it with (a failed target session also
pauses the automation, `pause_reason: target_session_failed`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy.sandbox import agent_objects, agent_sessions, automations, environments, vaults
from asst_deploy.sandbox.agent_sessions import SESSION
from asst_deploy.sandbox.apierrors import APIError, not_found
from asst_deploy.sandbox.app import Sandbox, json_body, sandbox_of
from asst_deploy.sandbox.automations import AUTOMATION, INVOCATION
from asst_deploy.sandbox.routes.agent_environments import template_base
from asst_deploy.sandbox.routes.agent_sessions import INLINE_AGENT, MESSAGES, start_session
from asst_deploy.sandbox.routes.agents import AGENT, agent_page
from asst_deploy.sandbox.routes.common import deleted, fetch, path_param
from asst_deploy.sandbox.store import new_id
from asst_deploy.sandbox.validation import (
    METADATA,
    Arr,
    Int,
    Nullable,
    Obj,
    Str,
    Tagged,
    const,
    missing,
    validate,
)

_METADATA = METADATA.inner  # a map, never null, in the SDK's automation params
TARGET = Tagged(
    {
        "new_session": const(
            "new_session",
            "environment",
            "input",
            environment=agent_objects.ENVIRONMENT,
            input=MESSAGES,
            agent=INLINE_AGENT,
            agent_id=Str(),
            metadata=METADATA,
            vault_ids=Nullable(Arr(Str())),
        ),
        "existing_session": const(
            "existing_session",
            "instructions",
            "session_id",
            instructions=Str(),
            session_id=Str(),
        ),
    }
)
_COMMON = {"name": Str(), "target": TARGET, "metadata": _METADATA}
CREATE = Tagged(
    {
        "periodic": const(
            "periodic",
            "expression",
            "name",
            "target",
            "timezone",
            expression=Str(),
            timezone=Str(),
            **_COMMON,
        ),
        "once": const("once", "name", "run_at", "target", run_at=Int(), **_COMMON),
    }
)
UPDATE = Obj({"expression": Str(), "timezone": Str(), "run_at": Int(), **_COMMON})


# --- checking a target -------------------------------------------------------------------


def _not_found(what: str, id: str, param: str) -> APIError:
    error = not_found(what, id)
    error.param = param
    return error


def _check_environment(sandbox: Sandbox, spec: dict[str, Any]) -> None:
    """The references of a target's environment exist (a session would refuse it)."""
    prefix = "target.environment."
    if spec["type"] == "self_hosted":
        raise APIError(
            400,
            "The sandbox does not serve self_hosted environments; use none or openai_hosted.",
            param=prefix + "type",
            code="unsupported_value",
        )
    if spec["type"] != "openai_hosted":
        return
    if "environment_id" in spec:
        extra = sorted(set(spec) - {"type", "environment_id"})
        if extra:
            raise APIError(
                400,
                f"Invalid '{prefix}{extra[0]}': an existing environment (environment_id) "
                "cannot be combined with a template or inline configuration.",
                param=prefix + extra[0],
                code="invalid_value",
            )
        environments.get(sandbox, spec["environment_id"], prefix + "environment_id")
        return
    if "environment_template_id" in spec:
        template_base(sandbox, spec["environment_template_id"], prefix + "environment_template_id")
    fields = {k: v for k, v in spec.items() if k in agent_objects.HOSTED_FIELDS}
    agent_objects.hosted(fields, None, lambda f, p: environments.file_size(sandbox, f, prefix + p))


def _check_target(sandbox: Sandbox, target: dict[str, Any]) -> None:
    if target["type"] == "existing_session":
        if sandbox.store.get(SESSION, target["session_id"]) is None:
            raise _not_found("session", target["session_id"], "target.session_id")
        return
    if "agent" in target and "agent_id" in target:
        raise APIError(
            400,
            "Invalid 'target.agent': provide exactly one of agent and agent_id.",
            param="target.agent",
            code="invalid_value",
        )
    if "agent_id" in target:
        if sandbox.store.get(AGENT, target["agent_id"]) is None:
            raise _not_found("agent", target["agent_id"], "target.agent_id")
    elif "agent" not in target:
        raise missing("target.agent_id")
    elif "model" not in target["agent"]:
        raise missing("target.agent.model")
    else:
        sandbox.check_model(target["agent"]["model"], "agents", param="target.agent.model")
    vaults.check_ids(sandbox.store, target.get("vault_ids"), "target.vault_ids")
    _check_environment(sandbox, target["environment"])


def _run_at(sandbox: Sandbox, value: int) -> int:
    if value <= sandbox.clock():
        raise APIError(
            400,
            f"Invalid 'run_at': {value} is not in the future.",
            param="run_at",
            code="invalid_value",
        )
    return value


# --- automations -------------------------------------------------------------------------


async def create(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    body = validate(CREATE, await json_body(request))
    _check_target(sandbox, body["target"])
    if body["type"] == "once":
        _run_at(sandbox, body["run_at"])
    automation = automations.new(body, automations.DEVELOPER, sandbox.clock())
    sandbox.store.insert(AUTOMATION, automation)
    return JSONResponse(automations.view(automation))


def _automation(sandbox: Sandbox, request: Request) -> dict[str, Any]:
    return fetch(sandbox.store, AUTOMATION, path_param(request, "automation_id"), "automation")


async def list_(request: Request) -> JSONResponse:
    session_id = request.query_params.get("session_id")

    def targets(automation: dict[str, Any]) -> bool:
        target = automation["target"]
        by_agent = automation["created_by"].get("session_id")
        return session_id in (target.get("session_id"), by_agent)

    where = targets if session_id is not None else None
    return agent_page(
        request, AUTOMATION, where=where, extra=("session_id",), view=automations.view
    )


async def retrieve(request: Request) -> JSONResponse:
    return JSONResponse(automations.view(_automation(sandbox_of(request), request)))


async def update(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    automation = _automation(sandbox, request)
    body = validate(UPDATE, await json_body(request))
    periodic = automation["type"] == "periodic"
    for key in ("expression", "timezone") if not periodic else ("run_at",):
        if key in body:
            kind = "one-time" if periodic else "periodic"
            raise APIError(
                400,
                f"Invalid '{key}': only accepted for {kind} automations.",
                param=key,
                code="invalid_value",
            )
    if "target" in body:
        target = body["target"]
        if target["type"] != automation["_target"]["type"]:
            raise APIError(
                400,
                f"Invalid 'target.type': the target keeps its type "
                f"'{automation['_target']['type']}'.",
                param="target.type",
                code="invalid_value",
            )
        _check_target(sandbox, target)
        automation.update(_target=target, target=automations.target_view(target))
    for key in ("name", "metadata"):
        if key in body:
            automation[key] = body[key]
    if periodic and ("expression" in body or "timezone" in body):
        expression = body.get("expression", automation["expression"])
        timezone = body.get("timezone", automation["timezone"])
        automation["_next_run_at"] = automations.schedule(expression, timezone, sandbox.clock())
        automation.update(expression=expression, timezone=timezone)
    if not periodic and "run_at" in body:
        if automation["_fired"]:
            raise APIError(
                409,
                f"Automation {automation['id']} already delivered its scheduled occurrence; "
                "run_at can no longer change.",
                param="run_at",
                code="automation_completed",
            )
        automation["run_at"] = automation["_next_run_at"] = _run_at(sandbox, body["run_at"])
    sandbox.store.put(AUTOMATION, automation)
    return JSONResponse(automations.view(automation))


async def delete(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    automation = _automation(sandbox, request)
    with sandbox.store.transaction():
        sandbox.store.delete_children(automation["id"])
        sandbox.store.delete(AUTOMATION, automation["id"])
    return deleted(automation["id"], "agent.automation.deleted")


def _conflict(automation: dict[str, Any], doing: str) -> APIError:
    return APIError(
        409,
        f"Automation {automation['id']} is {automation['status']}; it cannot {doing}.",
        code=f"automation_{automation['status']}",
    )


async def pause(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    automation = _automation(sandbox, request)
    if automation["status"] == "completed":
        raise _conflict(automation, "be paused")
    automation.update(status="paused", pause_reason=None)
    sandbox.store.put(AUTOMATION, automation)
    return JSONResponse(automations.view(automation))


async def resume(request: Request) -> JSONResponse:
    """Active again; a periodic schedule continues from now (missed occurrences are
    not delivered)."""
    sandbox = sandbox_of(request)
    automation = _automation(sandbox, request)
    if automation["status"] == "completed":
        raise _conflict(automation, "be resumed")
    if automation["status"] == "paused" and automation["type"] == "periodic":
        automation["_next_run_at"] = automations.schedule(
            automation["expression"], automation["timezone"], sandbox.clock()
        )
    automation.update(status="active", pause_reason=None)
    sandbox.store.put(AUTOMATION, automation)
    return JSONResponse(automations.view(automation))


# --- deliveries ----------------------------------------------------------------------------


def _deliver(sandbox: Sandbox, target: dict[str, Any]) -> dict[str, Any]:
    """Deliver to the target; the invocation's status, session_id, error, skip_reason.

    Runs outside any transaction: a refused session start rolls its own writes back."""
    try:
        if target["type"] == "new_session":
            session = start_session(sandbox, automations.session_body(target))
            return {"status": "completed", "session_id": session["id"]}
        session_id = target["session_id"]
        found = sandbox.store.get(SESSION, session_id)
        if found is None:
            return {
                "status": "failed",
                "error": {
                    "code": "session_not_found",
                    "message": f"No session found with id '{session_id}'.",
                },
            }
        session = agent_sessions.settle(sandbox, found)
        if session["status"] == "failed":
            return {
                "status": "failed",
                "session_id": session_id,
                "error": {
                    "code": "target_session_failed",
                    "message": f"Session {session_id} has failed and accepts no more input.",
                },
            }
        if session["status"] in ("in_progress", "requires_action"):
            return {
                "status": "skipped",
                "session_id": session_id,
                "skip_reason": "pending_delivery",
            }
        message = {
            "role": "user",
            "content": [{"type": "input_text", "text": target["instructions"]}],
        }
        event = {"type": "agent.session.input.message", "input": [message]}
        agent_sessions.apply_events(sandbox, session, [event])
        return {"status": "completed", "session_id": session_id}
    except APIError as error:
        return {
            "status": "failed",
            "error": {"code": error.code or error.type, "message": error.message},
        }


def _record(
    sandbox: Sandbox,
    automation: dict[str, Any],
    *,
    source: dict[str, Any],
    scheduled_at: int | None,
) -> dict[str, Any]:
    outcome = _deliver(sandbox, automation["_target"])
    found = automations.invocation(
        new_id("ainv"),
        automation["id"],
        int(sandbox.clock()),
        source=source,
        scheduled_at=scheduled_at,
        **outcome,
    )
    error = outcome.get("error") or {}
    if error.get("code") == "target_session_failed" and automation["status"] == "active":
        automation.update(status="paused", pause_reason="target_session_failed")
    return found


async def create_invocation(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    automation = _automation(sandbox, request)
    found = _record(sandbox, automation, source={"type": "manual"}, scheduled_at=None)
    with sandbox.store.transaction():
        sandbox.store.insert(INVOCATION, found, parent=automation["id"])
        sandbox.store.put(AUTOMATION, automation)
    return JSONResponse(found)


async def run_scheduled(request: Request) -> JSONResponse:
    """SANDBOX-ONLY: deliver the next scheduled occurrence now (see the module's doc)."""
    sandbox = sandbox_of(request)
    automation = _automation(sandbox, request)
    if automation["status"] != "active":
        raise _conflict(automation, "deliver a scheduled occurrence")
    occurrence = int(automation["_next_run_at"])
    snapshot = {"type": "automation", "automation": automations.view(automation)}
    found = _record(sandbox, automation, source=snapshot, scheduled_at=occurrence)
    if automation["type"] == "periodic":
        automation["_next_run_at"] = automations.schedule(
            automation["expression"], automation["timezone"], occurrence
        )
    else:
        automation["_fired"] = True
        if automation["status"] == "active":
            automation["status"] = "completed"
    with sandbox.store.transaction():
        sandbox.store.insert(INVOCATION, found, parent=automation["id"])
        sandbox.store.put(AUTOMATION, automation)
    return JSONResponse(found)


async def list_invocations(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    automation = _automation(sandbox, request)
    return agent_page(request, INVOCATION, parent=automation["id"])


async def retrieve_invocation(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    automation = _automation(sandbox, request)
    invocation_id = path_param(request, "invocation_id")
    return JSONResponse(
        fetch(
            sandbox.store,
            INVOCATION,
            invocation_id,
            "automation invocation",
            parent=automation["id"],
        )
    )


# The sandbox-only path (`sandbox/run`) is the one route here the real API does not have.
SANDBOX_RUN = "/agents/automations/{automation_id}/sandbox/run"
routes = [
    Route("/agents/automations", create, methods=["POST"]),
    Route("/agents/automations", list_, methods=["GET"]),
    Route("/agents/automations/{automation_id}", retrieve, methods=["GET"]),
    Route("/agents/automations/{automation_id}", update, methods=["POST"]),
    Route("/agents/automations/{automation_id}", delete, methods=["DELETE"]),
    Route("/agents/automations/{automation_id}/pause", pause, methods=["POST"]),
    Route("/agents/automations/{automation_id}/resume", resume, methods=["POST"]),
    Route("/agents/automations/{automation_id}/invocations", create_invocation, methods=["POST"]),
    Route("/agents/automations/{automation_id}/invocations", list_invocations, methods=["GET"]),
    Route(
        "/agents/automations/{automation_id}/invocations/{invocation_id}",
        retrieve_invocation,
        methods=["GET"],
    ),
    Route(SANDBOX_RUN, run_scheduled, methods=["POST"]),
]
