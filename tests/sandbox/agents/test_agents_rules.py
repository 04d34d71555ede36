"""One rules file drives both APIs: a rule matches an assistant or an agent by id or name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from asst_deploy.sandbox.model import Rule, RuleError, ScriptedModel
from asst_deploy.sandbox.server import SandboxServer

# The assistants half of the test uses the deprecated (and still served) Assistants API.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RULES = """\
rules:
  - match: '(?i)status'
    agent: Shared bot
    reply: "All systems go."
  - match: '(?i)status'
    assistant: Other bot
    reply: "Not this one."
  - reply: "fallback"
"""


def test_agent_is_another_spelling_of_assistant() -> None:
    rule = Rule.from_dict({"match": "x", "agent": "Shared bot"})
    assert rule.applies("x", {"id": "agent_1", "name": "Shared bot"}) is not None
    assert rule.applies("x", {"id": "asst_1", "name": "Shared bot"}) is not None
    assert rule.applies("x", {"id": "agent_2", "name": "Someone"}) is None
    assert Rule.from_dict({"match": "x", "agent": "agent_2"}).applies("x", {"id": "agent_2"})


def test_session_keys_of_a_rule_parse_and_round_trip() -> None:
    priced = Rule.from_dict({"match": "x", "cost_cents": 5, "reply": "ok"})
    assert priced.cost_cents == 5 and Rule.from_dict(priced.to_dict()) == priced
    assert Rule.from_dict({"match": "x"}).cost_cents == 0
    broken = Rule.from_dict({"match": "x", "status": "session_failed", "error": "down"})
    # Runs and responses have no session: for them the rule is an ordinary failure.
    assert (broken.status, broken.fails_session) == ("failed", True)
    assert broken.to_dict()["status"] == "session_failed"
    assert Rule.from_dict(broken.to_dict()) == broken
    for bad in (-1, 1.5, True, "5"):
        with pytest.raises(RuleError, match="cost_cents"):
            Rule.from_dict({"match": "x", "cost_cents": bad})
    with pytest.raises(RuleError, match="session_failed"):
        Rule.from_dict({"match": "x", "status": "done"})


@pytest.fixture
def shared_rules(server: SandboxServer, tmp_path: Path) -> Iterator[None]:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    saved = server.sandbox.model
    server.sandbox.model = ScriptedModel.from_file(path, step_delay=0.02)
    yield
    server.sandbox.model = saved


def test_one_rules_file_answers_an_assistant_and_an_agent(
    client: openai.OpenAI, shared_rules: None
) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", name="Shared bot")
    agent = client.beta.agents.create(model="gpt-5", name="Shared bot")
    try:
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "status?"}]},
            poll_interval_ms=20,
        )
        messages = client.beta.threads.messages.list(run.thread_id, order="desc").data
        first = messages[0].content[0]
        assert first.type == "text" and first.text.value == "All systems go."

        session = client.beta.agents.sessions.create(
            agent_id=agent.id, environment={"type": "none"}
        )
        with client.beta.agents.sessions.stream(session.id, input="status?") as stream:
            assert stream.get_final_result().output_text == "All systems go."
    finally:
        client.beta.assistants.delete(assistant.id)
        client.beta.agents.delete(agent.id)
