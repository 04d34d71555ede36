"""Conversation scripts' `environment:` and `vaults:`: the session runs in the named
environment spec's template with the named vaults (agents), is recorded and replayed, and
is refused (or, over several environments, skipped) where a target has no such sessions."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.replay.conftest import Conv

FILES = {
    "asst-deploy.yaml": """
        project: sessiontest
        targets:
          sandbox-classic: {type: sandbox, db: .asst-deploy/classic.db, rules: rules.yaml}
          sandbox-agents:
            type: sandbox
            api: agents
            db: .asst-deploy/agents.db
            rules: rules.yaml
        default_target: sandbox-agents
        environments:
          classic:
            target: sandbox-classic
            exclude: {environments: [analysis, reports], vaults: [crm, billing]}
          agents: {target: sandbox-agents}
        """,
    # no code_interpreter: the agent has no template of its own to run code in
    "assistants/bot.yaml": """
        kind: assistant
        key: bot
        name: Bot
        model: gpt-4o-mini
        instructions: Be brief.
        """,
    "environments/analysis.yaml": "kind: environment\nkey: analysis\n",
    "environments/reports.yaml": "kind: environment\nkey: reports\n",
    "vaults/crm.yaml": "kind: vault\nkey: crm\n",
    "vaults/billing.yaml": "kind: vault\nkey: billing\n",
    "rules.yaml": """
        step_delay: 0
        rules:
          - match: '(?i)compute'
            code_interpreter: {input: "print(2 + 2)", logs: "4"}
            reply: "Result: 4"
          - reply: "Hello there! You said: {message}"
        """,
}
# the script's vaults for every conversation; `hosted` runs in the analysis template, so
# its command runs; `bare` names no environment, and the agent has none to run it in
SCRIPT = """
assistant: bot
vaults: [crm, billing]
conversations:
  - name: hosted
    environment: analysis
    turns:
      - user: compute it
        expect: {code_interpreter: true, equals: "Result: 4"}
  - name: bare
    turns:
      - user: compute it
        expect: {status: failed}
