"""Fixtures for the Agents API suite: SDK-type conformance of every answer, helpers to drive sessions.

Conformance (autouse, replaces the OpenAPI check of tests/sandbox/conftest.py here)
---------------------------------------------------------------------------------
The Agents API's ground truth is the openai SDK's generated types (OpenAI's Agents OpenAPI
in shared/openai is older: it gives the page shapes checked here, and loses otherwise).
Every response a test in this directory receives from /v1/agents..., /v1/vaults... and
/v1/skills... is validated after the test with those pydantic types, by strict validation (never `construct`, which
is what the SDK itself does when parsing, and which accepts anything): JSON bodies by
route, list pages item by item, each event of an SSE body as an `AgentSessionEvent`,
and every 4xx/5xx as the API's error body; skill downloads must be zips. Strict means pydantic's strict mode (no
coercion: "1" is no integer) and no undeclared key anywhere in the tree: the SDK's
BaseModel keeps unknown keys as `model_extra`, so the validated model is walked and any
extra fails the check. Requests to other families keep the OpenAPI check, and so do skills
(openapi.yaml has them); vaults have no operation there.

Waits are bounded: the clients here time out a read after `READ_TIMEOUT` seconds (a
quiet event stream fails the test instead of hanging it), and `events_until` gives up
with a message at its deadline.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Literal

import httpx2
import openai
import pydantic
import pytest
from openai.types import DeletedSkill, ErrorObject, Skill
from openai.types.beta import Agent, AgentDeleted, AgentSession, AgentSessionDeleted
from openai.types.beta.agent_session_event import AgentSessionEvent
from openai.types.beta.agent_session_item import AgentSessionItem
from openai.types.beta.agents import Automation, AutomationDeleted, EnvironmentInfo, Vault
from openai.types.beta.agents.automations import AutomationInvocation
from openai.types.beta.agents.environments import (
    EnvironmentFile,
    EnvironmentTemplate,
    EnvironmentTemplateDeleted,
)
from openai.types.beta.agents.sessions import Turn
from openai.types.beta.agents.vault_deleted import VaultDeleted
from openai.types.beta.agents.vaults import Credential, CredentialDeleted
from openai.types.skills import DeletedSkillVersion, SkillVersion

from asst_deploy.sandbox.faults import LoggedRequest
from asst_deploy.sandbox.routes.agent_automations import SANDBOX_RUN
from asst_deploy.sandbox.routes.agent_sessions import OPEN_STREAMS
from asst_deploy.sandbox.server import SandboxServer
from tests.inprocess import PLAIN_HTTP
from tests.sandbox.conftest import API_KEY, OpenAPIConformance
from tests.sdk_strict import validate_as
from tests.shared import OPENAPI, in_ci

AGENTS = "/v1/agents"
VAULTS = "/v1/vaults"
SKILLS = "/v1/skills"
# Checked against the SDK's types here; the OpenAPI check skips the first two (vaults are
# not in openapi.yaml) and checks skills too.
SDK_CHECKED = (AGENTS, VAULTS, SKILLS)
# Seconds a client here waits for a read (an answer, or the next streamed event): a stream
# that goes quiet fails its test with a timeout instead of hanging it.
READ_TIMEOUT = 10.0

# (method, route template) -> (response type, is a list page: True for a cursor page,
# "token" for a token page)
RESPONSES: dict[tuple[str, str], tuple[Any, bool | str]] = {
    ("POST", "/v1/agents"): (Agent, False),
    ("GET", "/v1/agents"): (Agent, True),
    ("GET", "/v1/agents/{agent_id}"): (Agent, False),
    ("POST", "/v1/agents/{agent_id}"): (Agent, False),
    ("DELETE", "/v1/agents/{agent_id}"): (AgentDeleted, False),
    ("POST", "/v1/agents/environments/templates"): (EnvironmentTemplate, False),
    ("GET", "/v1/agents/environments/templates"): (EnvironmentTemplate, True),
    ("GET", "/v1/agents/environments/templates/{template_id}"): (EnvironmentTemplate, False),
    ("POST", "/v1/agents/environments/templates/{template_id}"): (EnvironmentTemplate, False),
    ("DELETE", "/v1/agents/environments/templates/{template_id}"): (
        EnvironmentTemplateDeleted,
        False,
    ),
    ("POST", "/v1/agents/sessions"): (AgentSession, False),
    ("GET", "/v1/agents/sessions"): (AgentSession, True),
    ("GET", "/v1/agents/sessions/{session_id}"): (AgentSession, False),
    ("POST", "/v1/agents/sessions/{session_id}"): (AgentSession, False),
    ("DELETE", "/v1/agents/sessions/{session_id}"): (AgentSessionDeleted, False),
    ("GET", "/v1/agents/sessions/{session_id}/items"): (AgentSessionItem, True),
    ("GET", "/v1/agents/sessions/{session_id}/turns"): (Turn, True),
    ("GET", "/v1/agents/sessions/{session_id}/turns/{turn_id}"): (Turn, False),
    ("GET", "/v1/agents/sessions/{session_id}/turns/{turn_id}/items"): (AgentSessionItem, True),
    ("POST", "/v1/agents/environments"): (EnvironmentInfo, False),
    ("GET", "/v1/agents/environments"): (EnvironmentInfo, True),
    ("GET", "/v1/agents/environments/{environment_id}"): (EnvironmentInfo, False),
    ("POST", "/v1/agents/environments/{environment_id}/files"): (EnvironmentFile, False),
    ("GET", "/v1/agents/environments/{environment_id}/files"): (EnvironmentFile, "token"),
    ("POST", "/v1/vaults"): (Vault, False),
    ("GET", "/v1/vaults"): (Vault, True),
    ("GET", "/v1/vaults/{vault_id}"): (Vault, False),
    ("POST", "/v1/vaults/{vault_id}"): (Vault, False),
    ("DELETE", "/v1/vaults/{vault_id}"): (VaultDeleted, False),
    ("POST", "/v1/vaults/{vault_id}/credentials"): (Credential, False),
    ("GET", "/v1/vaults/{vault_id}/credentials"): (Credential, True),
    ("GET", "/v1/vaults/{vault_id}/credentials/{credential_id}"): (Credential, False),
    ("POST", "/v1/vaults/{vault_id}/credentials/{credential_id}"): (Credential, False),
    ("DELETE", "/v1/vaults/{vault_id}/credentials/{credential_id}"): (CredentialDeleted, False),
    ("POST", "/v1/agents/automations"): (Automation, False),
    ("GET", "/v1/agents/automations"): (Automation, True),
    ("GET", "/v1/agents/automations/{automation_id}"): (Automation, False),
    ("POST", "/v1/agents/automations/{automation_id}"): (Automation, False),
    ("DELETE", "/v1/agents/automations/{automation_id}"): (AutomationDeleted, False),
    ("POST", "/v1/agents/automations/{automation_id}/pause"): (Automation, False),
    ("POST", "/v1/agents/automations/{automation_id}/resume"): (Automation, False),
    ("POST", "/v1/agents/automations/{automation_id}/invocations"): (AutomationInvocation, False),
    ("GET", "/v1/agents/automations/{automation_id}/invocations"): (AutomationInvocation, True),
    ("GET", "/v1/agents/automations/{automation_id}/invocations/{invocation_id}"): (
        AutomationInvocation,
        False,
    ),
    ("POST", "/v1" + SANDBOX_RUN): (AutomationInvocation, False),  # sandbox-only
    ("POST", "/v1/skills"): (Skill, False),
    ("GET", "/v1/skills"): (Skill, True),
    ("GET", "/v1/skills/{skill_id}"): (Skill, False),
    ("POST", "/v1/skills/{skill_id}"): (Skill, False),
    ("DELETE", "/v1/skills/{skill_id}"): (DeletedSkill, False),
    ("POST", "/v1/skills/{skill_id}/versions"): (SkillVersion, False),
    ("GET", "/v1/skills/{skill_id}/versions"): (SkillVersion, True),
    ("GET", "/v1/skills/{skill_id}/versions/{version}"): (SkillVersion, False),
    ("DELETE", "/v1/skills/{skill_id}/versions/{version}"): (DeletedSkillVersion, False),
}
# Answers that are no JSON: their media type.
BINARY_ANSWERS = {
    ("GET", "/v1/skills/{skill_id}/content"): "application/zip",
    ("GET", "/v1/skills/{skill_id}/versions/{version}/content"): "application/zip",
}


class Page(pydantic.BaseModel):
    """A list page as the Agents OpenAPI gives it (`*ListResource`, no other key)."""

    model_config = pydantic.ConfigDict(extra="allow")

    object: Literal["list"]
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool


class TokenPage(pydantic.BaseModel):
    """An environment's live files page (EnvironmentFileListResource: an opaque `next`)."""

    model_config = pydantic.ConfigDict(extra="forbid")

    object: Literal["page"]
    data: list[dict[str, Any]]
    next: str | None
    has_more: bool


