"""The same scripts on the Agents API: live (streamed and polled), record, replay, several targets."""

from __future__ import annotations

import json
import shutil
import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import Result

from tests.replay.agents import make_project
from tests.replay.conftest import Conv

SCRIPT = """
assistant: bot
env: agents
functions:
  get_weather: {output: {temp: 18}}
  get_time: {output: noon}
conversations:
  - name: three-turns
    turns:
      - user: hi
        expect: {contains: Hello, max_tokens: 500, max_latency: 30}
      - user: weather and time in Oslo
        expect:
          tool_calls: [{name: get_weather, arguments: {city: Oslo}}, {name: get_time}]
          tool_call_count: 2
          contains: noon
      - user: compute it
        expect: {code_interpreter: true, equals: "Result: 4"}
  - name: polled
    streaming: false
    turns:
      - user: weather in Paris
        expect: {contains: '"temp": 18', tool_call_count: {get_weather: 1}}
      - user: compute it
        expect: {code_interpreter: true}
  - name: broken
    turns:
      - user: break it
        expect: {status: failed}
  - name: cited
    turns:
      - user: hi
        expect: {contains: Hello, citations: true}
  - name: fails
    turns:
      - user: hi
        expect: {contains: Goodbye}
"""
VERDICT = {"passed": 4, "failed": 1}


@pytest.fixture(scope="session")
def agents_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("agents-project"))


@pytest.fixture
def aconv(pytester: pytest.Pytester, agents_project: Path, monkeypatch: pytest.MonkeyPatch) -> Conv:
    shutil.copytree(agents_project, pytester.path, dirs_exist_ok=True)
    for name in ("CI", "ASST_DEPLOY_MODE"):
        monkeypatch.delenv(name, raising=False)
    return Conv(pytester)


def test_live_streamed_and_polled_on_agents(aconv: Conv) -> None:
    aconv.script("agents", SCRIPT)
    for runs in ("stream", "poll"):
        result = aconv.run("--asst-mode", "live", "--asst-runs", runs)
        result.assert_outcomes(**VERDICT)
        result.stdout.fnmatch_lines(["*conversation 'fails', turn 1, expectation 'contains'*"])


def test_citations_are_not_applicable_on_agents_not_passed(aconv: Conv) -> None:
    aconv.script("agents", SCRIPT)
    result = aconv.run("--asst-mode", "live", "-k", "cited", "--junitxml=report.xml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*expectations not applicable (not checked, not passed)*",
            "*::cited: *turn 1, expectation 'citations': not applicable on agents: the Agents "
            "API has no file_search*",
        ]
    )
    props = {
        p.get("name"): p.get("value") for p in ET.parse(aconv.path / "report.xml").iter("property")
    }
    assert props["asst_api"] == "agents"
    assert "not applicable on agents" in props["asst_not_applicable"]


def test_record_then_replay_agents_offline_without_sleeping(
    aconv: Conv, monkeypatch: pytest.MonkeyPatch
) -> None:
    aconv.script("agents", SCRIPT)
    aconv.run("--asst-mode", "record").assert_outcomes(**VERDICT)
    folder = aconv.path / "conversations/cassettes/agents/agents"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{n}.yaml" for n in ("broken", "cited", "fails", "polled", "three-turns")
    ]
    text = (folder / "three-turns.yaml").read_text()
    assert "SECRETORG" not in text and "127.0.0.1" not in text
    tape = yaml.safe_load(text)
    assert tape["metadata"]["asst_deploy"]["api"] == "agents"
    streams = [
        i["response"]["body"]["events"]
        for i in tape["interactions"]
        if "events" in i["response"]["body"]
    ]
    assert len(streams) == 3  # one event stream per turn, each a list of {event, data}
    assert all(set(e) == {"event", "data"} for events in streams for e in events)
    assert streams[1][-1]["event"] == "agent.session.idle"
    assert "agent.session.requires_action" in [e["event"] for e in streams[1]]

    opened: list[object] = []
    slept: list[float] = []

    def no_socket(*args: object, **kwargs: object) -> None:
        opened.append(args)
        raise AssertionError("replay opened a socket")

    def no_sleep(seconds: float) -> None:
        slept.append(seconds)
        raise AssertionError("replay slept")

    monkeypatch.setattr(socket, "socket", no_socket)
    monkeypatch.setattr(socket, "create_connection", no_socket)
    monkeypatch.setattr(time, "sleep", no_sleep)
    result = aconv.run("--asst-mode", "replay")
    monkeypatch.undo()
    result.assert_outcomes(**VERDICT)
    assert opened == [] and slept == []


def test_an_edited_agent_cassette_fails_naming_the_turn(aconv: Conv) -> None:
    aconv.script("agents", SCRIPT)
    aconv.run("--asst-mode", "record", "-k", "three").assert_outcomes(passed=1)
    cassette = aconv.path / "conversations/cassettes/agents/agents/three-turns.yaml"
    text = cassette.read_text()
    assert "text: compute it" in text
    cassette.write_text(text.replace("text: compute it", "text: compute that"))
    result = aconv.run("--asst-mode", "replay", "-k", "three")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*conversation 'three-turns', turn 3: replay does not match the cassette*"]
    )


