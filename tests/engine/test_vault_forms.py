"""A vault credential's canonical form, with no server: its secrets' digests kept in its
metadata read back as the spec's form, and which changes the rotate call makes in place."""

from __future__ import annotations

from asst_deploy import secretref
from asst_deploy.kinds import vault_credential
from asst_deploy.kinds.vault_credential import KIND, SECRETS_KEY
from asst_deploy.plan import FieldChange
from asst_deploy.spec.mcp import credential_in

TOKEN = secretref.canonical("CRM_TOKEN", "0123456789abcdef")
REFRESH = secretref.canonical("CRM_REFRESH", "fedcba9876543210")


def oauth(scope: str = "read", client_id: str = "asst") -> dict[str, object]:
    public = vault_credential.public_form(
        "mcp_oauth",
        {
            "mcp_server_url": "https://mcp.example.com",
            "refresh": {
                "client_id": client_id,
                "token_endpoint": "https://auth.example.com/token",
                "token_endpoint_auth": {"type": "none"},
                "scope": scope,
            },
        },
    )
    return vault_credential.form(
        vault_key="crm",
        name="oauth",
        kind="mcp_oauth",
        public=public,
        secrets={"access_token": TOKEN, "refresh_token": REFRESH},
        metadata={"team": "a"},
    )


def test_the_digests_in_the_metadata_give_the_specs_form_back() -> None:
    after = oauth()
    metadata = KIND.metadata_of(after)
    assert metadata == {
        "team": "a",
        SECRETS_KEY: "access_token=CRM_TOKEN:0123456789abcdef "
        "refresh_token=CRM_REFRESH:fedcba9876543210",
    }
    live = {
        "id": "cred_1",
        "vault_id": "vault_1",
        "name": "oauth",
        "metadata": metadata,
        "auth": {
            "type": "mcp_oauth",
            "mcp_server_url": "https://mcp.example.com",
            "expires_at": None,
            "refresh": {
                "client_id": "asst",
                "resource": None,
                "scope": "read",
                "token_endpoint": "https://auth.example.com/token",
                "token_endpoint_auth": {"type": "none"},
            },
        },
    }
    assert vault_credential.from_remote(live, {"vault_1": "vault:crm"}) == after
    # without the record (metadata wiped out of band) the secrets read as unknown
    wiped = {**live, "metadata": {"team": "a"}}
    form = vault_credential.from_remote(wiped, {"vault_1": "vault:crm"})
    assert form["access_token"] is None and form["refresh_token"] is None


def test_a_scope_rotates_in_place_and_another_client_replaces() -> None:
    before = oauth()
    scope = FieldChange("refresh", before["refresh"], oauth(scope="write")["refresh"])
    assert KIND.replace_fields([scope], before) == []
    client = FieldChange("refresh", before["refresh"], oauth(client_id="other")["refresh"])
    assert KIND.replace_fields([client], before) == ["refresh"]
    secret = FieldChange("access_token", TOKEN, secretref.canonical("CRM_TOKEN", "1" * 16))
    assert KIND.replace_fields([secret], before) == []
    url = FieldChange("mcp_server_url", "https://a.example.com", "https://b.example.com")
    assert KIND.replace_fields([url], before) == ["mcp_server_url"]


def test_credentials_in_mcp_headers_are_found_by_name_and_by_shape() -> None:
    assert credential_in("Bearer abcdefgh12345678", "Authorization") == "a Bearer token"
    assert credential_in("sk-abcdefgh12345678", "X-Upstream") == "an OpenAI API key (sk-...)"
    assert credential_in("d41d8cd98f00b204", "X-Api-Key") == "a credential"
    assert credential_in("s3cr3t", "X-Auth-Token") == "a credential"
    assert credential_in("<redacted>", "Authorization") is None  # a placeholder
    assert credential_in("sales", "X-Team") is None
    assert credential_in("application/json", "Accept") is None