EMPTY_ANSWERS = {("POST", "/v1/agents/sessions/{session_id}/events"): 202}
_TEMPLATES = sorted(
    {tpl for _, tpl in [*RESPONSES, *EMPTY_ANSWERS, *BINARY_ANSWERS]}
    | {"/v1/agents/sessions/{session_id}/events"},
    key=lambda tpl: tpl.count("{"),  # literal segments win: /agents/sessions is no agent id
)


def route_of(path: str) -> str | None:
    """The route template of a concrete path of an SDK-checked family (the log's own
    `route` is not set)."""
    for template in _TEMPLATES:
        if re.fullmatch(re.sub(r"\{[^/}]+\}", "[^/]+", template), path):
            return template
    return None


def sse_events(body: bytes) -> list[dict[str, Any]]:
    """The JSON `data:` payloads of an SSE body, [DONE] excluded."""
    events = []
    for block in body.decode().split("\n\n"):
        data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
        if data and data[0] != "[DONE]":
            events.append(json.loads("\n".join(data)))
    return events


def problems(entry: LoggedRequest) -> list[str]:
    """Why this logged answer does not parse as the SDK's type for its route."""
    where = f"{entry.method} {entry.path} -> {entry.status}"
    if entry.status is None or entry.fault is not None or entry.body is None:
        return []
    try:
        if entry.status >= 400:
            validate_as(ErrorObject, json.loads(entry.body)["error"])
            return []
        key = (entry.method, route_of(entry.path) or "")
        if key in EMPTY_ANSWERS:
            return [] if entry.status == EMPTY_ANSWERS[key] else [f"{where}: expected 202"]
        if key in BINARY_ANSWERS:
            wanted = BINARY_ANSWERS[key]
            ok = entry.content_type.startswith(wanted)
            return [] if ok else [f"{where}: expected {wanted}, got {entry.content_type}"]
        if entry.content_type.startswith("text/event-stream"):
            for event in sse_events(entry.body):
                validate_as(AgentSessionEvent, event)
                if not event.get("event_id"):
                    return [f"{where}: an event without event_id: {event}"]
            return []
        if key not in RESPONSES:
            return [f"{where}: no SDK type known for this route"]
        kind, is_page = RESPONSES[key]
        body = json.loads(entry.body)
        if is_page:
            page = validate_as(TokenPage if is_page == "token" else Page, body)
            for item in page.data:
                validate_as(kind, item)
        else:
            validate_as(kind, body)
    except (pydantic.ValidationError, ValueError, KeyError, TypeError) as exc:
        return [f"{where}: {exc}"]
    return []


