"""Hostile and broken requests: always a 4xx with the API's JSON error body, nothing stored."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from asst_deploy.sandbox.app import MAX_JSON_DEPTH, Sandbox
from asst_deploy.sandbox.server import SandboxServer, start_server
from asst_deploy.sandbox.store import Store

BETA = {"OpenAI-Beta": "assistants=v2"}
JSON = {"content-type": "application/json", **BETA}


@pytest.fixture
def fresh() -> Iterator[SandboxServer]:
    """A server of its own: these tests check what a list answers after a bad write."""
    with start_server(Sandbox(store=Store())) as running:
        yield running


@pytest.fixture
def http(fresh: SandboxServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=fresh.base_url, headers=BETA) as c:
        yield c


def api_error(response: httpx2.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    return dict(error)


def deep(levels: int) -> str:
    return '{"model": "gpt-4o", "metadata": ' + '{"a": ' * levels + "1" + "}" * (levels + 1)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="deep-array"),
        pytest.param(deep(5_000), id="deep-object"),
        pytest.param(deep(MAX_JSON_DEPTH + 1), id="just-too-deep"),
        pytest.param(
            '{"model": "gpt-4o", "temperature": 1' + "0" * 5000 + ".5}", id="huge-decimal"
        ),
        pytest.param('{"model": "gpt-4o", "temperature": ' + "9" * 5000 + "}", id="huge-integer"),
        pytest.param('{"model": "gpt-4o", "metadata": {"a": 1e999}}', id="overflow"),
        pytest.param(b'{"model": "\xff\xfe"}', id="not-utf8"),
    ],
)
def test_bad_json_bodies_get_a_json_400(http: httpx2.Client, body: str | bytes) -> None:
    api_error(http.post("/assistants", content=body, headers=JSON))
    assert http.get("/assistants").json()["data"] == []


def test_nesting_up_to_the_limit_is_accepted(http: httpx2.Client) -> None:
    parameters: dict[str, Any] = {"type": "object"}
    for _ in range((MAX_JSON_DEPTH - 10) // 2):  # two levels each
        parameters = {"type": "object", "properties": {"x": parameters}}
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    response = http.post("/assistants", json={"model": "gpt-4o", "tools": [tool]})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", ["temperature", "top_p"])
def test_nan_and_infinity_are_refused_and_nothing_is_stored(
    http: httpx2.Client, field: str, constant: str
) -> None:
    body = f'{{"model": "gpt-4o", "{field}": {constant}}}'
    api_error(http.post("/assistants", content=body, headers=JSON))
    listed = http.get("/assistants")
    assert listed.status_code == 200 and listed.json()["data"] == []


def test_nan_in_file_attributes_is_refused(http: httpx2.Client) -> None:
    upload = http.post(
        "/files", data={"purpose": "assistants"}, files={"file": ("a.txt", b"text", "text/plain")}
    ).json()
    store = http.post("/vector_stores", json={"name": "s"}).json()
    body = f'{{"file_id": "{upload["id"]}", "attributes": {{"score": NaN}}}}'
    api_error(http.post(f"/vector_stores/{store['id']}/files", content=body, headers=JSON))
    listed = http.get(f"/vector_stores/{store['id']}/files")
    assert listed.status_code == 200 and listed.json()["data"] == []


def test_lone_surrogates_are_refused_in_names_and_messages(http: httpx2.Client) -> None:
    body = '{"model": "gpt-4o", "name": "bad \\ud800 name"}'
    assert api_error(http.post("/assistants", content=body, headers=JSON))["param"] == "name"
    thread = http.post("/threads", json={}).json()
    body = '{"role": "user", "content": "x\\udfff"}'
    error = api_error(http.post(f"/threads/{thread['id']}/messages", content=body, headers=JSON))
    assert error["param"] == "content"
    assert http.get("/assistants").json()["data"] == []
    assert http.get(f"/threads/{thread['id']}/messages").json()["data"] == []
    # a proper surrogate pair is an emoji, not a problem
    body = '{"model": "gpt-4o", "name": "ok \\ud83d\\ude00"}'
    assert http.post("/assistants", content=body, headers=JSON).json()["name"] == "ok \U0001f600"


def test_rows_an_older_sandbox_stored_no_longer_break_lists(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    store = Store(str(db))
    base = {"object": "assistant", "model": "gpt-4o", "metadata": {}}
    # what earlier versions wrote: NaN literals and lone surrogate escapes
    rows = [
        ("asst_nan", json.dumps({**base, "id": "asst_nan", "temperature": float("nan")})),
        ("asst_sur", json.dumps({**base, "id": "asst_sur", "name": "x\ud800y"})),
    ]
    for seq, (id, data) in enumerate(rows):
        store._db.execute(
            "INSERT INTO objects (kind, id, parent, seq, data) VALUES ('assistant', ?, '', ?, ?)",
            (id, seq, data),
        )
    store.close()
    # after a restart, on the same file
    with (
        start_server(Sandbox(store=Store(str(db)))) as running,
        httpx2.Client(base_url=running.base_url, headers=BETA) as c,
    ):
        listed = c.get("/assistants")
        assert listed.status_code == 200, listed.text
        by_id = {a["id"]: a for a in listed.json()["data"]}
        assert by_id["asst_nan"]["temperature"] is None
        assert by_id["asst_sur"]["name"] == "x\ufffdy"
        assert c.get("/assistants/asst_sur").status_code == 200


@pytest.mark.parametrize(
    "content, content_type",
    [
        (b"garbage", "multipart/form-data; boundary=x"),
        (b"--x\r\ngarbage", "multipart/form-data"),
        (
            b'--x\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassist',
            "multipart/form-data; boundary=x",
        ),
    ],
)
def test_malformed_multipart_gets_a_json_400(
    http: httpx2.Client, content: bytes, content_type: str
) -> None:
    api_error(http.post("/files", content=content, headers={"content-type": content_type}))


def raw_request(server: SandboxServer, request: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("length", [b"-5", b"abc", b"1, 2"])
def test_an_unparseable_request_gets_a_json_400(fresh: SandboxServer, length: bytes) -> None:
    answer = raw_request(
        fresh,
        b"POST /v1/assistants HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n{}",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


# --- a small fuzz: mutated bodies on every JSON endpoint, never a 5xx ----------------------

SEEDS: list[Any] = [
    {"model": "gpt-4o", "name": "a", "temperature": 1, "metadata": {"k": "v"}},
    {"model": "gpt-4o", "tools": [{"type": "function", "function": {"name": "f"}}]},
    {"role": "user", "content": [{"type": "text", "text": "hi"}]},
    {
        "name": "s",
        "chunking_strategy": {
            "type": "static",
            "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0},
        },
    },
]
NASTY: list[Any] = [
    None,
    True,
    -1,
    0,
    10**30,
    1e308,
    -0.0,
    "",
    "\u0000",
    "x" * 3000,
    [],
    {},
    [[[]]],
    {"type": None},
    "gpt-4o",
    {"file_id": "file_nope"},
    "@raw@",
    "@raw@",
]
# Spliced in as JSON values ("@raw@"): valid JSON that cannot be stored, or not JSON at all
RAW = ["NaN", "-Infinity", "1e999", '"\\ud800"', "[" * 2000 + "]" * 2000, "9" * 5000]
# Spliced in anywhere: the body stops being JSON
TOKENS = ['{"a":', '"\\u12"', "]", "\x00"]


def mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        return {**value, key: mutate(rng, value[key], depth + 1)}
    if isinstance(value, list) and value and rng.random() < 0.7:
        return [mutate(rng, value[0], depth + 1), *value[1:]]
    return rng.choice(NASTY)


def fuzz_body(rng: random.Random) -> bytes:
    text = json.dumps(mutate(rng, rng.choice(SEEDS)))
    while '"@raw@"' in text:
        text = text.replace('"@raw@"', rng.choice(RAW), 1)
    if rng.random() < 0.4:  # splice in a token that is not JSON, or not storable
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(TOKENS) + text[at:]
    return text.encode("utf-8", "surrogatepass")


def test_fuzzed_bodies_never_get_a_5xx(http: httpx2.Client) -> None:
    rng = random.Random(20261201)
    thread = http.post("/threads", json={}).json()["id"]
    store = http.post("/vector_stores", json={"name": "f"}).json()["id"]
    paths = [
        "/assistants",
        "/threads",
        f"/threads/{thread}",
        f"/threads/{thread}/messages",
        f"/threads/{thread}/runs",
        "/threads/runs",
        "/vector_stores",
        f"/vector_stores/{store}",
        f"/vector_stores/{store}/files",
        f"/vector_stores/{store}/file_batches",
        f"/vector_stores/{store}/search",
    ]
    statuses: dict[int, int] = {}
    for _ in range(400):
        response = http.post(rng.choice(paths), content=fuzz_body(rng), headers=JSON)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            api_error(response, response.status_code)
    assert statuses.get(400, 0) > 100, statuses  # the fuzz reached the validators
    for path in ("/assistants", "/vector_stores", f"/threads/{thread}/messages"):
        assert http.get(path).status_code == 200, path


def test_fuzzed_list_queries_never_get_a_5xx(http: httpx2.Client) -> None:
    rng = random.Random(7)
    values = [
        "-1",
        "0",
        "abc",
        "1e999",
        "NaN",
        "9" * 5000,
        "%00",
        "%ED%A0%80",
        "",
        "asc",
        "x" * 3000,
    ]
    names = ["limit", "order", "after", "before", "purpose", "filter", "include[]"]
    paths = ["/assistants", "/files", "/vector_stores", "/threads/thread_nope/messages"]
    for _ in range(150):
        query = "&".join(
            f"{rng.choice(names)}={rng.choice(values)}" for _ in range(rng.randint(1, 3))
        )
        response = http.get(f"{rng.choice(paths)}?{query}")
        assert response.status_code < 500, (query, response.text)
        if response.status_code >= 400:
            api_error(response, response.status_code)
