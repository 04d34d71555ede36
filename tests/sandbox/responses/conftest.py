"""Fixtures for the Responses and Conversations surfaces: conformance, rules, tools, a knowledge base.

Conformance (autouse, replaces the check of tests/sandbox/conftest.py in this directory)
--------------------------------------------------------------------------------------
Every answer a test here receives is checked twice after the test:

1. against the installed openai SDK's types, by pydantic's strict validation (no coercion:
   "1" is no integer) with no undeclared key anywhere in the tree. The SDK's BaseModel
   keeps unknown keys as `model_extra`, so the validated model is walked (nested models,
   lists, dicts, whichever union member was chosen) and any extra fails the check. JSON
   bodies are validated by route (`SDK_TYPES`), each event of a stream as a
   `ResponseStreamEvent` (its `event:` line must repeat its `type`), every 4xx/5xx as
   `{"error": ErrorObject}` and nothing else. A route with no SDK type here fails;
2. against ../shared/openai/openapi.yaml, by the suite's `OpenAPIConformance`, loosened
   only where this file says so.

Only two lists may excuse a departure, and nothing else does:
- `RECORDED`: what the real service sends against openapi.yaml or the SDK, each naming
  the cassette in ../shared/openai/recordings that shows it (and the text it shows, which
  test_conformance_check.py finds in that cassette);
- `SDK_OVER_SPEC`: where openapi.yaml and the SDK's types disagree, the SDK wins (the
  sandbox answers the SDK's shape, the spec is loosened to it), each naming the SDK type.

A test opts out with `@pytest.mark.no_conformance` (use sparingly, say why).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
import pydantic
import pytest
from openai.types import ErrorObject, FileObject, VectorStore
from openai.types.conversations import (
    Conversation,
    ConversationDeletedResource,
    ConversationItem,
    ConversationItemList,
)
from openai.types.responses import (
    CompactedResponse,
    Response,
    ResponseItemList,
    ResponseStreamEvent,
)
from openai.types.vector_stores import VectorStoreFile, VectorStoreFileBatch

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.faults import LoggedRequest
from asst_deploy.sandbox.model import ScriptedModel
from asst_deploy.sandbox.server import SandboxServer
from tests.sandbox.conftest import REAL_VS_SPEC, Difference, OpenAPIConformance
from tests.sdk_strict import UndeclaredKeys, validate_as
from tests.shared import OPENAPI, RECORDINGS, in_ci, require

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
POLICY = b"Refunds are paid within 30 days of the return. Shipping is free above 50 euros."

# --- the SDK's type for each route a test here calls ---------------------------------------

NO_BODY = None  # the SDK reads no body (its method returns None), and the spec declares none
STREAM = "stream"
SDK_TYPES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/responses"): Response,  # or a stream of ResponseStreamEvent
    ("POST", "/v1/responses/compact"): CompactedResponse,
    ("GET", "/v1/responses/{response_id}"): Response,
    ("DELETE", "/v1/responses/{response_id}"): NO_BODY,
    ("POST", "/v1/responses/{response_id}/cancel"): Response,
    ("GET", "/v1/responses/{response_id}/input_items"): ResponseItemList,
    ("POST", "/v1/conversations"): Conversation,
    ("GET", "/v1/conversations/{conversation_id}"): Conversation,
    ("POST", "/v1/conversations/{conversation_id}"): Conversation,
    ("DELETE", "/v1/conversations/{conversation_id}"): ConversationDeletedResource,
    ("GET", "/v1/conversations/{conversation_id}/items"): ConversationItemList,
    ("POST", "/v1/conversations/{conversation_id}/items"): ConversationItemList,
    ("GET", "/v1/conversations/{conversation_id}/items/{item_id}"): ConversationItem,
    ("DELETE", "/v1/conversations/{conversation_id}/items/{item_id}"): Conversation,
    # what the fixtures and tests here set up for file_search and code_interpreter
    ("POST", "/v1/files"): FileObject,
    ("POST", "/v1/vector_stores"): VectorStore,
    ("POST", "/v1/vector_stores/{vector_store_id}/files"): VectorStoreFile,
    ("POST", "/v1/vector_stores/{vector_store_id}/file_batches"): VectorStoreFileBatch,
    ("GET", "/v1/vector_stores/{vector_store_id}/file_batches/{batch_id}"): VectorStoreFileBatch,
}
EVENT = ResponseStreamEvent


class ErrorBody(pydantic.BaseModel):
    """Every error answer: `{"error": {...}}`, the SDK's ErrorObject, no other key."""

    model_config = pydantic.ConfigDict(extra="allow")

    error: ErrorObject


# --- what may differ, and why ------------------------------------------------------------


def _null_cursors_as_sdk(route: str, body: dict[str, Any]) -> dict[str, Any]:
    # the SDK types a page's cursors as strings; an empty real page has them null
    empty = body.get("object") == "list" and body.get("data") == []
    if empty and body.get("first_id") is None and body.get("last_id") is None:
        return {**body, "first_id": "", "last_id": ""}
    return body


