"""The Responses driver: what it sends is the runtime's request, what it reads becomes the
transcript, and the scripts run live, record and replay on a responses target."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

# pytester's in-process runs (the harness tests below) drop the modules first imported
# during a run; this module also starts the sandbox in-process, so its modules are
# imported here, before any run: else a route re-imported later raises another APIError
# class than the one the app handles, and a 404 becomes a 500
import asst_deploy.sandbox.routes.conversations
import asst_deploy.sandbox.routes.responses
import asst_deploy.sandbox.server  # noqa: F401
from asst_deploy import identity, runtime
from asst_deploy.conversation.script import Conversation
from asst_deploy.conversation.transcript import Transcript, TurnResult
from asst_deploy.engine.targets import connect
from asst_deploy.generations import driver_class
from asst_deploy.generations.responses.driver import ResponsesDriver, TemplateId
from asst_deploy.generations.sdk.driver_base import Deployed, DriverOptions, TurnError
from asst_deploy.replay.scripts import load_script
from asst_deploy.spec.loader import load_project
from tests.replay.conftest import Conv

FILES = {
    "asst-deploy.yaml": """
        project: resptest
        targets:
          sandbox-classic:
            type: sandbox
            db: .asst-deploy/classic.db
            rules: rules.yaml
          sandbox-responses:
            type: sandbox
            api: responses
            db: .asst-deploy/responses.db
            rules: rules.yaml
            organization: org-SECRETORG0123456789
        default_target: sandbox-classic
        environments:
          classic: {target: sandbox-classic}
          responses: {target: sandbox-responses}
        """,
    "assistants/bot.yaml": """
        kind: assistant
        key: bot
        name: Bot
        model: gpt-4o-mini
        instructions: Be brief.
        temperature: 0.4
        metadata: {team: qa}
        tools:
          - type: code_interpreter
          - type: file_search
            max_num_results: 2
          - type: function
            function:
              name: get_weather
              strict: true
              parameters:
                type: object
                properties: {city: {type: string}}
                required: [city]
                additionalProperties: false
          - type: function
            function:
              name: get_time
              parameters: {type: object, properties: {city: {type: string}}}
        tool_resources:
          code_interpreter: {files: [data/table.csv]}
          file_search: {vector_stores: [docs]}
        """,
    "vector_stores/docs.yaml": """
        kind: vector_store
        key: docs
        name: Docs
        files: [knowledge/*.md]
        """,
    "knowledge/policy.md": """
        # Refunds
        Refunds are possible within 30 days of purchase.
        """,
    "data/table.csv": "a,b\n1,2\n",
    "rules.yaml": r"""
        rules:
          - match: '(?i)weather and time in (?P<city>\w+)'
            assistant: Bot
            function_calls:
              - {name: get_weather, arguments: {city: "{match[city]}"}}
              - {name: get_time, arguments: {city: "{match[city]}"}}
            reply: "{outputs[get_weather]} / {outputs[get_time]}"
          - match: '(?i)compute'
            code_interpreter: {input: "print(2 + 2)", logs: "4"}
            reply: "Result: 4"
          - match: '(?i)refund'
            file_search: true
            reply: "{quote}"
          - match: '(?i)break'
            status: failed
            error: The model broke.
          - reply: "Hello there! You said: {message}"
        """,
}

SCRIPT = """
assistant: bot
env: responses
functions:
  get_weather: {output: {temp: 18}}
  get_time: {output: noon}
conversations:
  - name: streamed
    turns:
      - user: hi
        expect: {contains: Hello, max_tokens: 500}
      - user: weather and time in Oslo
        expect:
          tool_calls: [{name: get_weather, arguments: {city: Oslo}}, {name: get_time}]
          tool_call_count: 2
          contains: noon
      - user: compute it
        expect: {code_interpreter: true, equals: "Result: 4"}
      - user: Are refunds possible?
        expect: {citations: [knowledge/policy.md], contains: 30 days, tool_calls: [{name: file_search}]}
  - name: polled
    streaming: false
    turns:
      - user: weather and time in Paris
        expect: {contains: '"temp": 18', tool_call_count: {get_weather: 1, get_time: 1}}
      - user: Are refunds possible?
        expect: {citations: true}
  - name: broken
    turns:
      - user: break it
        expect: {status: failed}
  - name: fails
    turns:
      - user: hi
        expect: {contains: Goodbye}
"""
VERDICT = {"passed": 3, "failed": 1}
# what the driver adds to the runtime's request, and nothing else
ADDED = {"input", "conversation", "include", "stream"}


@pytest.fixture(scope="session")
def responses_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("responses-project")
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    apply = [sys.executable, "-m", "asst_deploy", "apply", str(root), "--env", "responses"]
    result = subprocess.run([*apply, "--auto-approve"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return root


class Sent:
    """The requests a client made: (method, path, JSON body or None)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, request: Any) -> None:
        body = request.read()
        self.requests.append((request.method, request.url.path, json.loads(body) if body else None))

    def bodies(self, method: str, path: str) -> list[Any]:
        return [b for m, p, b in self.requests if (m, p) == (method, path)]

    def count(self, path: str) -> int:
        return sum(p == path for _, p, _ in self.requests)


@pytest.fixture
def driven(responses_project: Path) -> Iterator[tuple[ResponsesDriver, openai.OpenAI, Sent]]:
    """A driver over the responses target's sandbox, every request it makes recorded."""
    project = load_project(responses_project, "responses")
    sent = Sent()
    with connect(project.target) as backend:
        client = backend.client.with_options(  # type: ignore[attr-defined]
            http_client=openai.DefaultHttpxClient(event_hooks={"request": [sent]})
        )
        options = DriverOptions(
            root=responses_project,
            sleep=time.sleep,
            clock=time.monotonic,
            environment="responses",
            load_project=load_project,
        )
        yield ResponsesDriver(client, options), client, sent


@pytest.fixture(scope="session")
def conversations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Conversation]:
    path = tmp_path_factory.mktemp("scripts") / "bot.conv.yaml"
    path.write_text(textwrap.dedent(SCRIPT).lstrip())
    return {c.name: c for c in load_script(path).conversations}


def _run(
    driver: ResponsesDriver, deployed: Deployed, conversation: Conversation
) -> tuple[Transcript, list[TurnResult]]:
    transcript = driver.start(deployed, conversation)
    results = [driver.turn(transcript, turn, conversation) for turn in conversation.turns]
    return transcript, results


def test_the_driver_is_registered_for_responses() -> None:
    assert driver_class("responses") is ResponsesDriver


def test_a_template_id_names_target_environment_and_key() -> None:
    template = TemplateId("sandbox-responses", "responses", "bot")
    assert TemplateId.parse(str(template)) == template
    assert TemplateId.parse("sandbox:" + ":bot") == TemplateId("sandbox", None, "bot")


@pytest.mark.parametrize("name", ["streamed", "polled"])
def test_every_request_is_the_runtimes_plus_input_and_conversation(
    driven: tuple[ResponsesDriver, openai.OpenAI, Sent],
    conversations: dict[str, Conversation],
    responses_project: Path,
    name: str,
) -> None:
    driver, _, sent = driven
    deployed = driver.get(str(TemplateId("sandbox-responses", "responses", "bot")))
    # the ids are listed once per run: one page of vector stores, one of files
    assert (sent.count("/v1/vector_stores"), sent.count("/v1/files")) == (1, 1)
    conversation = conversations[name]
    transcript, _ = _run(driver, deployed, conversation)
    expected = runtime.load(responses_project, "responses").request("bot")
    # the deployed ids are in it: the vector store's, and the file of the container
    assert expected["tools"][0]["container"]["file_ids"]  # type: ignore[index,call-overload]
    assert expected["tools"][1]["vector_store_ids"]  # type: ignore[index,call-overload]
    bodies = sent.bodies("POST", "/v1/responses")
    # one per turn, and one more for the round of function calls
    assert len(bodies) == len(conversation.turns) + 1
    for body in bodies:
        assert {k: v for k, v in body.items() if k not in ADDED} == expected
        assert body["conversation"] == transcript.thread_id
        assert body["include"] == ["code_interpreter_call.outputs", "file_search_call.results"]
        assert body.get("stream", False) is conversation.streaming
    assert bodies[0]["input"] == [{"role": "user", "content": conversation.turns[0].user}]
    [answered] = [b["input"] for b in bodies if "role" not in b["input"][0]]
    assert [i["type"] for i in answered] == ["function_call_output"] * 2
    assert [i["output"] for i in answered] == ['{"temp": 18}', "noon"]
    assert sent.count("/v1/vector_stores") == 1  # nothing listed again during the turns


def test_the_transcript_holds_calls_code_citations_usage(
    driven: tuple[ResponsesDriver, openai.OpenAI, Sent],
    conversations: dict[str, Conversation],
) -> None:
    driver, client, _ = driven
    deployed = driver.get(str(TemplateId("sandbox-responses", "responses", "bot")))
    transcript, (hello, calls, code, search) = _run(driver, deployed, conversations["streamed"])
    assert (hello.status, hello.reply, hello.tool_calls) == (
        "completed",
        "Hello there! You said: hi",
        [],
    )
    assert hello.run_id.startswith("resp_") and hello.latency > 0
    assert set(hello.usage) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert calls.rounds == 1
    assert [(c.name, c.arguments, c.output) for c in calls.tool_calls] == [
        ("get_weather", {"city": "Oslo"}, '{"temp": 18}'),
        ("get_time", {"city": "Oslo"}, "noon"),
    ]
    assert calls.reply == '{"temp": 18} / noon'
    # a turn's usage covers both of its responses: the calls' and the reply's
    transcript_responses = driver._responses[transcript.thread_id]
    made = [client.responses.retrieve(i) for i in transcript_responses[1:3]]
    assert made[-1].id == calls.run_id
    assert calls.usage["total_tokens"] == sum(r.usage.total_tokens for r in made)  # type: ignore[union-attr]
    [run] = code.tool_calls
    assert (run.type, run.input, run.logs) == ("code_interpreter", "print(2 + 2)", "4")
    [found] = search.tool_calls
    assert found.type == "file_search" and found.arguments == {"queries": ["Are refunds possible?"]}
    assert [r["filename"] for r in json.loads(found.output or "[]")] == [
        search.citations[0].filename
    ]
    [citation] = search.citations
    assert citation.path == "knowledge/policy.md"
    assert identity.parse_file_name(citation.filename) is not None
    assert "30 days" in search.reply


def test_streamed_and_polled_turns_read_the_same(
    driven: tuple[ResponsesDriver, openai.OpenAI, Sent],
    conversations: dict[str, Conversation],
) -> None:
    driver, _, _ = driven
    deployed = driver.get(str(TemplateId("sandbox-responses", "responses", "bot")))
    streamed, polled = conversations["streamed"], conversations["polled"]
    seen = []
    for conversation in (streamed, polled):
        transcript = driver.start(deployed, conversation)
        result = driver.turn(transcript, streamed.turns[3], conversation)  # the refund turn
        seen.append((result.reply, result.status, result.usage, [c.path for c in result.citations]))
        assert [s["type"] for s in result.steps] == ["file_search_call", "message"]
    assert seen[0] == seen[1]


def test_finish_leaves_no_conversation_nor_response(
    driven: tuple[ResponsesDriver, openai.OpenAI, Sent],
    conversations: dict[str, Conversation],
) -> None:
    driver, client, _ = driven
    deployed = driver.get(str(TemplateId("sandbox-responses", "responses", "bot")))
    transcript, results = _run(driver, deployed, conversations["polled"])
    made = [s for s in results[0].steps if s["type"] == "function_call"]
    assert made
    driver.finish(transcript)
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(transcript.thread_id)
    for result in results:
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(result.run_id)


def test_a_failed_response_is_the_turns_status(
    driven: tuple[ResponsesDriver, openai.OpenAI, Sent],
    conversations: dict[str, Conversation],
) -> None:
    driver, _, _ = driven
    deployed = driver.get(str(TemplateId("sandbox-responses", "responses", "bot")))
    _, [broken] = _run(driver, deployed, conversations["broken"])
    assert (broken.status, broken.error) == ("failed", "The model broke.")


def test_attachments_and_run_overrides_are_refused_with_what_to_do(
    driven: tuple[ResponsesDriver, openai.OpenAI, Sent],
    conversations: dict[str, Conversation],
) -> None:
    import dataclasses

    from asst_deploy.conversation.script import Attachment

    driver, _, _ = driven
    deployed = driver.get(str(TemplateId("sandbox-responses", "responses", "bot")))
    conversation = conversations["polled"]
    turn = conversation.turns[0]
    transcript = driver.start(deployed, conversation)
    attached = dataclasses.replace(
        turn, attachments=(Attachment("data/table.csv", ("code_interpreter",), None),)
    )
    with pytest.raises(TurnError, match="attachments are Assistants-only"):
        driver.turn(transcript, attached, conversation)
    overridden = dataclasses.replace(conversation, run={"temperature": 0.1})
    with pytest.raises(TurnError, match=r"`run:` overrides \(temperature\)"):
        driver.turn(transcript, turn, overridden)


def test_a_template_not_deployed_says_to_apply(tmp_path: Path, responses_project: Path) -> None:
    shutil.copytree(responses_project, tmp_path / "p")
    (tmp_path / "p" / ".asst-deploy" / "responses.db").unlink()
    project = load_project(tmp_path / "p", "responses")
    with connect(project.target) as backend:
        options = DriverOptions(
            root=tmp_path / "p",
            sleep=time.sleep,
            clock=time.monotonic,
            environment="responses",
            load_project=load_project,
        )
        driver = ResponsesDriver(backend.client, options)  # type: ignore[attr-defined]
        with pytest.raises(
            Exception, match=r"uses (file|vector store) '.*', which is not deployed"
        ) as info:
            driver.find("resptest", "bot", "sandbox-responses")
        assert "asst-deploy apply" in str(info.value) and "--env responses" in str(info.value)


# --- through the harness: live, record, replay --------------------------------------------


@pytest.fixture
def rconv(
    pytester: pytest.Pytester, responses_project: Path, monkeypatch: pytest.MonkeyPatch
) -> Conv:
    shutil.copytree(responses_project, pytester.path, dirs_exist_ok=True)
    for name in ("CI", "ASST_DEPLOY_MODE"):
        monkeypatch.delenv(name, raising=False)
    return Conv(pytester)


def test_live_record_and_replay_on_responses(rconv: Conv) -> None:
    rconv.script("bot", SCRIPT)
    for runs in ("stream", "poll"):
        result = rconv.run("--asst-mode", "live", "--asst-runs", runs)
        result.assert_outcomes(**VERDICT)
        result.stdout.fnmatch_lines(["*conversation 'fails', turn 1, expectation 'contains'*"])
    rconv.run("--asst-mode", "record").assert_outcomes(**VERDICT)
    folder = rconv.path / "conversations" / "cassettes" / "responses" / "bot"
    assert sorted(p.name for p in folder.iterdir()) == [
        "broken.yaml",
        "fails.yaml",
        "polled.yaml",
        "streamed.yaml",
    ]
    tape = yaml.safe_load((folder / "streamed.yaml").read_text())
    assert tape["metadata"]["asst_deploy"]["api"] == "responses"
    assert tape["metadata"]["asst_deploy"]["assistant_id"] == "sandbox-responses:responses:bot"
    streamed = [
        i["response"]["body"]["events"]
        for i in tape["interactions"]
        if "events" in i["response"]["body"]
    ]
    assert len(streamed) == 5  # four turns and a round of function outputs, as SSE events
    assert streamed[0][0]["event"] == "response.created"
    assert streamed[0][-1]["data"]["type"] == "response.completed"
    text = (folder / "streamed.yaml").read_text()
    assert "SECRETORG" not in text and "127.0.0.1" not in text
    # replay needs no sandbox: remove it, and the result is the same
    shutil.rmtree(rconv.path / ".asst-deploy")
    result = rconv.run("--asst-mode", "replay")
    result.assert_outcomes(**VERDICT)
    result.stdout.fnmatch_lines(["*conversation 'fails', turn 1, expectation 'contains'*"])


def test_a_changed_spec_makes_the_responses_cassette_stale(rconv: Conv) -> None:
    rconv.script("bot", SCRIPT)
    rconv.run("--asst-mode", "record", "-k", "broken").assert_outcomes(passed=1)
    spec = rconv.path / "assistants" / "bot.yaml"
    spec.write_text(spec.read_text().replace("temperature: 0.4", "temperature: 0.5"))
    result = rconv.run("--asst-mode", "replay", "-k", "broken")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*stale*"])


def test_a_changed_turn_does_not_match_the_responses_cassette(rconv: Conv) -> None:
    script = rconv.script("bot", SCRIPT)
    rconv.run("--asst-mode", "record", "-k", "broken").assert_outcomes(passed=1)
    script.write_text(script.read_text().replace("user: break it", "user: break it now"))
    result = rconv.run("--asst-mode", "replay", "-k", "broken")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*turn 1: replay does not match the cassette*"])
