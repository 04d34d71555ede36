"""Secrets given as {from_env: NAME}: a digest in plans, the value only for the request,
and a rotation shown as "secret changed" with no value in any form of the plan."""

from __future__ import annotations

import pytest

from asst_deploy import secretref
from asst_deploy.engine import render
from asst_deploy.plan import FieldChange, Plan, Update

TOKEN = "crm-token-4f9d2c7e1b"


def ref() -> secretref.SecretRef:
    return secretref.SecretRef("CRM_TOKEN", "p/vault/crm/credentials.crm-mcp.token")


def test_the_value_is_read_from_the_environment_and_only_a_digest_is_kept() -> None:
    canonical = ref().canonical({"CRM_TOKEN": TOKEN})
    assert TOKEN not in canonical
    assert secretref.parse(canonical) == ("CRM_TOKEN", secretref.digest(TOKEN, ref().scope))
    assert ref().value({"CRM_TOKEN": TOKEN}) == TOKEN
    # the same value elsewhere has another digest
    other = secretref.SecretRef("CRM_TOKEN", "p/vault/other/credentials.crm-mcp.token")
    assert other.canonical({"CRM_TOKEN": TOKEN}) != canonical


def test_a_missing_variable_is_a_user_error_naming_it_and_where_it_goes() -> None:
    with pytest.raises(secretref.MissingSecret, match="CRM_TOKEN is not set: p/vault/crm"):
        ref().canonical({})


def test_is_ref_takes_only_from_env() -> None:
    assert secretref.is_ref({"from_env": "X"})
    assert not secretref.is_ref({"from_env": "X", "value": "y"})
    assert not secretref.is_ref("(secret from $X) 0123456789abcdef")


def plan_of(before: object, after: object) -> Plan:
    change = FieldChange("credentials", before, after)
    update = Update("vault", "crm", "vlt_1", "f", changes=(change,), after={}, before={})
    return Plan(project="p", environment=None, target="t", actions=(update,))


def test_a_rotation_shows_as_secret_changed_and_never_the_digest_or_value() -> None:
    before = [{"name": "crm-mcp", "token": ref().canonical({"CRM_TOKEN": "old-value-1234"})}]
    after = [{"name": "crm-mcp", "token": ref().canonical({"CRM_TOKEN": TOKEN})}]
    shown = render.text(plan_of(before, after))
    assert "credentials: secret changed (from $CRM_TOKEN)" in shown
    assert secretref.parse(after[0]["token"])[1] not in shown  # type: ignore[index]
    markdown = render.markdown(plan_of(before, after))
    assert TOKEN not in shown + markdown + render.to_json(plan_of(before, after))


def test_a_real_change_beside_a_secret_shows_the_secret_by_its_name() -> None:
    secret = ref().canonical({"CRM_TOKEN": TOKEN})
    shown = render.text(plan_of([{"name": "a", "token": secret}], [{"name": "b", "token": secret}]))
    assert "(secret from $CRM_TOKEN)" in shown and "secret changed" not in shown
    assert secretref.parse(secret)[1] not in shown  # type: ignore[index]