def _batch_name_as_sdk(route: str, body: dict[str, Any]) -> dict[str, Any]:
    if "/file_batches" in route and body.get("object") == "vector_store.file_batch":
        return {**body, "object": "vector_store.files_batch"}
    return body


@dataclass(frozen=True)
class Recorded:
    """A departure of the real service from openapi.yaml or the SDK, shown by a recording."""

    recording: str  # a cassette in ../shared/openai/recordings
    evidence: str  # text of a real answer in it (bodies decoded) that shows the departure
    openapi: Difference | None = None  # how openapi.yaml is loosened for it
    # the body as the SDK's type has it, undoing exactly this departure (None: the SDK
    # type already allows what the service sends)
    sdk: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None


# The one allow-list of real departures for this directory's checks.
RECORDED: dict[str, Recorded] = {
    # the SDK and the spec say "vector_store.files_batch"; every real batch answer says
    # "vector_store.file_batch" (POST .../file_batches and its polls)
    "file_batch_object_name": Recorded(
        "jirispilka__test_vector_store_get_by_id.yaml",
        '"object": "vector_store.file_batch"',
        REAL_VS_SPEC["file_batch_object_name"],
        _batch_name_as_sdk,
    ),
    # an empty real page (GET /vector_stores/{id}/files) has first_id = last_id = null;
    # the SDK's ConversationItemList and ResponseItemList type both as strings, the spec
    # too; the sandbox answers an empty conversation's item page as the real empty page
    "empty_page_null_cursors": Recorded(
        "jirispilka__test_vector_store_get_by_id.yaml",
        '"data": [],\n  "first_id": null,\n  "last_id": null',
        REAL_VS_SPEC["empty_page_null_cursors"],
        _null_cursors_as_sdk,
    ),
    # uploaded files carry status_details = null (spec: a string; SDK: Optional already)
    "file_status_details_null": Recorded(
        "jirispilka__test_create_files_from_dataset.yaml",
        '"status_details": null',
        REAL_VS_SPEC["file_status_details_null"],
    ),
    # vector stores carry expires_after = null (spec: an object; SDK: Optional already)
    "vector_store_expires_after_null": Recorded(
        "jirispilka__test_vector_store_get_by_id.yaml",
        '"expires_after": null',
        REAL_VS_SPEC["vector_store_expires_after_null"],
    ),
    # real 404s are wrapped in {"error": {...}} (here a run step's); the spec gives DELETE
    # /responses/{id} and its /cancel a bare Error object. No recording holds a Responses
    # 404: this carries the service-wide shape over to them, as the SDK reads errors.
    "response_404_wrapped": Recorded(
        "ruby-openai__run_steps_retrieve.yaml",
        '"error": {\n    "message": "No run step found with id',
        REAL_VS_SPEC["response_404_wrapped"],
    ),
}


def _event_without_name(s: dict[str, Any]) -> None:
    event = s["ResponseFunctionCallArgumentsDoneEvent"]
    event["required"] = [r for r in event["required"] if r != "name"]


def _safety_identifier_128(s: dict[str, Any]) -> None:
    [string] = [
        v
        for v in s["ModelResponseProperties"]["properties"]["safety_identifier"]["anyOf"]
        if v.get("type") == "string"
    ]
    string["maxLength"] = 128


# Where openapi.yaml and the SDK's types disagree, the sandbox answers the SDK's shape.
SDK_OVER_SPEC: dict[str, Difference] = {
    "safety_identifier_128": Difference(
        "safety_identifier may be 128 characters: the SDK's ResponseCreateParams and "
        "Response say so (spec: maxLength 64)",
        _safety_identifier_128,
    ),
    "function_call_arguments_done_name": Difference(
        "response.function_call_arguments.done carries no `name`: the SDK's "
        "ResponseFunctionCallArgumentsDoneEvent declares none (spec: required)",
        _event_without_name,
    ),
}


def openapi_differences() -> dict[str, Difference]:
    """The spec loosenings this directory's OpenAPI check applies (and no others)."""
    found = {k: r.openapi for k, r in RECORDED.items() if r.openapi is not None}
    return {**found, **SDK_OVER_SPEC}


# --- validation --------------------------------------------------------------------------


_TEMPLATES = sorted({tpl for _, tpl in SDK_TYPES}, key=lambda tpl: tpl.count("{"))


def route_of(path: str) -> str | None:
    """The route template of a concrete path; literal segments win (/responses/compact)."""
    for template in _TEMPLATES:
        if re.fullmatch(re.sub(r"\{[^/}]+\}", "[^/]+", template), path):
            return template
    return None


def as_sdk(route: str, body: Any) -> Any:
    """The body with each recorded departure undone, as the SDK's type would have it."""
    for recorded in RECORDED.values():
        if recorded.sdk is not None and isinstance(body, dict):
            body = recorded.sdk(route, body)
    return body


def sse_blocks(raw: bytes) -> list[tuple[str | None, Any]]:
    """(event line, parsed data) of each block of a server-sent event stream."""
    blocks = []
    for block in raw.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            blocks.append((fields.get("event"), json.loads(fields["data"])))
    return blocks


