"""Agents API vault credentials: one object per credential of a `kind: vault` spec.

Identity: the credential's metadata holds the tags (key `<vault key>/<name>`), as a vector
store's does. Secrets are write-only, so the canonical form holds each secret field as
`(secret from $NAME) <digest>` (asst_deploy/secretref.py), and the credential's metadata
keeps those digests under SECRETS_KEY (`token=CRM_TOKEN:<digest> ...`): the live object's
canonical form is the spec's again, and a changed variable shows as "secret changed".

A secret, an OAuth scope or an expiry changes in place through the credentials' rotate
call (POST .../credentials/{id} with `auth`: CredentialAuthRotateParam); what that call
cannot change (the auth type, the server URL, the variable name, networking, the OAuth
client) is a replace. Credentials are their own kind rather than a field of their vault so
that each has its own stamp (drift), its own action (a rotation is one update of one
object, never of the vault) and its own id for the mcp tools that name it; vaults come
before them in the registry, and agents after.

Export writes a credential into its vault's spec, each secret as `{from_env: NAME}`: the
variable the project's record names, or for a credential of no project the derived
`<VAULT KEY>_<NAME>_<FIELD>` (variable(): upper case, each run of other characters one
'_'; crm/crm-mcp's token reads CRM_CRM_MCP_TOKEN). Import (`<vault key>/<name>`, its vault
the project's already) records the digest of each such variable that is set, taking it to
hold the secret the API never shows; a vault adopted with `adopt:` adopts its credentials
of the names its spec declares (compare()).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from asst_deploy import identity, limits, secretref
from asst_deploy.errors import AsstDeployError
from asst_deploy.kinds import vault
from asst_deploy.kinds.base import Desired, Kind, Writer, Writing, with_protect
from asst_deploy.plan import FieldChange, Update
from asst_deploy.state import RemoteObject, RemoteState
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.desired import CredentialSpec, Project
    from asst_deploy.kinds.ports import Comparing, Exporting

NAME = "vault_credential"
REF_PREFIX = "vault_credential:"
# where a credential keeps its secrets' digests (one metadata pair, reserved by its prefix)
SECRETS_KEY = "asst_deploy.secrets"
# changed in place by the rotate call; any other auth field is fixed at create
_ROTATED = ("token", "secret_value", "access_token", "refresh_token", "client_secret")


def key(vault_key: str, name: str) -> str:
    return f"{vault_key}/{name}"


def variable(credential_key: str, field: str) -> str:
    """The variable an export names for a secret no record names (see the module's doc)."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", f"{credential_key}_{field}").strip("_").upper()
    return name if re.match(secretref.NAME_PATTERN, name) else f"_{name}"


def scope(credential_key: str, field: str) -> str:
    """The digest scope of a secret field, under the project (SecretRef.within)."""
    return f"{NAME}/{credential_key}/{field}"


def secret_fields(kind: str, public: Mapping[str, Any]) -> tuple[str, ...]:
    """The secret fields a credential of auth type `kind` holds."""
    if kind == "static_bearer":
        return ("token",)
    if kind == "environment_variable":
        return ("secret_value",)
    refresh = public.get("refresh")
    if not isinstance(refresh, Mapping):
        return ("access_token",)
    method = (refresh.get("token_endpoint_auth") or {}).get("type")
    return ("access_token", "refresh_token") + (("client_secret",) if method != "none" else ())


def public_form(kind: str, auth: Mapping[str, Any]) -> dict[str, Json]:
    """The non-secret auth fields, flat, as the spec gives them and the API answers them.
    An OAuth credential with refresh has no expiry here: the service refreshes the token
    and keeps the expiry itself."""
    if kind == "static_bearer":
        return {"mcp_server_url": auth.get("mcp_server_url")}
    if kind == "environment_variable":
        networking = dict(auth.get("networking") or {})
        if "allowed_hosts" in networking:
            networking["allowed_hosts"] = sorted(
                str(h).lower() for h in networking["allowed_hosts"]
            )
        return {"secret_name": auth.get("secret_name"), "networking": networking}
    refresh = auth.get("refresh")
    public: dict[str, Json] = {"mcp_server_url": auth.get("mcp_server_url"), "refresh": None}
    if isinstance(refresh, Mapping):
        public["refresh"] = {
            "client_id": refresh.get("client_id"),
            "token_endpoint": refresh.get("token_endpoint"),
            "token_endpoint_auth": {"type": (refresh.get("token_endpoint_auth") or {}).get("type")},
            "resource": refresh.get("resource"),
            "scope": refresh.get("scope"),
        }
    else:
        public["expires_at"] = auth.get("expires_at")
    return public


def form(
    *,
    vault_key: str,
    name: Json,
    kind: str,
    public: Mapping[str, Json],
    secrets: Mapping[str, Json],
    metadata: Mapping[str, Json] | None,
) -> dict[str, Json]:
    user = identity.user_metadata(dict(metadata or {}))
    user.pop(SECRETS_KEY, None)
    return {
        "vault": vault_key,
        "name": name,
        "type": kind,
        **public,
        **{f: secrets.get(f) for f in secret_fields(kind, public)},
        "metadata": user,
    }


def from_spec(project: str, vault_key: str, spec: CredentialSpec) -> dict[str, Json]:
    public = public_form(spec.type, {"type": spec.type, **spec.public})
    return form(
        vault_key=vault_key,
        name=spec.name,
        kind=spec.type,
        public=public,
        secrets={f: ref.within(project).canonical() for f, ref in spec.secrets.items()},
        metadata=spec.metadata,
    )


def record(after: Mapping[str, Json]) -> str:
    """The digests of `after`'s secrets, as its SECRETS_KEY metadata value."""
    parts = []
    for field in sorted(f for f in _ROTATED if f in after):
        found = secretref.parse(after[field])
        if found is not None:
            parts.append(f"{field}={found[0]}:{found[1]}")
    return " ".join(parts)


def recorded(value: Json) -> dict[str, str]:
    """Secret field -> its canonical value, from a SECRETS_KEY metadata value."""
    result: dict[str, str] = {}
    for part in str(value or "").split():
        field, _, rest = part.partition("=")
        env, _, digest = rest.rpartition(":")
        canonical = secretref.canonical(env, digest)
        if field in _ROTATED and secretref.parse(canonical) is not None:
            result[field] = canonical
    return result


def from_remote(data: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Json]:
    vault_id = str(data.get("vault_id"))
    named = names.get(vault_id)
    auth = data.get("auth") or {}
    kind = str(auth.get("type"))
    metadata = data.get("metadata") or {}
    return form(
        vault_key=vault.key_of(named) if named else f"id:{vault_id}",
        name=data.get("name"),
        kind=kind,
        public=public_form(kind, auth),
        secrets=recorded(metadata.get(SECRETS_KEY)),
        metadata=metadata,
    )


def _refresh_fixed(value: Json) -> Json:
    """What of a refresh configuration the rotate call cannot change (all but the scope)."""
    return {k: v for k, v in value.items() if k != "scope"} if isinstance(value, dict) else value


def _spec_auth(auth: Mapping[str, Any], secret: Callable[[str], Json]) -> dict[str, Json]:
    """A live credential's auth as a vault spec gives it, each secret as `secret(field)`."""
    kind = str(auth.get("type"))
    spec: dict[str, Json] = {"type": kind}
    if kind == "environment_variable":
        networking = {k: v for k, v in (auth.get("networking") or {}).items() if v is not None}
        spec.update(
            secret_name=auth.get("secret_name"),
            secret_value=secret("secret_value"),
            networking=networking,
        )
        return spec
    spec["mcp_server_url"] = auth.get("mcp_server_url")
    if kind == "static_bearer":
        spec["token"] = secret("token")
        return spec
    spec["access_token"] = secret("access_token")
    refresh = auth.get("refresh")
    if isinstance(refresh, Mapping):
        method = str((refresh.get("token_endpoint_auth") or {}).get("type"))
        endpoint_auth: dict[str, Json] = {"type": method}
        if method != "none":
            endpoint_auth["client_secret"] = secret("client_secret")
        spec["refresh"] = {
            "client_id": refresh.get("client_id"),
            "refresh_token": secret("refresh_token"),
            "token_endpoint": refresh.get("token_endpoint"),
            "token_endpoint_auth": endpoint_auth,
            **{k: refresh[k] for k in ("resource", "scope") if refresh.get(k) is not None},
        }
    elif auth.get("expires_at") is not None:
        spec["expires_at"] = auth["expires_at"]
    return spec


class VaultCredentialKind(Kind):
    name = NAME
    key_parts = 2  # <vault key>/<name>
    replace_on = ("vault", "name", "type", "mcp_server_url", "secret_name", "networking")

    @property
    def label(self) -> str:
        return "vault credential"

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        return [
            Desired(
                self.name,
                key(v.key, c.name),
                with_protect(from_spec(project.name, v.key, c), v.protect),
                v.protect,
            )
            for v in project.vaults
            for c in v.credentials
        ]

    def keys(self, project: Project) -> dict[str, bool]:
        return {key(v.key, c.name): v.protect for v in project.vaults for c in v.credentials}

    def canonical(self, obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
        return from_remote(obj.data, names)

    def metadata_of(self, after: Mapping[str, Json]) -> dict[str, Json]:
        digests = record(after)
        return {**super().metadata_of(after), **({SECRETS_KEY: digests} if digests else {})}

    def references(self, obj: Any) -> set[str]:
        vault_id = obj.data.get("vault_id")
        return {str(vault_id)} if vault_id else set()

    def ref_name(self, key: str) -> str:
        return REF_PREFIX + key

    # ---- export and import -------------------------------------------------------------

    def exported_as(self, obj: RemoteObject, state: RemoteState) -> str | None:
        vault_id = obj.data.get("vault_id")
        return str(vault_id) if vault_id else None

    def export_name(self, obj: RemoteObject, vault_key: str, own: bool) -> str | None:
        return self.ref_name(key(vault_key, str(obj.data.get("name"))))

    def export_part(self, ex: Exporting, obj: RemoteObject, key: str) -> dict[str, Json]:
        """Its entry in its vault's spec (`key`: the vault's)."""
        name = str(obj.data.get("name"))
        metadata = obj.data.get("metadata") or {}
        # the variables this project's record names; any other credential's are derived
        ours = obj.owner.project == ex.project
        known = {
            field: found[0]
            for field, value in (recorded(metadata.get(SECRETS_KEY)) if ours else {}).items()
            if (found := secretref.parse(value)) is not None
        }
        credential_key = f"{key}/{name}"

        def secret(field: str) -> Json:
            return ex.secret(known.get(field) or variable(credential_key, field))

        entry: dict[str, Json] = {
            "name": name,
            "auth": _spec_auth(obj.data.get("auth") or {}, secret),
        }
        user = identity.user_metadata(dict(metadata))
        user.pop(SECRETS_KEY, None)
        if user:
            entry["metadata"] = user
        return entry

    def import_problem(
        self, obj: RemoteObject, key: str, state: RemoteState, project: str
    ) -> str | None:
        vault_key, _, name = key.partition("/")
        own = str(obj.data.get("name"))
        vault_id = str(obj.data.get("vault_id"))
        held = next((v for v in state.of(vault.KIND.name) if v.id == vault_id), None)
        if held is None or held.owner.project != project:
            return (
                f"its vault {vault_id} is not one of project '{project}': import it first "
                f"(asst-deploy import vault {vault_id} --key <vault key>), then the "
                f"credential as <vault key>/{own}"
            )
        if held.owner.key != vault_key or name != own:
            return (
                f"its key is its vault's and its own name, which cannot change: "
                f"--key {held.owner.key}/{own}"
            )
        user = identity.user_metadata(dict(obj.data.get("metadata") or {}))
        room = limits.METADATA_PAIRS_MAX - len(identity.RESERVED_METADATA_KEYS) - 1
        if len(user) > room:
            return (
                f"it has {len(user)} metadata pairs; a credential keeps at most {room} besides "
                f"asst-deploy's tags and its secrets' digests: remove {len(user) - room} first"
            )
        return None

    def import_tags(
        self,
        obj: RemoteObject,
        key: str,
        project: Project,
        names: Mapping[str, str],
        content: Callable[[], bytes],
    ) -> tuple[dict[str, Json], dict[str, Json]]:
        """The digest of each secret whose variable (the project's spec's, else the one
        export names) is set: taken to hold the secret, which the API never shows."""
        vault_key, _, name = key.partition("/")
        spec = next(
            (
                c
                for v in project.vaults
                if v.key == vault_key
                for c in v.credentials
                if c.name == name
            ),
            None,
        )
        live = from_remote(obj.data, names)
        secrets: dict[str, Json] = {}
        for field in secret_fields(str(live["type"]), live):
            env = (
                spec.secrets[field].env if spec and field in spec.secrets else variable(key, field)
            )
            if env in os.environ:
                ref = secretref.SecretRef(env, scope(key, field)).within(project.name)
                secrets[field] = ref.canonical()
        after = {**live, **secrets}
        digests = record(after)
        return {**after["metadata"], **({SECRETS_KEY: digests} if digests else {})}, after

    def compare(self, comparer: Comparing, wanted: list[Desired], held: set[str]) -> None:
        """A credential of a vault this plan adopts is adopted too, when the vault holds
        one of its name that nobody manages (rather than made anew beside it)."""
        live = comparer.remote.of(self.name)
        ours = {o.owner.key for o in live if o.owner.project == comparer.project}
        adopted = {
            v.id: vault.key_of(comparer.names[v.id])
            for v in comparer.remote.of(vault.KIND.name)
            if v.owner.project is None and v.id in comparer.names
        }
        found: list[Desired] = []
        for d in wanted:
            vault_key, _, name = d.key.partition("/")
            match = next(
                (
                    o
                    for o in live
                    if d.key not in ours
                    and o.owner.project is None
                    and adopted.get(str(o.data.get("vault_id"))) == vault_key
                    and o.data.get("name") == name
                ),
                None,
            )
            if match is not None and d.adopt is None:
                d = dataclasses.replace(d, adopt=match.id)
                comparer.names[match.id] = self.ref_name(d.key)
            found.append(d)
        comparer.objects(self.name, found, live)

    def replace_fields(
        self, changes: Iterable[FieldChange], before: Mapping[str, Json]
    ) -> list[str]:
        changes = list(changes)
        fields = super().replace_fields(changes, before)
        for change in changes:
            if change.field == "refresh" and _refresh_fixed(change.before) != _refresh_fixed(
                change.after
            ):
                fields.append("refresh")
        return fields

    def write(self, run: Writer, action: Writing) -> str:
        if not isinstance(action, Update):
            return super().write(run, action)
        remote_id = str(action.remote_id)
        # the secrets are sent again only when the auth changed: a rotation
        rotate = any(c.field not in ("metadata", "protect") for c in action.changes)
        payload = self.payload(run, action.key, action.after, remote_id)
        if rotate:
            payload["auth"] = _rotation(run, action.key, action.after)
        run.call(
            lambda: run.backend.update(self.name, remote_id, payload),
            landed=run.updated(self.name, remote_id, action.after),
        )
        return remote_id

    def payload(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        vault_key = str(after["vault"])
        vault_name = vault_key if vault_key.startswith("id:") else vault.KIND.ref_name(vault_key)
        payload: dict[str, Json] = {
            "vault_id": run.resolve(vault_name),
            "metadata": run.metadata(self.name, key, after, remote_id),
        }
        if remote_id is None:
            payload["name"] = after["name"]
            payload["auth"] = _creation(run, key, after)
        return payload


def _secret(run: Writer, credential_key: str, after: Mapping[str, Json], field: str) -> str:
    """A secret's value, read from its variable now; it must be what the plan saw."""
    found = secretref.parse(after.get(field))
    if found is None:
        raise AssertionError(f"{NAME} {credential_key}: {field} is not a secret reference")
    env, digest = found
    ref = secretref.SecretRef(env, scope(credential_key, field)).within(run.project)
    value = ref.value()
    if secretref.digest(value, ref.scope) != digest:
        raise AsstDeployError(
            f"{NAME} {credential_key}: the value of ${env} changed since the plan was made; "
            "plan again"
        )
    return value


def _creation(run: Writer, credential_key: str, after: Mapping[str, Json]) -> dict[str, Json]:
    """The auth of a create (CredentialAuthCreateParam)."""
    kind = str(after["type"])
    auth: dict[str, Json] = {"type": kind}
    if kind == "static_bearer":
        auth["mcp_server_url"] = after["mcp_server_url"]
        auth["token"] = _secret(run, credential_key, after, "token")
    elif kind == "environment_variable":
        auth["secret_name"] = after["secret_name"]
        auth["networking"] = after["networking"]
        auth["secret_value"] = _secret(run, credential_key, after, "secret_value")
    else:
        auth["mcp_server_url"] = after["mcp_server_url"]
        auth["access_token"] = _secret(run, credential_key, after, "access_token")
        if after.get("expires_at") is not None:
            auth["expires_at"] = after["expires_at"]
        refresh = after.get("refresh")
        if isinstance(refresh, Mapping):
            method = dict(refresh["token_endpoint_auth"])
            if "client_secret" in after:
                method["client_secret"] = _secret(run, credential_key, after, "client_secret")
            auth["refresh"] = {
                "client_id": refresh["client_id"],
                "token_endpoint": refresh["token_endpoint"],
                "token_endpoint_auth": method,
                "refresh_token": _secret(run, credential_key, after, "refresh_token"),
                **{k: refresh[k] for k in ("resource", "scope") if refresh.get(k) is not None},
            }
    return auth


def _rotation(run: Writer, credential_key: str, after: Mapping[str, Json]) -> dict[str, Json]:
    """The auth of a rotation (CredentialAuthRotateParam): every secret again, and what of
    the rest the call takes (an OAuth expiry, the refresh scope)."""
    kind = str(after["type"])
    auth: dict[str, Json] = {"type": kind}
    if kind == "static_bearer":
        auth["token"] = _secret(run, credential_key, after, "token")
    elif kind == "environment_variable":
        auth["secret_value"] = _secret(run, credential_key, after, "secret_value")
    else:
        auth["access_token"] = _secret(run, credential_key, after, "access_token")
        refresh = after.get("refresh")
        if isinstance(refresh, Mapping):
            rotated: dict[str, Json] = {
                "refresh_token": _secret(run, credential_key, after, "refresh_token"),
                "scope": refresh.get("scope"),
            }
            if "client_secret" in after:
                rotated["token_endpoint_auth"] = {
                    **dict(refresh["token_endpoint_auth"]),
                    "client_secret": _secret(run, credential_key, after, "client_secret"),
                }
            auth["refresh"] = rotated
        else:
            # "Omitting this field preserves the expiry unless a new access token is
            # supplied, in which case the expiry is cleared": always say it
            auth["expires_at"] = after.get("expires_at")
    return auth


KIND = VaultCredentialKind()
