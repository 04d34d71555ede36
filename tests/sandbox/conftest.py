"""Fixtures for the sandbox suite: one in-process server, SDK clients, and response conformance.

Fixtures
--------
server     the running `SandboxServer` (session-wide; faults and api_key must be restored
           by the test that changes them: use the `faults` fixture for fault rules)
sandbox    its live `Sandbox` state
client     `openai.OpenAI` on the server, max_retries=0
aclient    `openai.AsyncOpenAI` on the server, max_retries=0 (use in `@pytest.mark.anyio` tests)
faults     installs a `FaultConfig` for one test: `faults(FaultRule(...), seed=1)`
openapi    the `OpenAPIConformance` checker (skips when ../shared/openai is absent)

Conformance (autouse)
---------------------
Every JSON response a test in this directory receives from the server is validated,
after the test, against the response schema that ../shared/openai/openapi.yaml gives
for its operation: the operation is found by method and path (templates such as
/threads/{thread_id}/runs match any id), the schema is the one for the status code, and
any error status without its own schema must be an ErrorResponse. `nullable: true` is
read as "or null". A server-sent event stream is checked event by event where the spec
gives the operation a `text/event-stream` schema (POST /responses): each event's data
against the union member its `type` names, and the `event:` line must repeat that type.
Other non-JSON answers (streamed runs, file downloads) and dropped connections are not
checked. The real service's documented departures from the spec are
tolerated, each named in `REAL_VS_SPEC` below and nowhere else.

A test opts out with `@pytest.mark.no_conformance` (use sparingly, say why).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.faults import FaultConfig, FaultRule, LoggedRequest, RequestLog
from asst_deploy.sandbox.server import SandboxServer, start_server
from asst_deploy.sandbox.store import Store
from tests.inprocess import PLAIN_HTTP
from tests.shared import OPENAPI, in_ci, require

API_KEY = "sk-sandbox-test"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_conformance: skip response schema checks (say why)")


# --- the server and clients --------------------------------------------------------------


@pytest.fixture(scope="session")
def server() -> Iterator[SandboxServer]:
    state = Sandbox(store=Store(), log=RequestLog(capture_bodies=True))
    with start_server(state) as running:
        yield running


@pytest.fixture
def api_key() -> str:
    """The key the clients send (the server checks it only while `sandbox.api_key` is set)."""
    return API_KEY


@pytest.fixture
def sandbox(server: SandboxServer) -> Sandbox:
    return server.sandbox


@pytest.fixture
def client(server: SandboxServer) -> Iterator[openai.OpenAI]:
    http = openai.DefaultHttpxClient(verify=PLAIN_HTTP)
    with openai.OpenAI(
        base_url=server.base_url, api_key=API_KEY, max_retries=0, http_client=http
    ) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def aclient(server: SandboxServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c


@pytest.fixture
def faults(server: SandboxServer) -> Iterator[Callable[..., FaultConfig]]:
    saved = server.faults

    def install(*rules: FaultRule, seed: int = 0) -> FaultConfig:
        server.faults = FaultConfig(rules=list(rules), seed=seed)
        return server.faults

    yield install
    server.faults = saved


# --- conformance ---------------------------------------------------------------------------


def _null_or(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _patch_object_name(s: dict[str, Any]) -> None:
    s["VectorStoreFileBatchObject"]["properties"]["object"]["enum"].append(
        "vector_store.file_batch"
    )


def _patch_null_cursors(s: dict[str, Any]) -> None:
    for name, schema in s.items():
        props = schema.get("properties", {})
        # ListAssistantsResponse ..., and the Responses surfaces' ResponseItemList and
        # ConversationItemList (an empty conversation)
        if (name.startswith("List") or name.endswith("ItemList")) and "first_id" in props:
            props["first_id"] = _null_or(props["first_id"])
            props["last_id"] = _null_or(props["last_id"])


def _patch_status_details(s: dict[str, Any]) -> None:
    props = s["OpenAIFile"]["properties"]
    props["status_details"] = _null_or(props["status_details"])


def _patch_expires_after(s: dict[str, Any]) -> None:
    props = s["VectorStoreObject"]["properties"]
    props["expires_after"] = _null_or(props["expires_after"])


def _patch_message_fields(s: dict[str, Any]) -> None:
    optional = {"status", "incomplete_details", "completed_at", "incomplete_at"}
    s["MessageObject"]["required"] = [
        r for r in s["MessageObject"]["required"] if r not in optional
    ]


def _patch_run_step_fields(s: dict[str, Any]) -> None:
    step = s["RunStepObject"]
    step["required"] = [r for r in step["required"] if r not in ("expired_at", "metadata")]


def _patch_response_usage(s: dict[str, Any]) -> None:
    [props] = [
        p["properties"] for p in s["Response"]["allOf"] if "usage" in p.get("properties", {})
    ]
    props["usage"] = _null_or(props["usage"])


def _declare_response_deleted(spec: dict[str, Any]) -> None:
    answer = spec["paths"]["/responses/{response_id}"]["delete"]["responses"]["200"]
    answer["content"] = {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "object": {"type": "string", "enum": ["response"]},
                    "deleted": {"type": "boolean", "enum": [True]},
                },
                "required": ["id", "object", "deleted"],
            }
        }
    }


def _wrap_response_404s(spec: dict[str, Any]) -> None:
    for path, method in (
        ("/responses/{response_id}", "delete"),
        ("/responses/{response_id}/cancel", "post"),
    ):
        answer = spec["paths"][path][method]["responses"]["404"]["content"]["application/json"]
        answer["schema"] = {"$ref": "#/components/schemas/ErrorResponse"}


def _patch_base64_embedding(s: dict[str, Any]) -> None:
    props = s["Embedding"]["properties"]
    props["embedding"] = {"anyOf": [props["embedding"], {"type": "string"}]}


def _no_patch(s: dict[str, Any]) -> None:
    """Documented for completeness; nothing in the schemas needs loosening."""


@dataclass(frozen=True)
class Difference:
    description: str
    patch: Callable[[dict[str, Any]], None]
    # for departures outside components/schemas (an operation's declared answers)
    spec_patch: Callable[[dict[str, Any]], None] | None = None


# The real service wins where it and the spec disagree (see ../shared/openai/README.md).
REAL_VS_SPEC: dict[str, Difference] = {
    "file_batch_object_name": Difference(
        'file batch objects say "vector_store.file_batch" (spec: "vector_store.files_batch")',
        _patch_object_name,
    ),
    "empty_page_null_cursors": Difference(
        "empty list pages carry first_id = last_id = null", _patch_null_cursors
    ),
    "file_status_details_null": Difference(
        "file objects carry status_details = null (spec: string)", _patch_status_details
    ),
    "vector_store_expires_after_null": Difference(
        "vector stores carry expires_after = null when unset (spec: object)", _patch_expires_after
    ),
    "message_status_fields_omitted": Difference(
        "non-streamed messages omit status / incomplete_details / completed_at / incomplete_at",
        _patch_message_fields,
    ),
    "run_step_expires_at": Difference(
        "run steps carry expires_at and no metadata (spec: expired_at and metadata required); "
        "see the streamed steps in the openllmetry and ruby-openai recordings",
        _patch_run_step_fields,
    ),
    "run_extra_fields": Difference(
        "runs carry extra fields (tool_resources, reasoning_effort, usage details); the spec "
        "allows additional properties already",
        _no_patch,
    ),
    "event_stream_content_type": Difference(
        "streamed runs answer text/event-stream; charset=utf-8 (spec: JSON only): not checked",
        _no_patch,
    ),
    "response_usage_null_until_done": Difference(
        "a response still in progress (response.created / response.in_progress events) "
        "carries usage = null (spec: a ResponseUsage object)",
        _patch_response_usage,
    ),
    "response_deleted_body": Difference(
        'DELETE /responses/{response_id} answers {"id", "object": "response", "deleted": true} '
        "(spec: 200 without a body; the SDK discards it)",
        _no_patch,
        _declare_response_deleted,
    ),
    "response_404_wrapped": Difference(
        "404s of DELETE /responses/{response_id} and its /cancel carry the usual "
        '{"error": {...}} body (spec: a bare Error object)',
        _no_patch,
        _wrap_response_404s,
    ),
    "embedding_base64": Difference(
        "asked for encoding_format base64 (what the SDK sends by default), an embedding is "
        "the base64 of its little-endian float32 values (spec: an array of numbers)",
        _patch_base64_embedding,
    ),
    "file_content_bytes": Difference(
        "GET /files/{file_id}/content answers the raw bytes (spec: a JSON string): not checked",
        _no_patch,
    ),
}


def _nullable_to_any_of(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable_to_any_of(v) for k, v in node.items()}
        if node.pop("nullable", False) is True:
            return _null_or(node)
        return node
    if isinstance(node, list):
        return [_nullable_to_any_of(v) for v in node]
    return node


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class OpenAPIConformance:
    """Validates recorded responses against ../shared/openai/openapi.yaml."""

    URI = "urn:openai-openapi"

    def __init__(self, path: Path, differences: dict[str, Difference] | None = None) -> None:
        """`differences`: the departures to tolerate (default: all of `REAL_VS_SPEC`); a
        directory with stricter ground truth passes its own (tests/sandbox/responses)."""
        import yaml
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        with path.open() as fh:
            spec = _nullable_to_any_of(yaml.load(fh, Loader=yaml.CSafeLoader))
        self.differences = REAL_VS_SPEC if differences is None else differences
        for difference in self.differences.values():
            difference.patch(spec["components"]["schemas"])
            if difference.spec_patch is not None:
                difference.spec_patch(spec)
        self.spec = spec
        self._registry = Registry().with_resource(
            self.URI, Resource.from_contents(spec, default_specification=DRAFT202012)
        )
        self._validator_class = Draft202012Validator
        self._validators: dict[str, Any] = {}
        self._operations = [
            (method.upper(), re.compile("^/v1" + re.sub(r"\{[^/}]+\}", "[^/]+", path) + "$"), path)
            for path, ops in spec["paths"].items()
            for method in ops
            if method in ("get", "post", "delete")
        ]

    def operation(self, method: str, path: str) -> str | None:
        """The spec path template of a concrete request path; literal segments win."""
        found = [tpl for m, rx, tpl in self._operations if m == method and rx.match(path)]
        return min(found, key=lambda tpl: tpl.count("{")) if found else None

    def schema_pointer(self, method: str, template: str, status: int) -> str | None:
        responses = self.spec["paths"][template][method.lower()]["responses"]
        pointer = ["paths", template, method.lower(), "responses"]
        key = (
            str(status)
            if str(status) in responses
            else "default"
            if "default" in responses
            else None
        )
        if key is None:
            return None
        response = responses[key]
        pointer.append(key)
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[1]
            response, pointer = (
                self.spec["components"]["responses"][name],
                ["components", "responses", name],
            )
        if "application/json" not in response.get("content", {}):
            return None
        return _pointer(*pointer, "content", "application/json", "schema")

    def stream_pointer(self, method: str, template: str, status: int) -> str | None:
        """The event schema the spec gives a streamed answer, if any."""
        response = self.spec["paths"][template][method.lower()]["responses"].get(str(status))
        if not response or "text/event-stream" not in response.get("content", {}):
            return None
        return _pointer(
            "paths",
            template,
            method.lower(),
            "responses",
            str(status),
            "content",
            "text/event-stream",
            "schema",
        )

    def _resolve(self, pointer: str) -> Any:
        node: Any = self.spec
        for part in pointer.lstrip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        if isinstance(node, dict) and set(node) == {"$ref"}:
            return self._resolve(node["$ref"].lstrip("#"))
        return node

    def event_pointer(self, union: str, event_type: str) -> str | None:
        """The member of a discriminated event union whose `type` is `event_type`."""
        for member in self._resolve(union).get("anyOf", []):
            ref = member.get("$ref", "").lstrip("#")
            if event_type in self._resolve(ref).get("properties", {}).get("type", {}).get(
                "enum", []
            ):
                return ref
        return None

    def stream_problems(self, where: str, union: str, raw: bytes) -> list[str]:
        problems: list[str] = []
        for number, block in enumerate(raw.decode().split("\n\n")):
            if not block.strip():
                continue
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            try:
                data = json.loads(fields.get("data", ""))
            except ValueError:
                problems.append(f"{where}: event {number} has no JSON data")
                continue
            event_type = data.get("type") if isinstance(data, dict) else None
            if fields.get("event") != event_type:
                problems.append(
                    f"{where}: event {number} says {fields.get('event')!r}, data {event_type!r}"
                )
            member = self.event_pointer(union, str(event_type))
            if member is None:
                problems.append(
                    f"{where}: event {number}: no event type {event_type!r} in the spec"
                )
                continue
            problems.extend(
                f"{where}: event {number} ({event_type}): {error.message} at "
                f"{'/'.join(map(str, error.absolute_path)) or 'data'}"
                for error in self._validator(member).iter_errors(data)
            )
        return problems

    def _validator(self, pointer: str) -> Any:
        if pointer not in self._validators:
            self._validators[pointer] = self._validator_class(
                {"$ref": f"{self.URI}#{pointer}"}, registry=self._registry
            )
        return self._validators[pointer]

    def problems(self, entry: LoggedRequest) -> list[str]:
        """Why this logged response does not conform (empty when it does or is not JSON)."""
        where = f"{entry.method} {entry.path} -> {entry.status}"
        if entry.status is not None and entry.content_type.startswith("text/event-stream"):
            template = self.operation(entry.method, entry.path)
            union = template and self.stream_pointer(entry.method, template, entry.status)
            return self.stream_problems(where, union, entry.body or b"") if union else []
        if entry.status is None or not entry.content_type.startswith("application/json"):
            return []
        try:
            body = json.loads(entry.body or b"")
        except ValueError:
            return [f"{where}: body is not JSON"]
        template = self.operation(entry.method, entry.path)
        pointer = None
        if template is not None:
            pointer = self.schema_pointer(entry.method, template, entry.status)
        elif entry.status < 400:
            return [f"{where}: no operation in the spec"]
        if pointer is None:
            if entry.status < 400:
                return [f"{where}: the spec declares no JSON response for this status"]
            pointer = _pointer("components", "schemas", "ErrorResponse")
        return [
            f"{where}: {error.message} at {'/'.join(map(str, error.absolute_path)) or 'body'}"
            for error in self._validator(pointer).iter_errors(body)
        ]


@pytest.fixture(scope="session")
def openapi() -> OpenAPIConformance:
    require(OPENAPI, "the OpenAPI description")
    return OpenAPIConformance(OPENAPI)


@pytest.fixture(autouse=True)
def conformance(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("no_conformance") or not (OPENAPI.exists() or in_ci()):
        yield  # a user's clone has no ../shared: the test runs without the spec check
        return
    checker: OpenAPIConformance = request.getfixturevalue("openapi")
    log = request.getfixturevalue("server").log
    start = log.total
    yield
    problems = [p for entry in log.since(start) for p in checker.problems(entry)]
    if problems:
        pytest.fail("responses that do not match openapi.yaml:\n" + "\n".join(problems))