def sdk_problems(entry: LoggedRequest) -> list[str]:
    """Why this logged answer does not parse strictly as the SDK's type for its route."""
    where = f"{entry.method} {entry.path} -> {entry.status}"
    if entry.status is None or entry.fault is not None or entry.body is None:
        return []
    try:
        if entry.status >= 400:
            validate_as(ErrorBody, json.loads(entry.body))
            return []
        route = route_of(entry.path)
        key = (entry.method, route or "")
        if key not in SDK_TYPES:
            return [f"{where}: no SDK type known for this route"]
        kind = SDK_TYPES[key]
        if kind is NO_BODY:
            return [] if entry.body == b"" else [f"{where}: a body where the SDK reads none"]
        if entry.content_type.startswith("text/event-stream"):
            if key != ("POST", "/v1/responses"):
                return [f"{where}: an event stream where the SDK expects JSON"]
            found = []
            for number, (name, event) in enumerate(sse_blocks(entry.body)):
                at = f"{where}: event {number} ({event.get('type')})"
                if name != event.get("type"):
                    found.append(f"{at}: its event line says {name!r}")
                try:
                    validate_as(EVENT, event)
                except (pydantic.ValidationError, UndeclaredKeys) as exc:
                    found.append(f"{at}: {exc}")
            return found
        validate_as(kind, as_sdk(str(route), json.loads(entry.body)))
    except (pydantic.ValidationError, ValueError, KeyError, TypeError) as exc:
        return [f"{where}: {exc}"]
    return []


# --- recordings ----------------------------------------------------------------------------


def recorded_answers(cassette: str) -> list[str]:
    """The decoded answer bodies of a cassette in ../shared/openai/recordings."""
    import brotli
    import yaml

    with (RECORDINGS / cassette).open() as fh:
        interactions = yaml.load(fh, Loader=yaml.CSafeLoader)["interactions"]
    bodies = []
    for interaction in interactions:
        answer = interaction["response"]
        raw = answer["body"]["string"]
        data = raw if isinstance(raw, bytes) else raw.encode()
        encoding = {k.lower(): v for k, v in answer["headers"].items()}.get("content-encoding")
        if encoding == ["gzip"]:
            data = gzip.decompress(data)
        elif encoding == ["br"]:
            data = brotli.decompress(data)
        bodies.append(data.decode())
    return bodies


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def responses_openapi() -> OpenAPIConformance:
    """The OpenAPI checker loosened by this directory's lists only."""
    require(OPENAPI, "the OpenAPI description")
    return OpenAPIConformance(OPENAPI, differences=openapi_differences())


@pytest.fixture(autouse=True)
def conformance(request: pytest.FixtureRequest) -> Iterator[None]:
    server: SandboxServer = request.getfixturevalue("server")
    skip = request.node.get_closest_marker("no_conformance")
    checker: OpenAPIConformance | None = None
    if (OPENAPI.exists() or in_ci()) and not skip:  # in CI a missing spec fails, never skips
        checker = request.getfixturevalue("responses_openapi")
    start = server.log.total
    yield
    if skip:
        return
    entries = server.log.since(start)
    found = [p for entry in entries for p in sdk_problems(entry)]
    if checker is not None:
        found += [p for entry in entries for p in checker.problems(entry)]
    if found:
        pytest.fail(
            "answers that do not match the SDK's types or openapi.yaml:\n" + "\n".join(found)
        )


@pytest.fixture
def model(sandbox: Sandbox) -> Iterator[ScriptedModel]:
    saved = sandbox.model
    sandbox.model = ScriptedModel(step_delay=0.01)
    sandbox.model.add_rule(
        r"weather in (?P<city>\w+)",
        function_calls=[{"name": "get_weather", "arguments": {"city": "{match[city]}"}}],
        reply="It is {outputs[get_weather]} in {arguments[get_weather][city]}.",
    )
    sandbox.model.add_rule("(?i)refund", file_search=True)
    sandbox.model.add_rule(
        "(?i)solve", code_interpreter={"input": "print(2 + 2)", "logs": "4"}, reply="It is 4."
    )
    sandbox.model.add_rule("(?i)break", status="failed", error="The model broke.")
    sandbox.model.add_rule("(?i)ramble", reply=" ".join(["word"] * 40))
    sandbox.model.add_rule("(?i)oops", reply="{outputs[never_called]}")
    sandbox.model.add_rule("(?i)billing", assistant="Billing", reply="Billing here.")
    sandbox.model.add_rule("", reply="You said: {message}")
    yield sandbox.model
    sandbox.model = saved


@pytest.fixture
def weather() -> dict[str, Any]:
    """A strict function tool (the Responses API's default) with a strict-valid schema."""
    return json.loads(json.dumps(WEATHER))


@pytest.fixture
def vector_store(client: openai.OpenAI) -> Any:
    file = client.files.create(file=("policy.txt", POLICY), purpose="assistants")
    return client.vector_stores.create(name="policies", file_ids=[file.id])


@pytest.fixture
def raw(server: SandboxServer) -> Iterator[httpx2.Client]:
    """Plain HTTP on the sandbox, for bodies the SDK would not send."""
    with httpx2.Client(base_url=server.base_url, timeout=10) as c:
        yield c
