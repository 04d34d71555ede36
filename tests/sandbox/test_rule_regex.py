"""Rule regexes: a pathological one is refused at load, a slow one fails its run in bounded time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.model import Rule, RuleError, ScriptedModel

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def model(sandbox: Sandbox) -> Iterator[ScriptedModel]:
    saved = sandbox.model
    sandbox.model = ScriptedModel(step_delay=0.01)
    yield sandbox.model
    sandbox.model = saved


@pytest.mark.parametrize("pattern", [r"^(a+)+$", r"(\w+\s?)*$", r"(a{1,2})+", r"(x+x+)+y"])
def test_nested_quantifiers_are_refused_when_rules_load(pattern: str, tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="repeats a group that itself repeats"):
        Rule.from_dict({"match": pattern})
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"rules:\n  - match: '{pattern}'\n    reply: x\n")
    with pytest.raises(RuleError, match=r"possessive \(a\+\+\) or atomic"):
        ScriptedModel.from_file(rules)


@pytest.mark.parametrize(
    "pattern", [r"(\d{1,3}\.){3}\d{1,3}", r"(?:\d{3})+", r"(?i)weather in (?P<city>\w+)", r"(a++)+"]
)
def test_ordinary_patterns_load(pattern: str) -> None:
    assert Rule.from_dict({"match": pattern}).to_dict()["match"] == pattern


def test_a_slow_rule_regex_fails_its_run_and_stalls_no_other_request(
    client: openai.OpenAI, model: ScriptedModel
) -> None:
    # (a|aa)+$ backtracks exponentially without a nested quantifier; `re` took about 8 s on
    # this message, during which the server answered nothing else
    model.add_rule("(a|aa)+$", reply="never")
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="a" * 34 + "b")
    waits: list[float] = []
    running = True

    def unrelated() -> None:
        while running:
            start = time.perf_counter()
            client.files.list()
            waits.append(time.perf_counter() - start)
            time.sleep(0.02)

    other = threading.Thread(target=unrelated)
    other.start()
    try:
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
        )
    finally:
        running = False
        other.join()
    assert run.status == "failed"
    assert run.last_error is not None
    assert "took longer than 0.1 s; simplify the rule's `match`" in run.last_error.message
    assert waits and max(waits) < 2, waits
