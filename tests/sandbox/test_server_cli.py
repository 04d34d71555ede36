"""The in-process server helper and `asst-deploy sandbox serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
import uvicorn
from click.testing import CliRunner

from asst_deploy.cli.sandbox import fault_config, is_loopback, sandbox
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.faults import FaultConfig, FaultRule
from asst_deploy.sandbox.server import start_server
from asst_deploy.sandbox.store import Store


def test_helper_binds_loopback_on_a_free_port_and_stops() -> None:
    with start_server(faults=FaultConfig(rules=[FaultRule(path="/nothing")], seed=5)) as running:
        assert running.base_url == f"http://127.0.0.1:{running.port}/v1"
        assert running.faults.seed == 5 and running.sandbox.faults is running.faults
        client = openai.OpenAI(base_url=running.base_url, api_key="k", max_retries=0)
        client.files.create(file=("a.txt", b"a"), purpose="assistants")
        assert running.log.total == 1
    with pytest.raises(openai.APIConnectionError):
        client.files.list()


def test_state_survives_a_restart_with_a_file_db(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.db")
    with start_server(Sandbox(store=Store(db))) as first:
        client = openai.OpenAI(base_url=first.base_url, api_key="k", max_retries=0)
        file_id = client.files.create(file=("a.txt", b"kept"), purpose="user_data").id
    first.sandbox.store.close()
    with start_server(Sandbox(store=Store(db))) as second:
        client = openai.OpenAI(base_url=second.base_url, api_key="k", max_retries=0)
        assert client.files.content(file_id).read() == b"kept"


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_fault_flags_become_a_catch_all_rule(tmp_path: Path) -> None:
    assert fault_config(None, **_flags()).rules == []
    config = fault_config(None, **_flags(fault_rate=0.5, rate_500=0.1, latency_ms=5))
    (rule,) = config.rules
    assert rule.rate_500 == pytest.approx(0.2) and rule.rate_drop == pytest.approx(0.1)
    assert rule.latency_ms == 5
    rules = tmp_path / "faults.yaml"
    rules.write_text("seed: 9\nrules:\n  - {method: POST, path: /files, rate_429: 1.0}\n")
    from_file = fault_config(rules, **_flags(rate_503=0.3))
    assert from_file.seed == 9
    assert [(r.method, r.rate_429, r.rate_503) for r in from_file.rules] == [
        ("POST", 1.0, 0),
        ("*", 0, 0.3),
    ]


def _flags(**overrides: Any) -> dict[str, Any]:
    flags: dict[str, Any] = {
        "seed": 0,
        "fault_rate": 0.0,
        "rate_429": 0.0,
        "rate_500": 0.0,
        "rate_503": 0.0,
        "drop_rate": 0.0,
        "commit_fail_rate": 0.0,
        "latency_ms": 0.0,
        "jitter_ms": 0.0,
        "retry_after": 1,
    }
    return flags | overrides


def test_serve_warns_on_a_public_bind(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.update(kwargs))
    result = CliRunner().invoke(
        sandbox, ["serve", "--host", "0.0.0.0", "--port", "9999", "--rate-500", "0.1"]
    )
    assert result.exit_code == 0, result.output
    assert "Warning: binding 0.0.0.0 exposes the sandbox" in result.output
    assert served["host"] == "0.0.0.0" and served["port"] == 9999
    quiet = CliRunner().invoke(sandbox, ["serve"], env={"ASST_DEPLOY_SANDBOX_API_KEY": "sk-x"})
    assert quiet.exit_code == 0 and "Warning" not in quiet.output


@pytest.mark.parametrize(
    ("rules", "where", "what"),
    [
        # a nested quantifier: refused when the rules load (see test_rule_regex.py)
        (
            "rules:\n  - reply: hi\n  - match: '(a+)+$'\n    reply: x\n",
            ":3:12: rule 2 (match '(a+)+$'): regex '(a+)+$' repeats a group",
            "make the inner one possessive (a++) or atomic",
        ),
        ("- reply: hi\n- bogus: 1\n", ":2:3: rule 2: unknown rule keys: bogus", ""),
        ("rules: [\n", ":2:1: invalid YAML: did not find expected node content", ""),
    ],
)
def test_a_bad_rules_file_is_a_located_mistake_and_serves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: str, where: str, what: str
) -> None:
    from asst_deploy.cli import main

    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(app))
    path = tmp_path / "rules.yaml"
    path.write_text(rules)
    db = tmp_path / "sandbox.db"
    runner = CliRunner()
    with runner.isolation() as (_, err, _), pytest.raises(SystemExit) as exited:
        main(["sandbox", "serve", "--rules", str(path), "--db", str(db), "--port", "0"])
    message = err.getvalue().decode()
    assert exited.value.code == 1, message
    assert f"Error: {path}{where}" in message and what in message
    assert f"Fix the rules file {path} and serve again; nothing was served." in message
    assert "Unexpected error" not in message
    assert served == [] and not db.exists()
