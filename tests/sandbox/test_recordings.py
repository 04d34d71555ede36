"""The ten real recordings replayed against the sandbox: same statuses, same object shapes.

Each cassette in ../shared/openai/recordings is replayed request by request on a fresh
sandbox. Recorded ids are mapped to sandbox ids as responses reveal them (walking the
recorded and the sandbox JSON side by side); uploads are re-sent from the recorded
multipart bodies. The ruby-openai cassettes are bags of requests on objects created
outside the cassette: such objects are made first (`Replay.prepare`), except when the
recording shows a 404 for them. Requests outside the Assistants v2 families are skipped.

Every response must have the recorded status code and the same keys, recursively where
both sides hold an object (list items: the first of each); streams must send the same
event names in the same order (a run of deltas counts once) with the same keys per
event. Known, accepted differences are listed in DIFFERENCES, each with its reason.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx2
import pytest
import yaml

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.faults import FaultConfig, FaultRule
from asst_deploy.sandbox.model import ScriptedModel
from asst_deploy.sandbox.server import start_server
from asst_deploy.sandbox.store import Store
from tests.shared import RECORDINGS, require

CASSETTES = (
    sorted(RECORDINGS.glob("*.yaml"))
    if RECORDINGS.is_dir()
    else [
        pytest.param(
            None,
            marks=pytest.mark.skip(reason=f"no recordings at {RECORDINGS} (../shared is absent)"),
            id="no-recordings",
        )
    ]
)
API_KEY = "sk-replay"
FAMILIES = ("/v1/assistants", "/v1/threads", "/v1/files", "/v1/vector_stores")
ID = re.compile(r"^(asst|thread|msg|run|step|call|vs|vsfb)_[A-Za-z0-9]+$|^file-[A-Za-z0-9]+$")
PROMPT = "Can you help me write an API library to interact with the OpenAI API please?"

# Rules that make the scripted model take the recorded paths (tool calls, code steps).
RULES: dict[str, list[dict[str, Any]]] = {
    "openllmetry__llamaindex_test_agent_with_query_tool": [
        {
            "match": "(?i)highest population",
            "function_calls": [
                {"name": "sql_tool", "arguments": {"input": "SELECT city, MAX(population)"}}
            ],
            "reply": "{outputs[sql_tool]}",
        }
    ],
    "openllmetry__test_new_assistant": [
        {"match": "3x", "code_interpreter": {"input": "print((14 - 11) / 3)"}, "reply": "x = 1"}
    ],
    "openllmetry__test_streaming_new_assistant": [
        {"match": "3x", "code_interpreter": {"input": "print((14 - 11) / 3)"}, "reply": "x = 1"}
    ],
}


@dataclass(frozen=True)
class Difference:
    """An accepted departure: in `cassette` (prefix), at key `path` ("" = the status code)."""

    cassette: str
    path: str
    reason: str
    interactions: tuple[int, ...] = ()  # empty: all of the cassette's


_V1 = "recorded on the v1 Assistants API (2023-11/2024-04), which the sandbox does not speak"
DIFFERENCES = [
    Difference("ruby-openai__", "file_ids", f"{_V1}: file_ids became attachments/tool_resources"),
    Difference("ruby-openai__", "attachments", f"{_V1}: attachments replaced file_ids"),
    Difference("ruby-openai__", "tool_resources", f"{_V1}: tool_resources replaced file_ids"),
    Difference("ruby-openai__runs_create", "required_action", f"{_V1}: field added later", (0,)),
    *[
        Difference("ruby-openai__runs_create", key, f"{_V1}: field added 2024-04", (0,))
        for key in (
            "temperature",
            "top_p",
            "max_completion_tokens",
            "max_prompt_tokens",
            "truncation_strategy",
            "incomplete_details",
            "usage",
            "response_format",
            "tool_choice",
        )
    ],
    Difference(
        "ruby-openai__messages_modify",
        "",
        "boolean metadata values were coerced to strings until 2024-04; the later recordings "
        "of the same request (2, 3, 4) show today's 400 invalid_type",
        (0, 1),
    ),
    Difference("ruby-openai__", "parallel_tool_calls", "field added 2024-06, after the recording"),
    Difference(
        "openllmetry__llamaindex",
        "parallel_tool_calls",
        "added days after the 2024-06-08 recording",
    ),
    Difference("ruby-openai__", "reasoning_effort", "field added 2024-12, after the recording"),
    Difference("openllmetry__llamaindex", "reasoning_effort", "field added 2024-12"),
    Difference(
        "ruby-openai__",
        "usage.prompt_token_details",
        "usage token details arrived after the 2024 recordings (the 2026 ones have them)",
    ),
    Difference("ruby-openai__", "usage.completion_tokens_details", "as prompt_token_details"),
    Difference("openllmetry__llamaindex", "usage.prompt_token_details", "as for ruby-openai"),
    Difference("openllmetry__llamaindex", "usage.completion_tokens_details", "as for ruby-openai"),
    Difference(
        "openllmetry__llamaindex",
        "tools.function.strict",
        "function tools echo strict=false since 2024-08 (structured outputs)",
    ),
    Difference(
        "openllmetry__test_new_assistant",
        "tool_resources.code_interpreter",
        "runs report the assistant's tool_resources: the real service did so in the streamed "
        "recording of the same day, but answered {} in this polled one",
    ),
    *[
        Difference(prefix, f"{lead}attributes", "vector store file attributes arrived in 2025")
        for prefix in ("jirispilka__", "ruby-openai__")
        for lead in ("", "data.")
    ],
    *[
        Difference(
            "ruby-openai__vector_store_file_batches_list",
            f"data.{key}",
            "the 2024-10 batch file listing left this out; the 2024-11 vector store file "
            "listings (jirispilka) carry it",
        )
        for key in ("usage_bytes", "chunking_strategy")
    ],
    Difference(
        "openllmetry__llamaindex",
        "tool_resources.code_interpreter",
        "the sandbox's assistant reports code_interpreter resources once code_interpreter "
        "is among its tools; the 2024 recording shows {} for function-only tools",
    ),
]


def _decode(response: dict[str, Any]) -> str:
    body = response["body"]["string"]
    if isinstance(body, bytes):
        encodings = {k.lower(): v for k, v in response["headers"].items()}.get(
            "content-encoding", []
        )
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        elif "br" in encodings:
            brotli = pytest.importorskip("brotli", reason="brotli decodes the recorded bodies")
            body = brotli.decompress(body)
        body = body.decode()
    return str(body)


def _events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        data = lines.get("data", "")
        events.append((lines.get("event", ""), data if data == "[DONE]" else json.loads(data)))
    return events


def _collapse(events: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """One entry per run of same-named events (delta counts depend on the text)."""
    return [e for i, e in enumerate(events) if i == 0 or e[0] != events[i - 1][0]]


def _shape_diff(recorded: Any, actual: Any, path: str = "") -> list[tuple[str, str]]:
    """(key path, "recorded only" | "sandbox only") where both sides hold objects."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        found = [(f"{path}{k}", "recorded only") for k in recorded.keys() - actual.keys()]
        found += [(f"{path}{k}", "sandbox only") for k in actual.keys() - recorded.keys()]
        for key in recorded.keys() & actual.keys():
            found += _shape_diff(recorded[key], actual[key], f"{path}{key}.")
        return found
    if isinstance(recorded, list) and isinstance(actual, list) and recorded and actual:
        return _shape_diff(recorded[0], actual[0], path)
    return []


