"""Fixtures for the engine suite: a sandbox per test, SDK clients, and a feature-complete project.

Fixtures
--------
server        a fresh in-process `SandboxServer` (in-memory store, no ingestion delay)
client        `openai.OpenAI` on it (max_retries=0), for out-of-band edits and checks
backend       the engine's `AssistantsBackend` over that client
project_dir   tmp copy of FULL_PROJECT (every spec feature); its sandbox target keeps its db
              in the project (.state/sandbox.db), only the CLI tests use it
deployer      a `Deployer` for project_dir against `backend`
foreign       objects created with the SDK before the test: no marker, or another project's
              marker (same keys and paths as ours); `foreign.assert_untouched()` checks them
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest

from asst_deploy import authorship, identity
from asst_deploy.backend import Backend
from asst_deploy.desired import Project
from asst_deploy.engine import operations
from asst_deploy.engine.apply import Options, RetryPolicy, apply_plan
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.plan import Plan
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.server import SandboxServer, start_server
from asst_deploy.sandbox.store import Store
from asst_deploy.spec.loader import load_project
from asst_deploy.state import RemoteState
from tests.inprocess import InProcessTransport

PROJECT = "feat"
NO_SLEEP = RetryPolicy(sleep=lambda seconds: None)
FAST = Options(parallelism=4, poll_interval=0.01, retry=NO_SLEEP)

LOOKUP_FUNCTION = {
    "name": "lookup_order",
    "description": "Find an order by its number.",
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": {
            "order": {"type": "string", "description": "Order number"},
            "region": {"type": ["string", "null"], "enum": ["eu", "us", None]},
        },
        "required": ["order", "region"],
        "additionalProperties": False,
    },
}

# A project that uses every spec feature (see design.md section 4).
FULL_PROJECT: dict[str, str] = {
    "asst-deploy.yaml": """\
project: feat
targets:
  sandbox:
    type: sandbox
    db: .state/sandbox.db
default_target: sandbox
vars:
  company: Acme
  tone: friendly
defaults:
  model: gpt-4o-mini
  metadata:
    team: platform
environments:
  prod:
    vars:
      tone: formal
    defaults:
      model: gpt-4o
    overrides:
      assistants:
        analyst:
          temperature: 0.3
      vector_stores:
        docs:
          name: Acme docs (prod)
""",
    "assistants/analyst.yaml": """\
kind: assistant
key: analyst
name: ${company} Analyst
description: Answers questions about orders and documents.
instructions:
  file: prompts/analyst.md
tools:
  - type: code_interpreter
  - type: file_search
    max_num_results: 7
    ranking_options:
      ranker: default_2024_08_21
      score_threshold: 0.25
  - type: function
    function:
      name: cancel_order
      description: Cancel an order.
      strict: true
      parameters:
        type: object
        properties:
          order: {type: string}
        required: [order]
        additionalProperties: false
  - type: function
    file: functions/lookup.json