def wait_for_streams(server: SandboxServer, timeout: float = 3.0) -> None:
    """Event streams are logged when they close; give closed clients' streams time to end
    (fails the test when one is still open at the deadline: its events went unchecked)."""
    deadline = time.monotonic() + timeout
    while server.sandbox.extras.get(OPEN_STREAMS, 0) > 0:
        if time.monotonic() >= deadline:
            pytest.fail(f"an event stream was still open {timeout} s after its client left")
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def conformance(request: pytest.FixtureRequest) -> Iterator[None]:
    server: SandboxServer = request.getfixturevalue("server")
    skip = request.node.get_closest_marker("no_conformance")
    checker: OpenAPIConformance | None = None
    if (OPENAPI.exists() or in_ci()) and not skip:  # in CI a missing spec fails, never skips
        checker = request.getfixturevalue("openapi")
    start = server.log.total
    yield
    if skip:
        return
    wait_for_streams(server)
    entries = server.log.since(start)
    found = [p for e in entries if e.path.startswith(SDK_CHECKED) for p in problems(e)]
    if checker is not None:
        openapi_checked = [e for e in entries if not e.path.startswith((AGENTS, VAULTS))]
        found += [p for e in openapi_checked for p in checker.problems(e)]
    if found:
        pytest.fail("responses that do not parse as their types:\n" + "\n".join(found))


