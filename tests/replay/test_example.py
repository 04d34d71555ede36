"""The example project's conversations on both generations from its committed cassettes:
offline replay, the excluded handbook skipped, and the parity run with its deliberate fixture."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from asst_deploy.cli import cli, main
from asst_deploy.generations.sdk import client
from asst_deploy.replay import cassette, items

# imported before pytester's in-process runs, which would drop them (see conftest.py)
HARNESS_MODULES = (cassette, client, items)

EXAMPLES = Path(__file__).resolve().parents[2] / "specs"
EXCLUDED = "assistant 'handbook' is excluded from environment 'agents'"


@pytest.fixture
def example(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of specs/ without any deployment: replay must need none."""
    shutil.copytree(
        EXAMPLES, pytester.path, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".asst-deploy")
    )
    for name in ("CI", "ASST_DEPLOY_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(pytester.path)
    return pytester.path


def test_the_example_replays_on_both_generations_from_its_cassettes(
    pytester: pytest.Pytester, example: Path
) -> None:
    junit = example / "junit.xml"
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "conversations",
        "--asst-mode",
        "replay",
        "--asst-envs",
        "base,agents",
        "-rs",
        "-v",
        f"--junitxml={junit}",
    )
    result.assert_outcomes(passed=9, skipped=1)
    out = result.stdout.str()
    for line in (
        "conversations/handbook.conv.yaml::vacation[assistants] PASSED",
        "conversations/handbook.conv.yaml::vacation[agents] SKIPPED",
        "conversations/math-tutor.conv.yaml::quickstart[agents] PASSED",
        "conversations/weather.conv.yaml::paris[agents] PASSED",
        f"SKIPPED [1] conversations/handbook.conv.yaml:4: {EXCLUDED}",
    ):
        assert line in out, out
    # replay deployed nothing and opened no sandbox: no state file was made (reading the
    # specs leaves their cache, .asst-deploy/spec-cache, and nothing else)
    state = example / ".asst-deploy"
    assert not state.exists() or [p.name for p in state.iterdir()] == ["spec-cache"]
    cases = {c.get("name"): c for c in ET.parse(junit).iter("testcase")}
    assert sorted(cases) == sorted(
        f"{name}[{api}]"
        for name in (
            "vacation",
            "quickstart",
            "quickstart-polling",
            "paris",
            "unit-from-template",
        )
        for api in ("assistants", "agents")
    )
    skipped = cases["vacation[agents]"].find("skipped")
    assert skipped is not None and EXCLUDED in skipped.get("message", "")
    props = {p.get("name"): p.get("value") for p in cases["paris[agents]"].iter("property")}
    assert (props["asst_api"], props["asst_env"], props["asst_mode"]) == (
        "agents",
        "agents",
        "replay",
    )


@pytest.mark.e2e  # apply and test as installed commands
def test_the_example_passes_live_on_the_agents_environment(
    pytester: pytest.Pytester, example: Path
) -> None:
    apply = [sys.executable, "-m", "asst_deploy", "apply", str(example), "--env", "agents"]
    done = subprocess.run([*apply, "--auto-approve"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # the tutor's environment template and two agents: the handbook stays out
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in done.stdout
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "conversations", "parity", "--asst-mode", "live",
        "--asst-env", "agents", "-rs",
    )  # fmt: skip
    result.assert_outcomes(passed=5, skipped=1)
    # the parity fixture passes on its own, and says what it could not check
    result.stdout.fnmatch_lines(
        [
            "*expectations not applicable (not checked, not passed)*",
            "parity/tutor-sources.conv.yaml::cites-nothing: *'citations': not applicable on agents*",
        ]
    )


def test_an_excluded_assistant_is_skipped_before_any_connection(
    pytester: pytest.Pytester, example: Path
) -> None:
    # live: the skip comes from the specs alone, before a target is connected to
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "conversations", "--asst-mode", "live", "--asst-env", "agents",
        "-k", "vacation", "-rs",
    )  # fmt: skip
    result.assert_outcomes(skipped=1, deselected=4)
    result.stdout.fnmatch_lines([f"*{EXCLUDED} (its `exclude:` in asst-deploy.yaml)*"])
    state = example / ".asst-deploy"  # no sandbox was made: the specs' cache alone is there
    assert not state.exists() or [p.name for p in state.iterdir()] == ["spec-cache"]


def test_an_unknown_assistant_still_fails(pytester: pytest.Pytester, example: Path) -> None:
    (example / "conversations" / "nobody.conv.yaml").write_text(
        "assistant: nobody\nconversations:\n  - name: hi\n    turns: [{user: hi}]\n"
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "conversations/nobody.conv.yaml", "--asst-mode", "replay",
        "--asst-env", "agents",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the project has no assistant 'nobody' (it has: math-tutor, weather)*"]
    )


def _parity(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        ["test", "conversations", "parity", "--parity", "base:replay", "agents:replay", *args],
        catch_exceptions=False,
    )
    return result.exit_code, result.output