tool_resources:
  code_interpreter:
    files: [data/*.csv]
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
    "assistants/greeter.yaml": """\
kind: assistant
key: greeter
name: Greeter
instructions: Greet visitors of ${company} in a ${tone} tone.
""",
    "vector_stores/docs.yaml": """\
kind: vector_store
key: docs
name: ${company} docs
files:
  - path: knowledge/policy.md
    attributes: {topic: policy, version: 2, public: true}
  - knowledge/faq.txt
chunking_strategy:
  type: static
  static:
    max_chunk_size_tokens: 600
    chunk_overlap_tokens: 100
expires_after:
  anchor: last_active_at
  days: 30
metadata:
  owner: docs-team
""",
    "prompts/analyst.md": "You are the analyst of ${company}. Be ${tone}.\n",
    "functions/lookup.json": json.dumps(LOOKUP_FUNCTION, indent=2) + "\n",
    "knowledge/policy.md": "# Policy\n\nRefunds within 30 days.\n",
    "knowledge/faq.txt": "Q: Where is my order?\nA: Ask the analyst.\n",
    "data/orders.csv": "order,amount\nA1,10\nA2,20\n",
}


def write_project(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# ---- the sandbox -----------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with start_server(Sandbox(store=Store(), processing_delay=0.0)) as running:
        yield running


def sdk_client(server: SandboxServer, api_key: str = "sandbox") -> openai.OpenAI:
    # In-process, not over loopback HTTP: a third of the CPU per request, no connection
    # set up per request nor TLS context (CA bundle) loaded per client; the tests that
    # need the socket itself (the CLI's, a subprocess's) use `server.base_url`.
    http = openai.DefaultHttpxClient(transport=InProcessTransport(server))
    return openai.OpenAI(base_url=server.base_url, api_key=api_key, max_retries=0, http_client=http)


@pytest.fixture
def client(server: SandboxServer) -> Iterator[openai.OpenAI]:
    with sdk_client(server) as c:
        yield c


@pytest.fixture
def backend(client: openai.OpenAI) -> AssistantsBackend:
    return AssistantsBackend(client)


# ---- the project and the engine ------------------------------------------------------------


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj", FULL_PROJECT)


@dataclass
class Deployer:
    """Runs the engine (plan / apply / destroy) for one project directory."""

    root: Path
    backend: Backend
    env: str | None = None
    options: Options = FAST
    api: str | None = None  # deploy as this API generation, whatever the target says

    def load(self) -> Project:
        project = load_project(self.root, self.env)
        if self.api is None:
            return project
        return dataclasses.replace(
            project, target=dataclasses.replace(project.target, api=self.api)
        )

    def write(self, rel: str, text: str) -> None:
        (self.root / rel).write_text(text, encoding="utf-8")

    def edit(self, rel: str, old: str, new: str) -> None:
        text = (self.root / rel).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        self.write(rel, text.replace(old, new, 1))

    def plan(self, *, prune: bool = False, backend: Backend | None = None) -> Plan:
        return operations.make_plan(
            self.load(), backend or self.backend, prune=prune, retry=self.options.retry
        )[0]

    def apply(
        self, *, prune: bool = False, backend: Backend | None = None, options: Options | None = None
    ) -> Plan:
        """Make a plan and carry it out; returns the plan applied."""
        project = self.load()
        backend = backend or self.backend
        plan, remote = operations.make_plan(project, backend, prune=prune, retry=self.options.retry)
        if not plan.empty:
            apply_plan(plan, project.root, backend, remote, options=options or self.options)
        return plan

    def destroy(self) -> Plan:
        project = self.load()
        remote = self.backend.read_state()
        plan = operations.destroy_plan(project, remote)
        apply_plan(plan, project.root, self.backend, remote, options=self.options)
        return plan


@pytest.fixture
def deployer(project_dir: Path, backend: AssistantsBackend) -> Deployer:
    return Deployer(project_dir, backend)


def managed_counts(state: RemoteState, project: str = PROJECT) -> Counter[tuple[str, str]]:
    """How many remote objects carry each managed identity: (kind, key or file path)."""
    counts: Counter[tuple[str, str]] = Counter()
    for obj in state.all_objects():
        owner, key, _ = obj.owner
        if owner == project and key:
            counts[(obj.kind, key)] += 1
    for f in state.files:
        if f.identity and f.identity.project == project:
            counts[("file", f.identity.path)] += 1
    return counts


def proof_of_authorship(
    backend: Backend, kind: str, key: str, remote_id: str = "", project: str = PROJECT
) -> str:
    """The proof the project's apply writes on an object (authorship.py): the provisional
    one without `remote_id` (an object just created, and every file)."""
    marker = authorship.markers(backend.read_state().leases)[project]
    return authorship.proof(marker.nonce, kind, key, remote_id)


def assert_no_duplicates(state: RemoteState, project: str = PROJECT) -> None:
    dups = {k: n for k, n in managed_counts(state, project).items() if n != 1}
    assert not dups, f"duplicate managed objects: {dups}"


# ---- objects the project must never touch ---------------------------------------------------


def snapshot(client: openai.OpenAI) -> dict[str, Any]:
    """Every object on the server, by id, as the API shows it (vector stores with files)."""
    result: dict[str, Any] = {}
    for a in client.beta.assistants.list(limit=100):
        result[a.id] = a.model_dump(mode="json")
    for s in client.vector_stores.list(limit=100):
        data = s.model_dump(mode="json")
        data["files"] = [
            f.model_dump(mode="json") for f in client.vector_stores.files.list(s.id, limit=100)
        ]
        result[s.id] = data
    for f in client.files.list():
        result[f.id] = f.model_dump(mode="json")
    return result


@dataclass
class Foreign:
    """Objects of another project, and objects with no marker, made before the test."""

    client: openai.OpenAI
    before: dict[str, Any] = field(default_factory=dict)

    def create(self) -> Foreign:
        c = self.client
        other_file = c.files.create(
            file=(identity.file_name("other", "0" * 16, "knowledge/policy.md"), b"theirs"),
            purpose="assistants",
        )
        # same project name prefix as ours but not our tagging scheme: must not be parsed as ours
        plain_file = c.files.create(file=("policy.md", b"# not managed\n"), purpose="assistants")
        lookalike = c.files.create(file=(f"{PROJECT}-policy.md", b"x"), purpose="assistants")
        other_store = c.vector_stores.create(
            name="docs of other",
            metadata={
                identity.PROJECT_KEY: "other",
                identity.SPEC_KEY: "docs",
                identity.HASH_KEY: "0" * 16,
            },
            file_ids=[plain_file.id],
        )
        plain_store = c.vector_stores.create(name="unmarked store")
        c.beta.assistants.create(
            model="gpt-4o-mini",
            name="analyst of other",
            metadata={
                identity.PROJECT_KEY: "other",
                identity.SPEC_KEY: "analyst",
                identity.HASH_KEY: "0" * 16,
            },
            tools=[{"type": "file_search"}],
            tool_resources={"file_search": {"vector_store_ids": [other_store.id]}},
        )
        c.beta.assistants.create(model="gpt-4o-mini", name="unmarked", instructions="mine")
        # only the key, no project: not managed by anyone
        c.beta.assistants.create(
            model="gpt-4o-mini", name="key only", metadata={identity.SPEC_KEY: "greeter"}
        )
        del other_file, lookalike, plain_store
        self.before = snapshot(c)
        return self

    def assert_untouched(self) -> None:
        now = snapshot(self.client)
        missing = sorted(set(self.before) - set(now))
        assert not missing, f"foreign objects deleted: {missing}"
        changed = [i for i in self.before if now[i] != self.before[i]]
        assert not changed, "foreign objects modified: " + "; ".join(
            f"{i}: {self.before[i]} -> {now[i]}" for i in changed
        )


@pytest.fixture
def foreign(client: openai.OpenAI) -> Foreign:
    return Foreign(client).create()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # the Assistants API is deprecated in the SDK; the sandbox serves it on purpose
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning"))
