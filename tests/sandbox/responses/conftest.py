"""Fixtures for the Responses and Conversations surfaces: scripted rules, tools, a knowledge base."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.model import ScriptedModel
from asst_deploy.sandbox.server import SandboxServer

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