def _multipart(body: str) -> tuple[dict[str, str], tuple[str, bytes, str]]:
    boundary = body.split("\r\n" if "\r\n" in body else "\n", 1)[0]
    fields: dict[str, str] = {}
    upload = ("file", b"", "application/octet-stream")
    for part in body.split(boundary)[1:-1]:
        head, _, content = part.strip("\r\n").partition("\n\n")
        if not content:
            head, _, content = part.strip("\r\n").partition("\r\n\r\n")
        name = re.search(r'name="([^"]+)"', head)
        filename = re.search(r'filename="([^"]+)"', head)
        if filename:
            kind = re.search(r"Content-Type: (\S+)", head)
            upload = (filename[1], content.encode(), kind[1] if kind else upload[2])
        elif name:
            fields[name[1]] = content.strip()
    return fields, upload


@dataclass
class Replay:
    cassette: str
    http: httpx2.Client
    sandbox: Sandbox
    ids: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        return self.http.request(method, path, **kwargs)

    def learn(self, recorded: Any, actual: Any) -> None:
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for key in recorded.keys() & actual.keys():
                self.learn(recorded[key], actual[key])
        elif isinstance(recorded, list) and isinstance(actual, list):
            for pair in zip(recorded, actual, strict=False):
                self.learn(*pair)
        elif isinstance(recorded, str) and isinstance(actual, str) and ID.match(recorded):
            self.ids.setdefault(recorded, actual)

    def mapped(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.mapped(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mapped(v) for v in value]
        return self.ids.get(value, value) if isinstance(value, str) else value

    def prepare(self, path: str, recorded_status: int, recorded: Any) -> None:
        """Create what a bag-of-requests cassette assumes exists (unless it was a 404)."""
        parts = path.split("/")
        expect_error = recorded.get("error", {}) if isinstance(recorded, dict) else {}
        for i, part in enumerate(parts):
            if part in self.ids or not ID.match(part) or recorded_status == 404:
                continue
            parent = self.ids.get(parts[i - 2], "")
            if part.startswith("thread_"):
                messages = [] if expect_error.get("code") == "invalid_thread" else [PROMPT]
                self._make(
                    part,
                    "POST",
                    "/threads",
                    {"messages": [{"role": "user", "content": m} for m in messages]},
                )
            elif part.startswith("msg_"):
                body = {"role": "user", "content": PROMPT}
                self._make(part, "POST", f"/threads/{parent}/messages", body)
            elif part.startswith("run_"):
                assistant = self.call("POST", "/assistants", json={"model": "gpt-4o"}).json()
                self._make(
                    part, "POST", f"/threads/{parent}/runs", {"assistant_id": assistant["id"]}
                )
            elif part.startswith("vs_"):
                self._make(part, "POST", "/vector_stores", {"name": "prepared"})
            elif part.startswith("vsfb_"):
                upload = self.call(
                    "POST",
                    "/files",
                    data={"purpose": "assistants"},
                    files={"file": ("prepared.txt", b"prepared", "text/plain")},
                ).json()
                body = {"file_ids": [upload["id"]]}
                self._make(part, "POST", f"/vector_stores/{parent}/file_batches", body)

    def prepare_body(self, body: Any, recorded_status: int, recorded: Any) -> None:
        assistant_id = body.get("assistant_id") if isinstance(body, dict) else None
        if assistant_id and assistant_id not in self.ids:
            run = recorded[0][1] if isinstance(recorded, list) else recorded
            known = run if recorded_status == 200 else {}
            # the assistant the recorded run shows: its instructions, tools and resources
            body = {k: known[k] for k in ("instructions", "tools", "tool_resources") if k in known}
            self._make(assistant_id, "POST", "/assistants", {"model": "gpt-4", **body})

    def _make(self, recorded_id: str, method: str, path: str, body: dict[str, Any]) -> None:
        response = self.call(method, path, json=body)
        assert response.status_code == 200, response.text
        self.ids[recorded_id] = response.json()["id"]

    def differs(self, index: int, path: str) -> bool:
        """Whether a difference at `path` of this interaction is listed as accepted."""
        key = re.sub(r"\.\d+", "", path)
        return any(
            self.cassette.startswith(d.cassette)
            and d.path == key
            and (not d.interactions or index in d.interactions)
            for d in DIFFERENCES
        )

    def compare(self, index: int, where: str, recorded: Any, actual: Any) -> None:
        for path, side in _shape_diff(recorded, actual):
            if not self.differs(index, path):
                self.problems.append(f"[{index}] {where}: {path} {side}")


def _replay_one(replay: Replay, index: int, interaction: dict[str, Any]) -> None:
    request, response = interaction["request"], interaction["response"]
    url = urlsplit(request["uri"])
    where = f"{request['method']} {url.path}"
    if not url.path.startswith(FAMILIES):
        replay.skipped.append(f"[{index}] {where}: not an Assistants v2 request")
        return
    status = response["status"]["code"]
    text = _decode(response)
    streamed = text.startswith("event:")
    recorded = _events(text) if streamed else json.loads(text)
    raw_body = request["body"]
    headers = {"OpenAI-Beta": "assistants=v2", "Authorization": f"Bearer {API_KEY}"}
    if status == 401:
        headers["Authorization"] = "Bearer dummy"  # the recorded request's key
    kwargs: dict[str, Any] = {"headers": headers}
    if isinstance(raw_body, str) and raw_body.startswith("--"):
        fields, upload = _multipart(raw_body)
        kwargs |= {"data": fields, "files": {"file": upload}}
    elif raw_body:
        body = json.loads(raw_body)
        replay.prepare_body(body, status, recorded)
        kwargs["json"] = replay.mapped(body)
    replay.prepare(url.path[len("/v1") :], status, recorded)
    path = "/".join(replay.ids.get(p, p) for p in url.path[len("/v1") :].split("/"))
    query = urlencode([(k, replay.ids.get(v, v)) for k, v in parse_qsl(url.query)])
    if status >= 500:
        replay.sandbox.faults = FaultConfig(
            [FaultRule(method=request["method"], path=path, rate_500=1)]
        )
    actual = replay.call(request["method"], path + (f"?{query}" if query else ""), **kwargs)
    replay.sandbox.faults = FaultConfig()
    if actual.status_code != status and not replay.differs(index, ""):
        replay.problems.append(f"[{index}] {where}: status {actual.status_code}, recorded {status}")
        return
    if not streamed:
        if actual.status_code == status:
            replay.learn(recorded, actual.json())
            replay.compare(index, where, recorded, actual.json())
        return
    got = _collapse(_events(actual.text))
    want = _collapse(recorded)
    if [e for e, _ in got] != [e for e, _ in want]:
        replay.problems.append(
            f"[{index}] {where}: events {[e for e, _ in got]}, recorded {[e for e, _ in want]}"
        )
        return
    for (event, recorded_data), (_, data) in zip(want, got, strict=True):
        replay.learn(recorded_data, data)
        replay.compare(index, f"{where} {event}", recorded_data, data)


@pytest.fixture
def replay_sandbox() -> Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(store=Store(), api_key=API_KEY, model=ScriptedModel(step_delay=0))
    with start_server(sandbox) as server:
        yield sandbox, server.base_url


@pytest.mark.no_conformance  # replays run on their own server; conformance has its own tests
@pytest.mark.parametrize(
    "cassette", CASSETTES, ids=lambda p: p.stem if isinstance(p, Path) else str(p)
)
def test_recording_replays(cassette: Path, replay_sandbox: tuple[Sandbox, str]) -> None:
    sandbox, base_url = replay_sandbox
    sandbox.model.rules.extend(
        ScriptedModel().add_rule(**raw) for raw in RULES.get(cassette.stem, [])
    )
    interactions = yaml.load(cassette.read_text(), Loader=yaml.CSafeLoader)["interactions"]
    with httpx2.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {API_KEY}", "OpenAI-Beta": "assistants=v2"},
    ) as http:
        replay = Replay(cassette.stem, http, sandbox)
        for index, interaction in enumerate(interactions):
            _replay_one(replay, index, interaction)
    assert not replay.problems, "\n".join(replay.problems)


def test_the_recordings_are_there() -> None:
    require(RECORDINGS, "the real recordings")
    assert len(CASSETTES) == 10
