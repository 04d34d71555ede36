"""What the harness refuses or keeps out of cassettes: other assistants, stale deployments,
paths and modules outside the project, damaged cassettes; replay as recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.replay.conftest import Conv

HELLO = """
assistant: bot
conversations:
  - name: hello
    turns: [{user: hi, expect: {contains: Hello}}]
"""


def _cli(conv: Conv, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ASST_DEPLOY_MODE")}
    return subprocess.run(
        [sys.executable, "-m", "asst_deploy", "test", *args],
        cwd=conv.path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_a_cassette_holds_the_one_assistant_and_replays_polled_as_recorded(conv: Conv) -> None:
    conv.script("chat", HELLO)
    conv.run("--asst-mode", "record").assert_outcomes(passed=1)
    path = conv.path / "conversations/cassettes/chat/hello.yaml"
    data = yaml.safe_load(path.read_text())
    uris = [i["request"]["uri"] for i in data["interactions"]]
    # the lookup lists every assistant of the target: it is not recorded, a read by id is
    assert not any(u.split("?")[0].endswith("/v1/assistants") for u in uris), uris
    assistant_id = data["metadata"]["asst_deploy"]["assistant_id"]
    assert uris[0] == f"https://assistants.invalid/v1/assistants/{assistant_id}"
    assert data["metadata"]["asst_deploy"]["streaming"] is True
    # --asst-runs poll on a streamed cassette: the same verdict, not a mismatch
    conv.run("--asst-mode", "replay", "--asst-runs", "poll").assert_outcomes(passed=1)
    # a stale cassette, through `asst-deploy test`: the hint names that command's option
    spec = conv.path / "assistants" / "bot.yaml"
    spec.write_text(spec.read_text().replace("Be brief.", "Be verbose."))
    result = _cli(conv, "--mode", "replay")
    assert result.returncode == 1
    assert "re-record it with --mode record" in result.stdout
    assert "--asst-mode" not in result.stdout
    # pytest-recording's name for replay is the same mode under `asst-deploy test`
    alias = _cli(conv, "--mode", "none")
    assert alias.returncode == 1 and "re-record it with --mode record" in alias.stdout


def test_record_and_live_refuse_a_deployment_older_than_the_specs(conv: Conv) -> None:
    conv.script("chat", HELLO)
    spec = conv.path / "assistants" / "bot.yaml"
    spec.write_text(spec.read_text().replace("Be brief.", "Be verbose."))
    (conv.path / "knowledge" / "policy.md").write_text("Refunds within 60 days.\n")
    for mode in ("record", "live"):
        result = conv.run("--asst-mode", mode)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*conversations/chat.conv.yaml: the deployment on target 'sandbox' is not the "
                "specs' current version (vector store 'docs' was applied from another version "
                "of its spec; assistant 'bot' was applied from another version of its spec): "
                "run `asst-deploy apply` first*"
            ]
        )
    assert not (conv.path / "conversations" / "cassettes").exists()


def test_record_refuses_an_assistant_edited_outside_asst_deploy(conv: Conv) -> None:
    # the specs did not change, but the deployed assistant did: the engine's plan of it
    # is not empty, so what a recording would capture is not what the specs deploy
    from asst_deploy.identity import SPEC_KEY
    from asst_deploy.sandbox.store import Store

    conv.script("chat", HELLO)
    store = Store(str(conv.path / ".asst-deploy" / "sandbox.db"))
    try:
        (bot,) = [a for a in store.list("assistant") if a["metadata"].get(SPEC_KEY) == "bot"]
        store.put("assistant", {**bot, "instructions": "Answer in French."})
    finally:
        store.close()
    result = conv.run("--asst-mode", "record")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*(assistant 'bot' was edited outside asst-deploy since it was applied)*"]
    )
    assert not (conv.path / "conversations" / "cassettes").exists()


def test_a_damaged_cassette_is_named_without_a_traceback(conv: Conv) -> None:
    conv.script("chat", HELLO)
    conv.run("--asst-mode", "record").assert_outcomes(passed=1)
    path = conv.path / "conversations/cassettes/chat/hello.yaml"
    text = path.read_text()
    for damaged, what in (
        (text.replace("interactions:", "<<<<<<< HEAD\ninteractions: [", 1), "line 3: not YAML"),
        ("interactions: 5\n", "not the cassette format (TypeError"),
        ("interactions:\n- {request: {}}\n", "not the cassette format (KeyError"),
    ):
        path.write_text(damaged)
        result = conv.run("--asst-mode", "replay")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                f"*cassette conversations/cassettes/chat/hello.yaml cannot be read ({what}*"
                "restore it from git, or delete it and record it again with --asst-mode record*"
            ]
        )
        assert "Traceback" not in result.stdout.str() and len(result.outlines) < 40


def test_attachments_stay_inside_the_project(conv: Conv, tmp_path: Path) -> None:
    conv.script(
        "climb",
        """
        assistant: bot
        conversations:
          - name: a
            turns:
              - user: hi
                attachments: [{file: ../../../../etc/passwd}]
        """,
    )
    result = conv.run("--asst-mode", "live")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*conversations/climb.conv.yaml:6:30: attachment '../../../../etc/passwd' is outside "
            "the project directory (attachments are paths relative to the project directory*"
        ]
    )
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret\n")
    (conv.path / "uploads").mkdir()
    (conv.path / "uploads" / "link.md").symlink_to(outside)
    conv.script(
        "climb",
        """
        assistant: bot
        conversations:
          - name: a
            turns:
              - user: hi
                attachments: [{file: uploads/link.md}]
        """,
    )
    result = conv.run("--asst-mode", "record")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*conversations/climb.conv.yaml:6:30: attachment 'uploads/link.md' is outside the "
            "project directory (it resolves to *secret.txt); move the file into the project*"
        ]
    )
    assert not list((conv.path / "conversations").rglob("cassettes/**/*.yaml"))


def test_scripts_call_only_the_projects_modules_or_allowed_ones(
    conv: Conv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    called = tmp_path / "called"
    elsewhere = tmp_path / "site"
    elsewhere.mkdir()
    (elsewhere / "extchecks.py").write_text(
        f"def polite(result):\n    open({str(called)!r}, 'w').close()\n    return True\n"
    )
    monkeypatch.syspath_prepend(str(elsewhere))
    conv.pytester.makepyfile(
        localchecks="def polite(result):\n    return 'Hello' in result.reply\n"
    )
    conv.pytester.syspathinsert()
    conv.script(
        "calls",
        """
        assistant: bot
        conversations:
          - name: system
            turns: [{user: hi, expect: {predicate: "os:system"}}]
          - name: stub
            turns:
              - user: weather in Oslo
                functions: {get_weather: {call: "subprocess:getoutput"}}
          - name: external
            turns: [{user: hi, expect: {predicate: "extchecks:polite"}}]
          - name: local
            turns: [{user: hi, expect: {predicate: [localchecks:polite]}}]
        """,
    )
    result = conv.run("--asst-mode", "live")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*conversations/calls.conv.yaml:4:33: 'os:system': module 'os' is not part of the "
            "project; a script may call functions of the project's own modules, or of modules "
            "listed in asst-deploy.yaml under `replay: {allow_modules: *",
            "*conversations/calls.conv.yaml:7:9: 'subprocess:getoutput': module 'subprocess' is "
            "not part of the project*",
            "*'extchecks:polite': module 'extchecks' is not part of the project*",
        ]
    )
    assert not called.exists()
    project = conv.path / "asst-deploy.yaml"
    project.write_text(project.read_text() + "replay:\n  allow_modules: [extchecks]\n")
    conv.run("--asst-mode", "live", "-k", "external or local").assert_outcomes(passed=2)
    assert called.exists()


@pytest.mark.e2e  # the installed command, in subprocesses
def test_the_test_command_passes_pytest_options_and_node_ids_through(conv: Conv) -> None:
    conv.script("chat", HELLO + "  - name: other\n    turns: [{user: hi}]\n")
    result = _cli(conv, "-q", "conversations/chat.conv.yaml::hello", "--mode", "live", "-rA")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED conversations/chat.conv.yaml::hello" in result.stdout
    assert "1 passed" in result.stdout and "test session starts" not in result.stdout  # -q
    missing = _cli(conv, "conversations/nope.conv.yaml", "--mode", "live")
    assert missing.returncode == 1  # a usage error, like every other command's
    assert "file or directory not found: conversations/nope.conv.yaml" in missing.stdout + (
        missing.stderr
    )