@pytest.fixture
def client(server: SandboxServer) -> Iterator[openai.OpenAI]:
    """The suite's client with every read bounded by READ_TIMEOUT."""
    http = openai.DefaultHttpxClient(verify=PLAIN_HTTP)
    with openai.OpenAI(
        base_url=server.base_url,
        api_key=API_KEY,
        max_retries=0,
        timeout=READ_TIMEOUT,
        http_client=http,
    ) as c:
        yield c


@pytest.fixture
async def aclient(server: SandboxServer) -> AsyncIterator[openai.AsyncOpenAI]:
    """The suite's async client with every read bounded by READ_TIMEOUT."""
    async with openai.AsyncOpenAI(
        base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=READ_TIMEOUT
    ) as c:
        yield c


def events_until(
    stream: Iterable[AgentSessionEvent], last: str, timeout: float = READ_TIMEOUT
) -> list[AgentSessionEvent]:
    """The stream's events up to and including the first of type `last`; fails the test
    with what it saw when the stream ends, goes quiet or runs past `timeout` first."""
    deadline = time.monotonic() + timeout
    seen: list[AgentSessionEvent] = []
    try:
        for event in stream:
            seen.append(event)
            if event.type == last:
                return seen
            if time.monotonic() > deadline:
                break
    except (openai.APITimeoutError, httpx2.TimeoutException):
        pass  # a quiet stream: reported below
    pytest.fail(
        f"no {last} event (the stream ended, went quiet or ran past {timeout} s); "
        f"saw {[e.type for e in seen]}"
    )


async def aevents_until(
    stream: AsyncIterable[AgentSessionEvent], last: str, timeout: float = READ_TIMEOUT
) -> list[AgentSessionEvent]:
    """`events_until` for an async stream."""
    deadline = time.monotonic() + timeout
    seen: list[AgentSessionEvent] = []
    try:
        async for event in stream:
            seen.append(event)
            if event.type == last:
                return seen
            if time.monotonic() > deadline:
                break
    except (openai.APITimeoutError, httpx2.TimeoutException):
        pass  # a quiet stream: reported below
    pytest.fail(
        f"no {last} event (the stream ended, went quiet or ran past {timeout} s); "
        f"saw {[e.type for e in seen]}"
    )


@pytest.fixture
def rules(server: SandboxServer) -> Iterator[Callable[..., None]]:
    """Add scripted-model rules for one test (first match wins; removed afterwards)."""
    model = server.sandbox.model
    saved_rules, saved_delay = list(model.rules), model.step_delay
    model.step_delay = 0.02

    def add(match: str = "", **kwargs: Any) -> None:
        model.add_rule(match, **kwargs)

    yield add
    model.rules[:] = saved_rules
    model.step_delay = saved_delay


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def agent(client: openai.OpenAI) -> Iterator[Agent]:
    created = client.beta.agents.create(
        model="gpt-5", name="Weather agent", instructions="Help.", tools=[WEATHER_TOOL]
    )
    yield created
    client.beta.agents.delete(created.id)


@pytest.fixture
def clock(server: SandboxServer) -> Iterator[Callable[[float], None]]:
    """Holds the sandbox's clock still for one test: `clock(t)` sets it to Unix time `t`
    (it starts at the real time); the real clock is back afterwards. Nothing sleeps."""
    sandbox = server.sandbox
    saved = sandbox.clock
    now = [saved()]
    sandbox.clock = lambda: now[0]

    def set_to(value: float) -> None:
        now[0] = value

    yield set_to
    sandbox.clock = saved


def log_text(server: SandboxServer, start: int) -> str:
    """Everything the request log holds since `start`: paths, queries, answered bodies."""
    wait_for_streams(server)
    return "\n".join(
        f"{e.method} {e.path}?{e.query}\n{(e.body or b'').decode('utf-8', 'replace')}"
        for e in server.log.since(start)
    )