def test_one_script_on_both_generations_names_them_in_the_test_ids(aconv: Conv) -> None:
    aconv.script("both", SCRIPT.replace("env: agents\n", ""))
    collected = aconv.run("--collect-only", "-q", "--asst-envs", "classic,agents")
    collected.stdout.fnmatch_lines(
        [
            "conversations/both.conv.yaml::three-turns[[]assistants[]]",
            "conversations/both.conv.yaml::three-turns[[]agents[]]",
        ]
    )
    result = aconv.run(
        "--asst-mode", "live", "--asst-envs", "classic,agents", "--junitxml=report.xml"
    )
    # `fails` fails on both; `cited` fails on assistants (no file was searched) and is
    # not applicable on agents
    result.assert_outcomes(passed=7, failed=3)
    cases = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in ET.parse(aconv.path / "report.xml").iter("testcase")
    }
    assert cases["three-turns[assistants]"]["asst_api"] == "assistants"
    assert cases["three-turns[agents]"]["asst_api"] == "agents"
    assert cases["three-turns[agents]"]["asst_env"] == "agents"


PARITY = """
assistant: bot
functions:
  get_weather: {output: {temp: 18}}
conversations:
  - name: weather
    turns:
      - user: weather in Paris
        expect: {contains: '"temp": 18'}
      - user: hi
        expect: {contains: Hello}
  - name: farewell
    turns:
      - user: farewell
        expect: {contains: Goodbye}
"""


def _parity(root: Path, *args: str) -> Result:
    from click.testing import CliRunner

    from asst_deploy.cli import cli

    return CliRunner().invoke(
        cli, ["test", str(root / "conversations"), "--parity", *args], catch_exceptions=False
    )


def test_parity_of_assistants_and_agents(aconv: Conv) -> None:
    aconv.script("parity", PARITY)
    result = _parity(aconv.path, "classic", "agents")
    # the agents deployment answers `farewell` otherwise, on purpose: B lost that verdict
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:6] == [
        "conversation",
        "turn",
        "verdict",
        "classic",
        "verdict",
        "agents",
    ]
    farewell = next(line for line in lines if line.startswith("parity.conv.yaml::farewell"))
    assert farewell.split()[1:5] == ["1", "pass", "fail", "(lost)"]
    assert "reply: -Goodbye, and thanks for all the fish. +Bye." in farewell
    assert "B: contains: the reply does not contain 'Goodbye'" in farewell
    weather = [line for line in lines if line.startswith("parity.conv.yaml::weather")]
    assert [line.split()[1:4] for line in weather] == [["1", "pass", "pass"], ["2", "pass", "pass"]]
    assert lines[-1] == "agents lost 1 of the verdicts classic had (3 turns)."


def test_parity_from_a_cassette_against_live_as_json_and_markdown(aconv: Conv) -> None:
    aconv.script("parity", PARITY.replace("{contains: Goodbye}", "{icontains: bye}"))
    aconv.run("--asst-mode", "record", "--asst-env", "classic").assert_outcomes(passed=2)
    result = _parity(aconv.path, "classic:replay", "agents:live", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["a"], data["b"], data["kept"], data["lost"]) == ("classic", "agents", True, 0)
    assert [(t["conversation"], t["turn"]) for t in data["turns"]] == [
        ("parity.conv.yaml::farewell", 1),
        ("parity.conv.yaml::weather", 1),
        ("parity.conv.yaml::weather", 2),
    ]
    assert data["turns"][1]["a"]["tool_calls"] == ['get_weather({"city": "Paris"})']
    assert data["turns"][1]["b"]["tool_calls"] == ['get_weather({"city": "Paris"})']
    markdown = _parity(aconv.path, "classic:replay", "agents", "--markdown")
    assert markdown.exit_code == 0, markdown.output
    assert markdown.output.startswith("### Parity: `classic` vs `agents`\n")
    assert "| parity.conv.yaml::weather | 2 | pass | pass |" in markdown.output


def test_an_agent_applied_from_another_spec_version_is_refused(aconv: Conv) -> None:
    aconv.script("agents", SCRIPT)
    spec = aconv.path / "assistants" / "bot.yaml"
    spec.write_text(spec.read_text().replace("Be brief.", "Be verbose."))
    result = aconv.run("--asst-mode", "record", "-k", "polled")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*the deployment on target 'sandbox-agents' is not the specs' current version "
            "(agent 'bot' was applied from another version of its spec)*"
        ]
    )
    assert not (aconv.path / "conversations/cassettes/agents").exists()


def test_an_assistant_missing_on_agents_and_attachments_say_what_to_do(aconv: Conv) -> None:
    aconv.script(
        "missing",
        """
        assistant: bot
        env: agents
        conversations:
          - name: attached
            turns:
              - user: hi
                attachments: [{file: rules.yaml, tools: [code_interpreter]}]
        """,
    )
    result = aconv.run("--asst-mode", "live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*turn 1: attachments are Assistants-only: on agents, files come with the agent's "
            "environment template*"
        ]
    )
    (aconv.path / "conversations" / "missing.conv.yaml").unlink()
    aconv.script(
        "overrides",
        "assistant: bot\nenv: agents\nrun: {temperature: 0.1}\n"
        "conversations: [{name: x, turns: [{user: hi}]}]\n",
    )
    result = aconv.run("--asst-mode", "live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*turn 1: `run:` overrides (temperature) are Assistants create-run fields, which agent "
            "turns do not take*"
        ]
    )
    (aconv.path / "conversations" / "overrides.conv.yaml").unlink()
    other = aconv.path / "assistants" / "other.yaml"
    other.write_text("kind: assistant\nkey: other\nmodel: gpt-4o-mini\n")
    aconv.script(
        "other", "assistant: other\nenv: agents\nconversations: [{name: x, turns: [{user: hi}]}]\n"
    )
    result = aconv.run("--asst-mode", "live")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*assistant 'other' of project 'agentstest' is not deployed as an agent on target "
            "'sandbox-agents'; run `asst-deploy apply` first*"
        ]
    )
