"""Vaults and their credentials: secret values are kept in the store, never answered.

A stored credential is its public resource (the SDK's Credential: auth type and its
non-secret fields, name, metadata) plus `_secrets`, the write-only values (tokens, client
secrets, secret values) that `view` drops. No answer holds a secret: error messages name
the field, never its value. Ground truth: the SDK's `types/beta/agents/vault*` and
`vaults/*` types, and OpenAI's Vaults OpenAPI (shared/openai/vaults-openapi.yml) for
status codes.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from asst_deploy.sandbox.apierrors import APIError, not_found
from asst_deploy.sandbox.store import Store
from asst_deploy.sandbox.validation import (
    METADATA,
    Arr,
    Nullable,
    Obj,
    Str,
    Tagged,
    const,
)

VAULT = "vault"
CREDENTIAL = "vault.credential"  # parent: the vault's id
SECRETS = "_secrets"
STATUSES = ("active", "archived")

_METADATA = METADATA.inner  # where the SDK types metadata as a map, never null
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# "Names starting with `CODEX_` and managed proxy or certificate variable names are
# reserved."
_RESERVED_NAMES = frozenset(
    {
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        "PIP_CERT",
    }
)

_CLIENT_AUTH = Tagged(
    {
        "none": const("none"),
        "client_secret_basic": const("client_secret_basic", "client_secret", client_secret=Str()),
        "client_secret_post": const("client_secret_post", "client_secret", client_secret=Str()),
    }
)
_REFRESH = Obj(
    {
        "client_id": Str(),
        "refresh_token": Str(),
        "token_endpoint": Str(),
        "token_endpoint_auth": _CLIENT_AUTH,
        "resource": Nullable(Str()),
        "scope": Nullable(Str()),
    },
    required=["client_id", "refresh_token", "token_endpoint", "token_endpoint_auth"],
)
_NETWORKING = Tagged(
    {
        "unrestricted": const("unrestricted"),
        "limited": const(
            "limited", "allowed_hosts", allowed_hosts=Arr(Str(), min_items=1, max_items=16)
        ),
    }
)
AUTH_CREATE = Tagged(
    {
        "mcp_oauth": const(
            "mcp_oauth",
            "access_token",
            "mcp_server_url",
            access_token=Str(),
            mcp_server_url=Str(),
            expires_at=Nullable(Str()),
            refresh=Nullable(_REFRESH),
        ),
        "static_bearer": const(
            "static_bearer", "token", "mcp_server_url", token=Str(), mcp_server_url=Str()
        ),
        "environment_variable": const(
            "environment_variable",
            "networking",
            "secret_name",
            "secret_value",
            networking=_NETWORKING,
            secret_name=Str(),
            secret_value=Str(),
        ),
    }
)
_ROTATE_CLIENT_AUTH = Tagged(
    {
        "client_secret_basic": const("client_secret_basic", client_secret=Nullable(Str())),
        "client_secret_post": const("client_secret_post", client_secret=Nullable(Str())),
    }
)
AUTH_ROTATE = Tagged(
    {
        "mcp_oauth": const(
            "mcp_oauth",
            access_token=Nullable(Str()),
            expires_at=Nullable(Str()),
            refresh=Nullable(
                Obj(
                    {
                        "refresh_token": Nullable(Str()),
                        "scope": Nullable(Str()),
                        "token_endpoint_auth": Nullable(_ROTATE_CLIENT_AUTH),
                    }
                )
            ),
        ),
        "static_bearer": const("static_bearer", "token", token=Str()),
        "environment_variable": const("environment_variable", "secret_value", secret_value=Str()),
    }
)
CREATE_VAULT = Obj({"metadata": METADATA, "name": Str()})
UPDATE_VAULT = Obj({"metadata": _METADATA, "name": Nullable(Str())})
CREATE_CREDENTIAL = Obj(
    {"auth": AUTH_CREATE, "name": Str(), "metadata": _METADATA}, required=["auth", "name"]
)
UPDATE_CREDENTIAL = Obj({"auth": AUTH_ROTATE, "metadata": _METADATA})


def _invalid(param: str, why: str) -> APIError:
    return APIError(400, f"Invalid '{param}': {why}", param=param, code="invalid_value")


def name(value: str, param: str = "name") -> str:
    """ "The name is trimmed before storage. It must contain 1 to 256 UTF-8 bytes after
    trimming."."""
    trimmed = value.strip()
    if not 1 <= len(trimmed.encode()) <= 256:
        raise _invalid(param, "the name must hold 1 to 256 UTF-8 bytes after trimming.")
    return trimmed


