"""The example project's agents-native part (examples/analyst/): it deploys whole from its
specs with secrets from the environment, plans empty, shows a rotation as one "secret
changed", replays its conversations offline, and destroys to nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from asst_deploy.desired import Target
from asst_deploy.engine.targets import connect
from tests.engine.test_cli import run

ANALYST = Path(__file__).resolve().parents[2] / "examples" / "analyst"
SECRETS = {"CRM_TOKEN": "crm-token-0b5e7d91", "WAREHOUSE_TOKEN": "warehouse-token-9c3a44e2"}
KINDS = {
    "file": 1,
    "skill": 1,
    "vault": 1,
    "vault_credential": 2,
    "environment_template": 1,
    "agent": 1,
    "automation": 1,
}


@pytest.fixture
def analyst(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/analyst/ without a deployment."""
    root = tmp_path / "analyst"
    shutil.copytree(ANALYST, root, ignore=shutil.ignore_patterns(".asst-deploy"))
    for name in ("CI", "ASST_DEPLOY_MODE", *SECRETS):
        monkeypatch.delenv(name, raising=False)
    return root


def counts(root: Path) -> dict[str, int]:
    with connect(
        Target("sandbox", "sandbox", api="agents", db=root / ".asst-deploy" / "sandbox.db")
    ) as backend:
        state = backend.read_state()
    return {kind: len(state.of(kind)) for kind in KINDS}


def test_without_its_secrets_nothing_is_called(analyst: Path) -> None:
    result = run("apply", str(analyst), "--auto-approve")
    assert result.code == 1, result.err
    assert "the environment variable CRM_TOKEN is not set" in result.err
    assert "vaults/crm.yaml:" in result.err and "nothing was called" in result.err
    assert not (analyst / ".asst-deploy" / "sandbox.db").exists() or not any(
        counts(analyst).values()
    )


def test_the_analyst_deploys_plans_empty_rotates_and_destroys(
    analyst: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    applied = run("apply", str(analyst), "--auto-approve")
    assert applied.code == 0, applied.err
    assert counts(analyst) == KINDS
    plan = run("plan", str(analyst), "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert "No changes." in plan.out
    assert "automation nightly-report: next run" in plan.err
    # a rotation in the environment is one update of the one credential that uses it
    monkeypatch.setenv("CRM_TOKEN", "crm-token-rotated-51d0")
    rotated = run("plan", str(analyst), "--detailed-exitcode")
    assert rotated.code == 2, rotated.err
    assert rotated.out.count("secret changed") == 1, rotated.out
    assert "token: secret changed (from $CRM_TOKEN)" in rotated.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in rotated.out
    outputs = applied.out + applied.err + plan.out + plan.err + rotated.out + rotated.err
    for value in [*SECRETS.values(), "crm-token-rotated-51d0"]:
        assert value not in outputs
    destroyed = run("destroy", str(analyst), "--auto-approve")
    assert destroyed.code == 0, destroyed.err
    assert not any(counts(analyst).values())


@pytest.mark.e2e  # the installed command, in a subprocess
def test_its_conversations_replay_offline(analyst: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "asst_deploy",
            "test",
            "conversations",
            "--mode",
            "replay",
            "-p",
            "no:cacheprovider",
        ],
        cwd=analyst,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert not (analyst / ".asst-deploy" / "sandbox.db").exists(), "replay deployed nothing"