def test_the_example_parity_shows_the_deliberate_fixture_lost(example: Path) -> None:
    code, table = _parity()
    assert code == 1
    lines = table.splitlines()
    assert lines[0].split()[:6] == ["conversation", "turn", "verdict", "base", "verdict", "agents"]
    rows = {tuple(line.split()[:2]): line for line in lines[2:] if "::" in line}
    assert sorted(rows) == [
        ("handbook.conv.yaml::vacation", "1"),
        ("handbook.conv.yaml::vacation", "2"),
        ("handbook.conv.yaml::vacation", "3"),
        ("math-tutor.conv.yaml::quickstart", "1"),
        ("math-tutor.conv.yaml::quickstart", "2"),
        ("math-tutor.conv.yaml::quickstart-polling", "1"),
        ("tutor-sources.conv.yaml::cites-nothing", "1"),
        ("weather.conv.yaml::paris", "1"),
        ("weather.conv.yaml::paris", "2"),
        ("weather.conv.yaml::unit-from-template", "1"),
    ]
    fixture = rows[("tutor-sources.conv.yaml::cites-nothing", "1")]
    assert fixture.split()[2:5] == ["pass", "n/a", "(lost)"]
    assert "B: citations: not applicable on agents" in fixture
    # the excluded handbook is shown skipped, with why, and is no loss
    for turn in ("1", "2", "3"):
        handbook = rows[("handbook.conv.yaml::vacation", turn)]
        assert handbook.split()[2:4] == ["pass", "skipped"] and EXCLUDED in handbook
    kept = [
        row
        for key, row in rows.items()
        if key[0].split("::")[0] in ("math-tutor.conv.yaml", "weather.conv.yaml")
    ]
    assert len(kept) == 6 and all(row.split()[2:4] == ["pass", "pass"] for row in kept)
    # replays time no target: latency is not compared, the generations' token counts are
    assert "latency" not in table and "tokens: 120 -> 46" in rows[("weather.conv.yaml::paris", "1")]
    assert lines[-1] == (
        "agents lost 1 of the verdicts base had "
        "(10 turns, 3 skipped: their assistant is excluded from an environment)."
    )


def test_the_example_parity_as_json_and_markdown(example: Path) -> None:
    code, out = _parity("--json")
    data = json.loads(out)
    assert (code, data["a"], data["b"], data["kept"], data["lost"]) == (
        1,
        "base",
        "agents",
        False,
        1,
    )
    lost = [t for t in data["turns"] if t["lost"]]
    assert [(t["conversation"], t["turn"], t["b"]["verdict"]) for t in lost] == [
        ("tutor-sources.conv.yaml::cites-nothing", 1, "n/a")
    ]
    assert lost[0]["a"]["reply"] == lost[0]["b"]["reply"]  # the same answer, one check fewer
    code, markdown = _parity("--markdown")
    assert code == 1
    assert (
        "| tutor-sources.conv.yaml::cites-nothing | 1 | pass | n/a (lost) | tokens: 128 -> 43; "
        "B: citations: not applicable on agents: the Agents API has no file_search, so replies "
        "cite no files |" in markdown
    )


def test_without_the_fixture_the_example_keeps_every_verdict(example: Path) -> None:
    result = CliRunner().invoke(
        cli, ["test", "conversations", "--parity", "base:replay", "agents:replay"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(
        "agents kept every verdict base had "
        "(9 turns, 3 skipped: their assistant is excluded from an environment)."
    )


def test_an_unknown_parity_environment_is_refused_before_anything_runs(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["test", "conversations", "--parity", "base:replay", "agent:replay"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "has no environment 'agent' (it has: base, agents, dev, prod, responses;" in err


def _test_command(example: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`asst-deploy test` in a process of its own (it runs pytest, which this one is)."""
    return subprocess.run(
        [sys.executable, "-m", "asst_deploy", "test", *args, "-p", "no:cacheprovider"],
        cwd=example,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_script_that_does_not_parse_is_a_mistake_not_changes(example: Path) -> None:
    # pytest exits 2 on a collection error, which means "changes present" in this project
    (example / "conversations" / "broken.conv.yaml").write_text("assistant: [\n")
    result = _test_command(example, "conversations", "--mode", "replay")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "conversations/broken.conv.yaml:2:1: invalid YAML" in output


def test_a_misspelt_environment_in_envs_is_a_mistake_with_a_suggestion(example: Path) -> None:
    result = _test_command(example, "conversations", "--mode", "replay", "--envs", "base,agnets")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "asst-deploy.yaml:57:1: unknown environment 'agnets' (did you mean 'agents'?)" in output


def test_pytest_exit_codes_in_the_projects_terms() -> None:
    from asst_deploy.cli.test import exit_code

    assert [exit_code(code) for code in range(6)] == [0, 1, 1, 3, 1, 1]
    assert exit_code(2, keyboard_interrupt=True) == 130


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--envs", "base,agents"], "--parity ENV_A ENV_B names the environments to compare; "
         "drop --envs, or run without --parity"),
        (["--env", "dev"], "--parity ENV_A ENV_B names the environments to compare; drop "
         "--env, or run without --parity"),
        (["--json", "--markdown"], "Error: choose one of --json and --markdown"),
    ],
)  # fmt: skip
def test_options_parity_would_ignore_are_refused(
    example: Path, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["test", "conversations", "--parity", "base:replay", "agents:replay", *extra])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert named in err, err
