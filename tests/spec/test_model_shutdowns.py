"""Models that shut down: validate and plan warn within 60 days of the date (naming it and
the replacement), refuse from the date on; the grader's model too; a target's GET /models
completes the built-in table. A fixed clock throughout."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from asst_deploy.cli import cli
from asst_deploy.errors import Location, SpecError
from asst_deploy.spec import shutdowns
from asst_deploy.spec.shutdowns import TODAY_VARIABLE, Use


def _project(root: Path, model: str, grader: str | None = None) -> Path:
    (root / "assistants").mkdir(parents=True, exist_ok=True)
    text = "project: dated\n"
    if grader:
        text += f"replay:\n  grader: {{model: {grader}}}\n"
    (root / "asst-deploy.yaml").write_text(text)
    (root / "assistants" / "bot.yaml").write_text(
        textwrap.dedent(
            f"""\
            kind: assistant
            key: bot
            model: {model}
            """
        )
    )
    return root


@dataclass
class Done:
    exit_code: int
    output: str


def _validate(root: Path, on: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Done:
    """`asst-deploy validate .` in `root` on the date `on`, through the CLI's error boundary."""
    monkeypatch.setenv(TODAY_VARIABLE, on)
    monkeypatch.chdir(root)
    result = CliRunner().invoke(cli, ["validate", ".", *args])
    if isinstance(result.exception, SpecError):  # what main() prints, and its exit status
        return Done(1, result.output + result.exception.render())
    return Done(result.exit_code, result.output)


def test_gpt_5_warns_today_and_is_refused_after_its_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, "gpt-5")
    today = _validate(root, "2026-12-04", monkeypatch)
    assert today.exit_code == 0, today.output
    assert (
        "Warning: assistants/bot.yaml:2:6: assistant 'bot' uses model 'gpt-5', which shuts "
        "down on 2026-12-11, in 7 days (move to gpt-5.4, its recommended replacement)"
    ) in today.output
    after = _validate(root, "2026-12-11", monkeypatch)
    assert after.exit_code == 1
    assert (
        "assistants/bot.yaml:2:6: assistant 'bot' uses model 'gpt-5', which was shut down on "
        "2026-12-11 (move to gpt-5.4, its recommended replacement)"
    ) in after.output
    # 61 days before: not yet
    early = _validate(root, "2026-10-11", monkeypatch)
    assert "Warning" not in early.output


def test_the_json_report_lists_the_warning_with_its_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, "gpt-4o-mini-2024-07-18")
    done = _validate(root, "2027-01-01", monkeypatch, "--json")
    report = json.loads(done.output)
    [warning] = report["warnings"]
    assert report["valid"] is True
    assert warning["line"] == 2 and "2027-01-14, in 13 days" in warning["message"]
    assert "gpt-5.4-mini" in warning["hint"]


def test_the_graders_model_is_checked_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, "gpt-5.4-mini", grader="gpt-4.1-mini")
    done = _validate(root, "2027-02-01", monkeypatch)
    assert done.exit_code == 1
    assert (
        "asst-deploy.yaml:3:19: the grader (replay.grader.model) uses model 'gpt-4.1-mini', "
        "which was shut down on 2027-01-14"
    ) in done.output


def test_plan_warns_as_validate_does(tmp_path: Path) -> None:
    root = _project(tmp_path, "gpt-5-nano")
    done = subprocess.run(
        [sys.executable, "-m", "asst_deploy", "plan", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, TODAY_VARIABLE: "2026-11-20"},
    )
    assert done.returncode == 0, done.stderr
    assert (
        "Warning: assistants/bot.yaml:2:6: assistant 'bot' uses model 'gpt-5-nano', which "
        "shuts down on 2026-12-11, in 21 days (move to gpt-5.4-nano, its recommended "
        "replacement)"
    ) in done.stderr
    assert done.stderr.count("Warning:") == 1  # once, however often the specs are read


def test_a_targets_model_list_completes_the_table() -> None:
    use = Use("acme-large", "assistant 'bot'", Location("assistants/bot.yaml", 2, 6))
    on = datetime.date(2027, 3, 1)
    assert shutdowns.check([use], on) == ([], [])
    warned, refused = shutdowns.check(
        [use], on, {"acme-large": "2027-03-31"}, where="target 'acme'"
    )
    assert refused == []
    assert warned[0].message == (
        "assistant 'bot' uses model 'acme-large', which shuts down on 2027-03-31 (as target "
        "'acme' reports it), in 30 days"
    )
    assert warned[0].hint == "move to a model that stays"


def test_a_compatible_endpoint_keeps_its_own_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, "gpt-4o")
    (root / "asst-deploy.yaml").write_text(
        "project: dated\ntargets:\n  mine:\n    type: openai\n"
        "    base_url: http://127.0.0.1:9/v1\ndefault_target: mine\n"
    )
    done = _validate(root, "2027-06-01", monkeypatch)
    assert done.exit_code == 0 and "shut" not in done.output


def test_many_uses_of_a_model_are_one_warning_and_each_use_past_the_date_an_error() -> None:
    def use(key: str, model: str) -> Use:
        return Use(model, f"assistant '{key}'", Location(f"assistants/{key}.yaml", 2, 6))

    used = [use(f"a{i}", "gpt-4o") for i in range(1000)] + [use("m", "gpt-4o-mini")]
    warned, refused = shutdowns.check(used, datetime.date(2026, 12, 5))
    assert refused == []
    assert [str(w.location) for w in warned] == ["assistants/a0.yaml:2:6", "assistants/m.yaml:2:6"]
    assert warned[0].message == (
        "assistant 'a0' uses model 'gpt-4o', which shuts down on 2027-01-14, in 40 days "
        "(and 999 more uses of it elsewhere)"
    )
    assert "more uses" not in warned[1].message  # one use: as it always read
    # past the date every use is its own located error: each must be fixed
    _, refused = shutdowns.check(used, datetime.date(2027, 1, 14))
    assert len(refused) == 1001
