"""Auth, the beta header, response headers, unknown routes and body limits."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2
import openai
import pytest

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.gateway import MISSING_BETA, mask_key
from asst_deploy.sandbox.server import SandboxServer


@pytest.fixture
def keyed(sandbox: Sandbox, api_key: str) -> Iterator[str]:
    sandbox.api_key = api_key
    yield api_key
    sandbox.api_key = None


@pytest.fixture
def http(server: SandboxServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.base_url) as c:
        yield c


def test_missing_beta_header_is_refused_on_assistants_and_threads(http: httpx2.Client) -> None:
    for method, path in [
        ("GET", "/assistants"),
        ("POST", "/threads"),
        ("GET", "/threads/thread_x"),
    ]:
        answer = http.request(method, path, json={} if method == "POST" else None)
        assert answer.status_code == 400
        assert answer.json()["error"] == {
            "message": MISSING_BETA,
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_beta",
        }
    wrong = http.get("/assistants", headers={"OpenAI-Beta": "assistants=v1"})
    assert wrong.json()["error"]["code"] == "invalid_beta"


def test_files_and_vector_stores_need_no_beta_header(http: httpx2.Client) -> None:
    assert http.get("/files").status_code == 200
    assert http.get("/vector_stores").status_code == 200


def test_wrong_api_key_is_401_with_masked_key(server: SandboxServer, keyed: str) -> None:
    wrong = "sk-proj-abcdefghijklmnopqrstuvwxyz"
    with (
        openai.OpenAI(base_url=server.base_url, api_key=wrong, max_retries=0) as c,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        c.files.list()
    assert caught.value.code == "invalid_api_key"
    assert caught.value.body["message"] == (
        f"Incorrect API key provided: {mask_key(wrong)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )
    assert mask_key(wrong) == "sk-proj-" + "*" * 22 + "wxyz"


def test_the_right_key_passes_and_a_missing_one_does_not(
    server: SandboxServer, http: httpx2.Client, keyed: str
) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key=keyed, max_retries=0) as c:
        assert c.vector_stores.list().data is not None
    answer = http.get("/files")
    assert answer.status_code == 401
    assert answer.json()["error"]["message"].startswith("You didn't provide an API key.")


def test_a_short_wrong_key_is_masked_too(server: SandboxServer, keyed: str) -> None:
    # the real service echoes keys of 12 characters or fewer whole (into CI logs)
    for wrong in ("sk-abc12345", "dummy"):
        with (
            openai.OpenAI(base_url=server.base_url, api_key=wrong, max_retries=0) as c,
            pytest.raises(openai.AuthenticationError) as caught,
        ):
            c.files.list()
        message = caught.value.body["message"]
        assert wrong not in message and f"provided: {mask_key(wrong)}." in message
    assert mask_key("sk-abc12345") == "sk*******45" and mask_key("dummy") == "d***y"


def test_every_answer_carries_the_real_headers(http: httpx2.Client) -> None:
    for answer in (http.get("/files"), http.get("/files/file-nope"), http.get("/assistants")):
        assert re.fullmatch(r"req_[0-9a-f]{32}", answer.headers["x-request-id"])
        assert answer.headers["openai-processing-ms"].isdigit()
        assert answer.headers["openai-version"] == "2020-10-01"


def test_unknown_routes_and_methods_are_json_404s(http: httpx2.Client) -> None:
    answer = http.get("/nothing/here")
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "Invalid URL (GET /v1/nothing/here)"
    assert http.put("/files").status_code == 404


def test_body_size_limit(http: httpx2.Client, sandbox: Sandbox) -> None:
    saved = sandbox.max_body_bytes
    sandbox.max_body_bytes = 100
    try:
        answer = http.post("/vector_stores", json={"name": "x" * 200})
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "request_too_large"

        def chunks() -> Iterator[bytes]:  # no content-length: the limit holds while reading
            yield b'{"name": "'
            yield b"x" * 200
            yield b'"}'

        answer = http.post(
            "/vector_stores", content=chunks(), headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413
    finally:
        sandbox.max_body_bytes = saved