def view(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A stored vault or credential as answered: private keys (secrets) dropped."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def check_ids(store: Store, ids: list[str] | None, param: str) -> list[str]:
    """Vault ids a session or environment names: each must exist (404 naming the entry)."""
    for i, vault_id in enumerate(ids or []):
        if store.get(VAULT, vault_id) is None:
            error = not_found("vault", vault_id)
            error.param = f"{param}[{i}]"
            raise error
    return list(ids or [])


# --- credential auth: public part and secrets ------------------------------------------


def _https(url: str, param: str) -> str:
    if not re.fullmatch(r"https://[^\s/?#]+[^\s]*", url):
        raise _invalid(param, "expected an HTTPS URL.")
    return url


def _timestamp(value: str | None, param: str) -> str | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value.upper():
        raise _invalid(param, "expected an RFC 3339 timestamp such as 2026-12-31T23:59:59Z.")
    return value


def _secret_value(value: str, param: str) -> str:
    if not value or any(c in value for c in "\r\n\x00"):
        raise _invalid(
            param, "the secret must be nonempty, without carriage returns, newlines or NUL bytes."
        )
    return value


def _secret_name(value: str, param: str) -> str:
    if not _SECRET_NAME.fullmatch(value):
        raise _invalid(
            param,
            "use ASCII letters, digits and underscores, starting with a letter or underscore.",
        )
    if value.upper().startswith("CODEX_") or value.upper() in _RESERVED_NAMES:
        raise _invalid(param, f"'{value}' is a reserved variable name.")
    return value


def _host(value: str, param: str) -> str:
    host = value.strip().lower()
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address):
        raise _invalid(param, "IPv6 addresses are not supported.")
    if address is None and not re.fullmatch(
        r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", host
    ):
        raise _invalid(
            param, "expected a hostname or IPv4 address, without scheme, path, port or wildcard."
        )
    return host


def _networking(spec: Mapping[str, Any], param: str) -> dict[str, Any]:
    if spec["type"] == "unrestricted":
        return {"type": "unrestricted"}
    hosts = [_host(h, f"{param}.allowed_hosts[{i}]") for i, h in enumerate(spec["allowed_hosts"])]
    if len(set(hosts)) != len(hosts):
        raise _invalid(f"{param}.allowed_hosts", "the allowed hosts must be distinct.")
    return {"type": "limited", "allowed_hosts": hosts}


def split_auth(
    auth: Mapping[str, Any], param: str = "auth"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new credential's auth: (what is answered, the secrets kept)."""
    kind = auth["type"]
    if kind == "static_bearer":
        public = {
            "type": kind,
            "mcp_server_url": _https(auth["mcp_server_url"], f"{param}.mcp_server_url"),
        }
        return public, {"token": auth["token"]}
    if kind == "environment_variable":
        public = {
            "type": kind,
            "networking": _networking(auth["networking"], f"{param}.networking"),
            "secret_name": _secret_name(auth["secret_name"], f"{param}.secret_name"),
        }
        return public, {
            "secret_value": _secret_value(auth["secret_value"], f"{param}.secret_value")
        }
    secrets = {"access_token": auth["access_token"]}
    public = {
        "type": kind,
        "mcp_server_url": _https(auth["mcp_server_url"], f"{param}.mcp_server_url"),
        "expires_at": _timestamp(auth.get("expires_at"), f"{param}.expires_at"),
        "refresh": None,
    }
    refresh = auth.get("refresh")
    if refresh is not None:
        client_auth = refresh["token_endpoint_auth"]
        public["refresh"] = {
            "client_id": refresh["client_id"],
            "resource": refresh.get("resource"),
            "scope": refresh.get("scope"),
            "token_endpoint": _https(refresh["token_endpoint"], f"{param}.refresh.token_endpoint"),
            "token_endpoint_auth": {"type": client_auth["type"]},
        }
        secrets["refresh_token"] = refresh["refresh_token"]
        if "client_secret" in client_auth:
            secrets["client_secret"] = client_auth["client_secret"]
    return public, secrets


def rotate(credential: dict[str, Any], auth: Mapping[str, Any], param: str = "auth") -> None:
    """Apply a rotation to a stored credential (same auth type; omitted secrets kept)."""
    public, secrets = credential["auth"], credential[SECRETS]
    if auth["type"] != public["type"]:
        raise _invalid(
            f"{param}.type",
            f"the credential's auth type is '{public['type']}' and cannot change "
            f"(got '{auth['type']}'); create a new credential instead.",
        )
    if auth["type"] == "static_bearer":
        secrets["token"] = auth["token"]
        return
    if auth["type"] == "environment_variable":
        secrets["secret_value"] = _secret_value(auth["secret_value"], f"{param}.secret_value")
        return
    if auth.get("access_token") is not None:
        secrets["access_token"] = auth["access_token"]
        # "Omitting this field preserves the expiry unless a new access token is supplied,
        # in which case the expiry is cleared."
        public["expires_at"] = None
    if "expires_at" in auth:
        public["expires_at"] = _timestamp(auth["expires_at"], f"{param}.expires_at")
    refresh = auth.get("refresh")
    if refresh is None:
        return
    if public["refresh"] is None:
        raise _invalid(f"{param}.refresh", "the credential has no refresh configuration to rotate.")
    if refresh.get("refresh_token") is not None:
        secrets["refresh_token"] = refresh["refresh_token"]
    if "scope" in refresh:
        public["refresh"]["scope"] = refresh["scope"]
    client_auth = refresh.get("token_endpoint_auth")
    if client_auth is not None:
        method = public["refresh"]["token_endpoint_auth"]["type"]
        if client_auth["type"] != method:
            raise _invalid(
                f"{param}.refresh.token_endpoint_auth.type",
                f"the token endpoint authentication method is '{method}' and cannot change.",
            )
        if client_auth.get("client_secret") is not None:
            secrets["client_secret"] = client_auth["client_secret"]
