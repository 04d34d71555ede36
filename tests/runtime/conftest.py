"""Fixtures for the runtime suite: a fresh sandbox, a project deployed to it, CreateResponse.

Fixtures
--------
server        a fresh in-process `SandboxServer` (in-memory store, no ingestion delay)
client        `openai.OpenAI` on it, as an application would hold one
spec_dir      PROJECT written to tmp_path with a target nothing listens on (pure tests)
project_dir   PROJECT written to tmp_path, its target an `openai` endpoint at the server
              (the key in $RT_API_KEY, set for the test)
deploy_project  applies project_dir (an environment, optionally) with the existing engine
conformance   (autouse) every answer of `server` in the test validates against openapi.yaml
create_response  a validator for ../shared/openai/openapi.yaml's CreateResponse schema
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from asst_deploy.engine import operations
from asst_deploy.engine.apply import Options, RetryPolicy, apply_plan
from asst_deploy.generations.sdk.openai_backend import OpenAIBackend
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.faults import RequestLog
from asst_deploy.sandbox.server import SandboxServer, start_server
from asst_deploy.sandbox.store import Store
from asst_deploy.spec.loader import load_project
from tests.inprocess import PLAIN_HTTP
from tests.sandbox.conftest import OpenAPIConformance
from tests.shared import OPENAPI

KEY_ENV = "RT_API_KEY"
FAST = Options(parallelism=4, poll_interval=0.01, retry=RetryPolicy(sleep=lambda s: None))

CANCEL_ORDER = {
    "name": "cancel_order",
    "description": "Cancel an order.",
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": {"order": {"type": "string"}},
        "required": ["order"],
        "additionalProperties": False,
    },
}

# Every field a request template carries; {base_url} is the sandbox's.
PROJECT: dict[str, str] = {
    "asst-deploy.yaml": """\
project: rt
targets:
  app:
    type: openai
    base_url: {base_url}
    api_key_env: RT_API_KEY
default_target: app
defaults:
  model: gpt-4o-mini
  metadata:
    team: platform
environments:
  prod:
    defaults:
      model: gpt-4o
    overrides:
      assistants:
        analyst:
          temperature: 0.3
""",
    "assistants/analyst.yaml": """\
kind: assistant
key: analyst
name: Analyst
description: Answers questions about orders.
instructions: You are the order analyst.
tools:
  - type: code_interpreter
  - type: file_search
    max_num_results: 4
    ranking_options:
      ranker: auto
      score_threshold: 0.2
  - type: function
    file: functions/cancel.json
  - type: function
    function:
      name: list_orders
tool_resources:
  code_interpreter:
    files: [data/orders.csv]
  file_search:
    vector_stores: [docs]
response_format:
  type: json_schema
  json_schema:
    name: answer
    strict: true
    schema:
      type: object
      properties:
        text: {type: string}
      required: [text]
      additionalProperties: false
metadata:
  owner: analytics
temperature: 0.7
top_p: 0.9
""",
    "assistants/helper.yaml": """\
kind: assistant
key: helper
name: Helper
instructions: Answer from the docs.
tools:
  - type: file_search
tool_resources:
  file_search:
    vector_stores: [docs]
""",
    "assistants/thinker.yaml": """\
kind: assistant
key: thinker
model: o3-mini
reasoning_effort: low
response_format: {type: json_object}
""",
    "vector_stores/docs.yaml": """\
kind: vector_store
key: docs
name: docs
files:
  - knowledge/policy.md
""",
    "functions/cancel.json": json.dumps(CANCEL_ORDER, indent=2) + "\n",
    "knowledge/policy.md": "# Policy\n\nRefunds are paid within 30 days of the return.\n",
    "data/orders.csv": "order,amount\nA1,10\nA2,20\n",
}


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    state = Sandbox(store=Store(), processing_delay=0.0, log=RequestLog(capture_bodies=True))
    with start_server(state) as running:
        yield running


@pytest.fixture(autouse=True)
def conformance(request: pytest.FixtureRequest) -> Iterator[None]:
    """What the sandbox answered a test (bodies and streamed events) matches openapi.yaml,
    with the sandbox suite's checker and its documented real-vs-spec differences."""
    if "server" not in request.fixturenames or not OPENAPI.exists():
        yield
        return
    checker: OpenAPIConformance = request.getfixturevalue("openapi")
    log = request.getfixturevalue("server").log
    yield
    problems = [p for entry in log.since(0) for p in checker.problems(entry)]
    assert not problems, "answers that do not match openapi.yaml:\n" + "\n".join(problems)


@pytest.fixture
def client(server: SandboxServer) -> Iterator[openai.OpenAI]:
    http = openai.DefaultHttpxClient(verify=PLAIN_HTTP)
    with openai.OpenAI(
        base_url=server.base_url, api_key="sandbox", max_retries=0, http_client=http
    ) as c:
        yield c


def write_project(root: Path, base_url: str) -> Path:
    for rel, text in PROJECT.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{base_url}", base_url), encoding="utf-8")
    return root


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    """PROJECT with a target nothing listens on: for what needs no network."""
    return write_project(tmp_path / "specs", "http://127.0.0.1:9/v1")


@pytest.fixture
def project_dir(tmp_path: Path, server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(KEY_ENV, "sandbox")
    return write_project(tmp_path / "proj", server.base_url)


@pytest.fixture
def deploy_project(project_dir: Path, client: openai.OpenAI) -> Callable[..., None]:
    """Deploy as a responses target: its vector stores and files, nothing else."""

    def run(env: str | None = None) -> None:
        project = load_project(project_dir, env)
        target = dataclasses.replace(project.target, api="responses")
        project = dataclasses.replace(project, target=target)
        backend = OpenAIBackend(client)
        plan, remote = operations.make_plan(project, backend, retry=FAST.retry)
        apply_plan(plan, project.root, backend, remote, options=FAST)

    return run


@pytest.fixture(scope="session")
def openapi() -> OpenAPIConformance:
    if not OPENAPI.exists():
        pytest.skip(f"no OpenAPI description at {OPENAPI}")
    return OpenAPIConformance(OPENAPI)


@pytest.fixture(scope="session")
def create_response(openapi: OpenAPIConformance) -> Callable[[Any], list[str]]:
    """Every way a body breaks openapi.yaml's CreateResponse (an empty list: none)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    # the checker's copy: `nullable` read as "or null"; its real-vs-spec patches loosen
    # only answers, never a request body
    uri = "urn:openai-openapi"
    registry = Registry().with_resource(
        uri, Resource.from_contents(openapi.spec, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator(
        {"$ref": f"{uri}#/components/schemas/CreateResponse"}, registry=registry
    )

    def problems(body: Any) -> list[str]:
        return [
            f"{e.message} at {'/'.join(map(str, e.absolute_path)) or 'body'}"
            for e in validator.iter_errors(body)
        ]

    return problems