"""


@pytest.fixture(scope="session")
def session_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("session-specs")
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    for env in ("classic", "agents"):
        apply = [sys.executable, "-m", "asst_deploy", "apply", str(root), "--env", env]
        done = subprocess.run(
            [*apply, "--auto-approve"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def sconv(
    pytester: pytest.Pytester, session_project: Path, monkeypatch: pytest.MonkeyPatch
) -> Conv:
    shutil.copytree(session_project, pytester.path, dirs_exist_ok=True)
    for name in ("CI", "ASST_DEPLOY_MODE"):
        monkeypatch.delenv(name, raising=False)
    return Conv(pytester)


def _ids(root: Path) -> dict[str, str]:
    """The deployed template and vault ids by spec key, as the agents sandbox holds them."""
    from asst_deploy.engine import operations
    from asst_deploy.engine.targets import connect

    project = operations.load(root, "agents")
    with connect(project.target) as backend:
        remote = operations.read_remote(backend)
    found = {}
    for obj in remote.all_objects():
        key = obj.owner.key
        if obj.kind in ("environment_template", "vault") and key:
            found[key.removeprefix("environment/")] = obj.id
    return found


def test_the_session_runs_in_the_named_environment_with_the_named_vaults(sconv: Conv) -> None:
    sconv.script("sessions", SCRIPT)
    sconv.run("--asst-mode", "live").assert_outcomes(passed=2)
    sconv.run("--asst-mode", "record").assert_outcomes(passed=2)
    ids = _ids(sconv.path)
    folder = sconv.path / "conversations/cassettes/agents/sessions"
    hosted = yaml.safe_load((folder / "hosted.yaml").read_text())
    assert hosted["metadata"]["asst_deploy"]["session"] == {
        "environment": {"key": "analysis", "id": ids["analysis"]},
        "vaults": [{"key": "crm", "id": ids["crm"]}, {"key": "billing", "id": ids["billing"]}],
    }
    (create,) = [
        i
        for i in hosted["interactions"]
        if i["request"]["method"] == "POST" and i["request"]["uri"].endswith("/agents/sessions")
    ]
    assert create["request"]["json"]["environment"] == {
        "type": "openai_hosted",
        "environment_template_id": ids["analysis"],
    }
    assert create["request"]["json"]["vault_ids"] == [ids["crm"], ids["billing"]]
    assert create["response"]["body"]["json"]["vault_ids"] == [ids["crm"], ids["billing"]]
    bare = yaml.safe_load((folder / "bare.yaml").read_text())
    assert bare["metadata"]["asst_deploy"]["session"] == {
        "vaults": [{"key": "crm", "id": ids["crm"]}, {"key": "billing", "id": ids["billing"]}]
    }
    (bare_create,) = [
        i
        for i in bare["interactions"]
        if i["request"]["method"] == "POST" and i["request"]["uri"].endswith("/agents/sessions")
    ]
    assert bare_create["request"]["json"]["environment"] == {"type": "none"}
    # offline, from the recorded ids: the sandbox's databases are gone
    shutil.rmtree(sconv.path / ".asst-deploy")
    sconv.run("--asst-mode", "replay").assert_outcomes(passed=2)


def test_a_replay_of_other_keys_than_recorded_is_stale(sconv: Conv) -> None:
    sconv.script("sessions", SCRIPT)
    sconv.run("--asst-mode", "record", "-k", "hosted").assert_outcomes(passed=1)
    sconv.script("sessions", SCRIPT.replace("environment: analysis", "environment: reports"))
    result = sconv.run("--asst-mode", "replay", "-k", "hosted")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*cassette conversations/cassettes/agents/sessions/hosted.yaml is stale: its "
            "session was recorded with environment 'analysis' and vaults [[]crm, billing[]], "
            "and conversation 'hosted' now gives it environment 'reports' and vaults "
            "[[]crm, billing[]] (conversations/sessions.conv.yaml:5:5); re-record it with*"
        ]
    )


def test_a_key_that_names_no_spec_is_a_located_error(sconv: Conv) -> None:
    sconv.script("sessions", SCRIPT.replace("environment: analysis", "environment: analyss"))
    result = sconv.run("--asst-mode", "live", "-k", "hosted")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*conversations/sessions.conv.yaml:5:18: the project has no environment 'analyss' "
            "(`kind: environment`) in conversations/sessions.conv.yaml's environment; did you "
            "mean 'analysis'?"
        ]
    )
    sconv.script("sessions", SCRIPT.replace("[crm, billing]", "[crm, bills]"))
    result = sconv.run("--asst-mode", "live", "-k", "bare")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*conversations/sessions.conv.yaml:2:15: *no vault 'bills'*"])


def test_a_target_without_such_sessions_refuses_it_and_several_environments_skip_it(
    sconv: Conv,
) -> None:
    sconv.script("sessions", SCRIPT)
    result = sconv.run("--asst-mode", "live", "--asst-env", "classic")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*conversations/sessions.conv.yaml:5:5: conversation 'hosted' gives its session "
            "`environment:`, which target 'sandbox-classic' (assistants API) has no place for: "
            "environments are Agents API environment templates*; run the script on a target "
            "of the agents API (its `env:`, or --asst-env), or remove `environment:`",
            "*conversations/sessions.conv.yaml:2:1: conversation 'bare' gives its session "
            "`vaults:`, which target 'sandbox-classic' (assistants API) has no place for*",
        ]
    )
    both = sconv.run("--asst-mode", "live", "--asst-envs", "classic,agents", "-rs")
    both.assert_outcomes(passed=2, skipped=2)
    both.stdout.fnmatch_lines(["*SKIPPED*sessions.conv.yaml:5:5: conversation 'hosted'*"])
    # parity: the side without such sessions skips them, which is no lost verdict
    from click.testing import CliRunner

    from asst_deploy.cli import cli

    parity = CliRunner().invoke(
        cli,
        ["test", str(sconv.path / "conversations"), "--parity", "agents", "classic"],
        catch_exceptions=False,
    )
    assert parity.exit_code == 0, parity.output
    hosted = next(line for line in parity.output.splitlines() if "::hosted" in line)
    assert hosted.split()[1:4] == ["1", "pass", "skipped"]
    assert "(assistants API) has no place for" in hosted
    assert parity.output.splitlines()[-1].startswith("classic kept every verdict agents had")


def test_a_conversations_own_environment_and_vaults_win_field_by_field(tmp_path: Path) -> None:
    from asst_deploy.replay.scripts import load_script

    path = tmp_path / "s.conv.yaml"
    path.write_text(
        "assistant: bot\n"
        "environment: analysis\n"
        "vaults: [crm]\n"
        "conversations:\n"
        "  - {name: own, environment: reports, vaults: [], turns: [{user: hi}]}\n"
        "  - {name: inherited, turns: [{user: hi}]}\n"
    )
    own, inherited = load_script(path).conversations
    assert own.session is not None and inherited.session is not None
    assert own.session.environment is not None and own.session.vaults == ()
    assert (own.session.environment.key, own.session.location.line) == ("reports", 5)
    assert inherited.session.environment is not None and inherited.session.vaults is not None
    assert inherited.session.environment.key == "analysis"
    assert [(v.key, v.location.line) for v in inherited.session.vaults] == [("crm", 3)]
    assert inherited.session.location.line == 2
