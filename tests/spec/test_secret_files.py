"""secretfiles.may_lack: whether a project's specs may give a secret whose variable is
unset, from their text alone (what lets `plan` read a target while the specs load without
calling it before a missing secret is told). Never wrong the other way."""

from __future__ import annotations

from pathlib import Path

import pytest

from asst_deploy.secretref import unset
from asst_deploy.spec.loader import load_project
from asst_deploy.spec.secretfiles import may_lack, secret_includes

VAULT = """\
kind: vault
key: crm
credentials:
  - name: crm-mcp
    auth:
      type: static_bearer
      mcp_server_url: https://crm.example.com/mcp
      token: {from_env: CRM_TOKEN}
"""

AGENTS = "project: p\ntargets:\n  ag: {type: sandbox, api: agents}\ndefault_target: ag\n"


def project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in {"asst-deploy.yaml": "project: p\n", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_the_kinds_that_take_secrets_are_read_from_the_schema() -> None:
    assert set(secret_includes()) == {"vaults/**/*.yaml", "environments/**/*.yaml"}


def test_assistants_alone_give_no_secret(tmp_path: Path) -> None:
    root = project(tmp_path, {"assistants/a.yaml": "kind: assistant\nkey: a\nmodel: gpt-4o\n"})
    assert may_lack(root, {}) is False


@pytest.mark.parametrize(
    "token",
    [
        "{from_env: CRM_TOKEN}",
        '{"from_env": "CRM_TOKEN"}',
        "\n        from_env: CRM_TOKEN  # the CRM's",
    ],
)
def test_a_vaults_secret_lacks_exactly_when_its_variable_is_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    vault = VAULT.replace("{from_env: CRM_TOKEN}", token)
    root = project(tmp_path, {"asst-deploy.yaml": AGENTS, "vaults/crm.yaml": vault})
    monkeypatch.setenv("CRM_TOKEN", "x")
    assert may_lack(root) is False
    assert unset(load_project(root).records) == []
    monkeypatch.delenv("CRM_TOKEN")
    assert may_lack(root) is True
    assert [r.env for r in unset(load_project(root).records)] == ["CRM_TOKEN"]


@pytest.mark.parametrize(
    "files",
    [
        {"asst-deploy.yaml": "project: p\ninclude: ['**/*.yaml']\n"},  # any file, any kind
        {"vaults/crm.yaml": VAULT.replace("{from_env: CRM_TOKEN}", "{from_env: *token}")},
        {"asst-deploy.yaml": "project: p\noverrides: {x: {from_env: NOT_SET}}\n"},
    ],
    ids=["include", "not a plain name", "in the project file"],
)
def test_what_it_cannot_read_counts_as_lacking(tmp_path: Path, files: dict[str, str]) -> None:
    assert may_lack(project(tmp_path, files), {"CRM_TOKEN": "x"}) is True
