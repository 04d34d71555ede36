"""`kind: vault`: an Agents API vault and its credentials, each secret `{from_env: NAME}`.

A credential is named in the vault by a key-like name, and by `<vault key>/<name>` from an
mcp tool (`credential: crm/crm-mcp`). Its auth mirrors the SDK's
CredentialAuthCreateParam (openai/types/beta/agents/vaults): static_bearer,
environment_variable and mcp_oauth; every secret field takes only `{from_env: NAME}`
(schemacheck words a literal as such, without its value).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from asst_deploy import identity, limits
from asst_deploy.desired import CredentialSpec, VaultSpec
from asst_deploy.kinds import vault_credential
from asst_deploy.secretref import SecretRef
from asst_deploy.spec import checks
from asst_deploy.spec.documents.base import Context, DocumentKind
from asst_deploy.spec.schema import KEY_PATTERN, closed_object
from asst_deploy.yamlpos import JsonPath

if TYPE_CHECKING:
    from asst_deploy.spec.build import Builder
    from asst_deploy.yamlpos import Document

# Credentials keep the digests of their secrets in one metadata pair of their own
# (kinds/vault_credential.py), besides the identity tags.
CREDENTIAL_METADATA_ROOM = limits.METADATA_PAIRS_MAX - len(identity.RESERVED_METADATA_KEYS) - 1
# "Names starting with `CODEX_` ... are reserved" (CreateVaultCredentialAuthParamEnvironmentVariable)
RESERVED_PREFIX = "CODEX_"
HOSTS_MAX = 16  # "The 1 to 16 distinct allowed hostnames or IPv4 addresses"

_SECRET = {"$ref": "#/$defs/secret"}
_HTTPS = {"type": "string", "pattern": "^https://[^\\s/?#]+", "description": "An HTTPS URL."}
_HOST = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$",
    "description": "A hostname or IPv4 address: no scheme, path, port or wildcard.",
}


def _tagged(branches: Mapping[str, dict[str, Any]], required: Mapping[str, tuple[str, ...]]) -> Any:
    """A union tagged by `type`, in the form the tool schemas use (one branch per tag)."""
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": sorted(branches)}},
        "allOf": [
            {
                "if": {"type": "object", "properties": {"type": {"const": tag}}},
                "then": closed_object(
                    {"type": {"const": tag}, **fields}, ("type", *required.get(tag, ()))
                ),
            }
            for tag, fields in branches.items()
        ],
    }


_NETWORKING = _tagged(
    {
        "unrestricted": {},
        "limited": {
            "allowed_hosts": {
                "type": "array",
                "minItems": 1,
                "maxItems": HOSTS_MAX,
                "uniqueItems": True,
                "items": _HOST,
            }
        },
    },
    {"limited": ("allowed_hosts",)},
)
_TOKEN_ENDPOINT_AUTH = _tagged(
    {
        "none": {},
        "client_secret_basic": {"client_secret": _SECRET},
        "client_secret_post": {"client_secret": _SECRET},
    },
    {"client_secret_basic": ("client_secret",), "client_secret_post": ("client_secret",)},
)
_AUTH = _tagged(
    {
        "static_bearer": {"mcp_server_url": _HTTPS, "token": _SECRET},
        "environment_variable": {
            "secret_name": {
                "type": "string",
                "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                "description": "The variable that receives the placeholder in the sandbox.",
            },
            "secret_value": _SECRET,
            "networking": _NETWORKING,
        },
        "mcp_oauth": {
            "mcp_server_url": _HTTPS,
            "access_token": _SECRET,
            "expires_at": {"type": "string", "description": "RFC 3339, if known."},
            "refresh": closed_object(
                {
                    "client_id": {"type": "string", "minLength": 1},
                    "refresh_token": _SECRET,
                    "token_endpoint": _HTTPS,
                    "token_endpoint_auth": _TOKEN_ENDPOINT_AUTH,
                    "resource": {"type": "string"},
                    "scope": {"type": "string"},
                },
                ("client_id", "refresh_token", "token_endpoint", "token_endpoint_auth"),
            ),
        },
    },
    {
        "static_bearer": ("mcp_server_url", "token"),
        "environment_variable": ("secret_name", "secret_value", "networking"),
        "mcp_oauth": ("mcp_server_url", "access_token"),
    },
)
FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": limits.NAME_MAX},
    "metadata": {"$ref": "#/$defs/metadata"},
    "credentials": {
        "type": "array",
        "items": closed_object(
            {
                "name": {
                    "type": "string",
                    "pattern": KEY_PATTERN,
                    "description": "Unique in the vault; an mcp tool names it "
                    "`credential: <vault key>/<name>`.",
                },
                "auth": _AUTH,
                "metadata": {"$ref": "#/$defs/metadata"},
            },
            ("name", "auth"),
        ),
    },
    "protect": {
        "type": "boolean",
        "description": "Refuse to delete or replace this vault and its credentials.",
    },
    "adopt": {"$ref": "#/$defs/adopt"},
}
# secret field of a credential's canonical form -> where the spec's auth gives it
SECRET_FIELDS: dict[str, dict[str, JsonPath]] = {
    "static_bearer": {"token": ("token",)},
    "environment_variable": {"secret_value": ("secret_value",)},
    "mcp_oauth": {
        "access_token": ("access_token",),
        "refresh_token": ("refresh", "refresh_token"),
        "client_secret": ("refresh", "token_endpoint_auth", "client_secret"),
    },
}


def _at(data: Any, path: JsonPath) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _problems(auth: Mapping[str, Any]) -> Iterator[tuple[JsonPath, str, str]]:
    """What the schema cannot say of an auth: (path in it, message, hint)."""
    name = auth.get("secret_name")
    if isinstance(name, str) and name.upper().startswith(RESERVED_PREFIX):
        yield (
            ("secret_name",),
            f"secret_name '{name}' is reserved: names starting with {RESERVED_PREFIX} are the "
            "service's",
            "choose another variable name",
        )
    hosts = _at(auth, ("networking", "allowed_hosts"))
    if isinstance(hosts, list):
        lowered = [str(h).lower() for h in hosts]
        if len(set(lowered)) != len(lowered):
            yield (
                ("networking", "allowed_hosts"),
                "allowed_hosts must be distinct (the API compares them in lower case)",
                "remove the repeated host",
            )
    expires = auth.get("expires_at")
    if isinstance(expires, str) and auth.get("refresh") is not None:
        yield (
            ("expires_at",),
            "expires_at beside refresh: the service refreshes the access token and keeps its "
            "expiry itself, so a plan could not compare it",
            "leave expires_at out, or refresh out for a token that expires for good",
        )
    elif isinstance(expires, str):
        try:
            parsed: dt.datetime | None = dt.datetime.fromisoformat(expires)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None or "T" not in expires.upper():
            yield (
                ("expires_at",),
                f"expires_at '{expires}' is not an RFC 3339 timestamp",
                "write it as 2026-12-31T23:59:59Z",
            )


def _credential(
    builder: Builder, doc: Document, key: str, index: int, raw: Mapping[str, Any]
) -> CredentialSpec | None:
    before = len(builder.problems)
    path: JsonPath = ("credentials", index)
    auth = raw["auth"]
    for sub, message, hint in _problems(auth):
        builder.error(doc, (*path, "auth", *sub), message, hint)
    metadata = raw.get("metadata") or {}
    if isinstance(metadata, dict):
        for sub, message, hint in checks.metadata_findings(metadata):
            if sub:  # a reserved key; the count is checked against a credential's room below
                builder.error(doc, (*path, "metadata", *sub), message, hint, key=True)
        if len(metadata) > CREDENTIAL_METADATA_ROOM:
            builder.error(
                doc,
                (*path, "metadata"),
                f"metadata has {len(metadata)} pairs; a credential holds at most "
                f"{CREDENTIAL_METADATA_ROOM} of yours: asst-deploy keeps its identity and its "
                "secrets' digests in the others",
                "remove some pairs",
            )
    name = raw["name"]
    secrets: dict[str, SecretRef] = {}
    for field, where in SECRET_FIELDS[auth["type"]].items():
        given = _at(auth, where)
        if isinstance(given, dict) and isinstance(given.get("from_env"), str):
            secrets[field] = SecretRef(
                given["from_env"],
                vault_credential.scope(vault_credential.key(key, name), field),
                doc.where((*path, "auth", *where)),
            )
    # the digests' record (kinds/vault_credential.py) must fit one metadata value
    record = " ".join(f"{f}={r.env}:{'0' * 16}" for f, r in secrets.items())
    if len(record) > limits.METADATA_VALUE_MAX:
        builder.error(
            doc,
            (*path, "auth"),
            "the names of this credential's secret variables are too long: their digests "
            f"are kept in one metadata value of at most {limits.METADATA_VALUE_MAX} characters",
            "use shorter environment variable names",
        )
    if len(builder.problems) > before:
        return None
    return CredentialSpec(
        name=name,
        type=auth["type"],
        location=doc.where(path),
        public=vault_credential.public_form(auth["type"], auth),
        secrets=secrets,
        metadata=dict(metadata) if isinstance(metadata, dict) else {},
    )


def build(builder: Builder, doc: Document, context: Context) -> VaultSpec | None:
    data = doc.data
    before = len(builder.problems)
    builder.check_metadata(doc, data.get("metadata"))
    credentials: list[CredentialSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("credentials") or []):
        if not isinstance(raw, dict) or not isinstance(raw.get("auth"), dict):
            continue  # the schema said why
        name = raw.get("name")
        if name in seen:
            builder.error(
                doc,
                ("credentials", i, "name"),
                f"vault '{data['key']}' has two credentials named '{name}'",
                "credential names must be unique within a vault",
            )
            continue
        seen.add(str(name))
        made = _credential(builder, doc, str(data["key"]), i, raw)
        if made is not None:
            credentials.append(made)
    if len(builder.problems) > before:
        return None
    spec = VaultSpec(
        key=data["key"],
        location=doc.where(("key",)),
        name=data.get("name"),
        credentials=tuple(sorted(credentials, key=lambda c: c.name)),
        metadata=dict(data.get("metadata") or {}),
        protect=bool(data.get("protect", False)),
        adopt=data.get("adopt") if isinstance(data.get("adopt"), str) else None,
    )
    return builder.with_adopt(doc, spec, context.target, context.targets)


def parts(data: Any) -> Iterator[str]:
    """What other documents name in a vault: its credentials, as `<vault key>/<name>`."""
    if not isinstance(data, dict):
        return
    for raw in data.get("credentials") or ():
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            yield f"{data.get('key')}/{raw['name']}"


DOCUMENT = DocumentKind(
    name="vault",
    section="vaults",
    fields=FIELDS,
    build=build,
    parts=parts,
)
