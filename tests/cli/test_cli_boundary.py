"""The error boundary in asst_deploy.cli.main: exit 1 expected, 3 unexpected, 130 interrupted."""

from __future__ import annotations

from pathlib import Path

import pytest

from asst_deploy import cli as cli_module
from asst_deploy.cli import main
from asst_deploy.cli import validate as validate_module

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "specs"


def run_main(*args: str) -> int:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    code = info.value.code
    assert isinstance(code, int)
    return code


def fail_with(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(validate_module, "run_validate", boom)


def test_success_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("validate", str(EXAMPLES)) == 0
    assert "valid" in capsys.readouterr().out


def test_an_expected_error_exits_1_without_a_traceback(
    invalid_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main("validate", str(invalid_project)) == 1
    err = capsys.readouterr().err
    assert err.endswith("unknown key 'temprature' (did you mean 'temperature'?)\n1 error found.\n")
    assert "Traceback" not in err


def test_a_missing_project_is_an_expected_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main("validate", str(tmp_path)) == 1
    assert "no asst-deploy.yaml here" in capsys.readouterr().err


def test_an_unexpected_exception_exits_3_and_asks_for_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_with(monkeypatch, RuntimeError("boom"))
    assert run_main("validate", str(EXAMPLES)) == 3
    err = capsys.readouterr().err
    assert "Unexpected error: RuntimeError: boom" in err
    assert "--debug" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_with(monkeypatch, RuntimeError("boom"))
    assert run_main("--debug", "validate", str(EXAMPLES)) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: boom" in err


def test_ctrl_c_inside_a_command_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fail_with(monkeypatch, KeyboardInterrupt())
    assert run_main("validate", str(EXAMPLES)) == 130
    err = capsys.readouterr().err
    assert err.endswith("Aborted.\n")  # click turns Ctrl-C in a command into Abort
    assert "Traceback" not in err


def test_ctrl_c_outside_a_command_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module.cli, "main", interrupted)
    assert run_main("validate") == 130
    assert capsys.readouterr().err == "Interrupted.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("validate", "--no-such-option"), "No such option"),
        (("plan", "no-such-directory", "--detailed-exitcode"), "does not exist"),
        (("plan", str(EXAMPLES), "--json", "--markdown"), "choose one of --json and --markdown"),
        (("no-such-command",), "No such command"),
    ],
)
def test_usage_errors_exit_1_not_2_which_means_changes_present(
    args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # `plan --detailed-exitcode` and CI scripts read 2 as "changes present"
    assert run_main(*args) == 1
    assert message in capsys.readouterr().err


def test_version_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("--version") == 0
    assert capsys.readouterr().out.startswith("asst-deploy, version ")
