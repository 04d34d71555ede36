"""A conversation's `environment:` and `vaults:`: checked, resolved to deployed ids, stamped."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from asst_deploy import generations
from asst_deploy.conversation.script import Conversation, Script, Session, SpecRef
from asst_deploy.desired import Project
from asst_deploy.generations.sdk.driver_base import SessionPlace
from asst_deploy.kinds import environment_template, vault
from asst_deploy.replay.outcome import ConversationError, Excluded
from asst_deploy.spec import schemacheck
from asst_deploy.state import RemoteState
from asst_deploy.types import Json


@dataclass(frozen=True)
class _Given:
    """What a session field names: a document kind, the resource kind it deploys, and the
    plan key of a document's resource."""

    document: str
    remote: str
    plan_key: Callable[[str], str]


_FIELDS = {
    "environment": _Given(
        "environment", environment_template.NAME, environment_template.declared_key
    ),
    "vaults": _Given("vault", vault.KIND.name, lambda key: key),
}


def _refs(session: Session) -> list[tuple[_Given, SpecRef]]:
    """(what it names, the reference) of every key the session names."""
    found = [(_FIELDS["environment"], session.environment)] if session.environment else []
    return found + [(_FIELDS["vaults"], ref) for ref in session.vaults or ()]


def _named(session: Session) -> list[str]:
    """The fields the session sets (`vaults: []` too)."""
    return [
        field
        for field, value in (("environment", session.environment), ("vaults", session.vaults))
        if value is not None
    ]


def check(script: Script, conversation: Conversation, project: Project, fanned: bool) -> None:
    """Before anything runs: the target's API generation gives sessions an environment and
    vaults, and each key names a spec of the environment. On a generation that has no such
    sessions it is refused at the script's line, unless the run goes over several
    environments (`fanned`: --asst-envs, --parity), where that environment skips it as an
    `exclude:` does: the conversation is the Agents API's by its author's choice."""
    session = conversation.session
    if session is None:
        return
    api = generations.get(project.target.api)
    for field in _named(session):
        reason = api.refused_documents.get(_FIELDS[field].document)
        if reason is None:
            continue
        holders = [
            name
            for name, other in generations.API_GENERATIONS.items()
            if _FIELDS[field].document not in other.refused_documents
        ]
        what = (
            f"conversation '{conversation.name}' gives its session `{field}:`, which target "
            f"'{project.target.name}' ({api.name} API) has no place for: {reason}"
        )
        if fanned:
            raise Excluded(
                f"{session.location}: {what}; not run on this environment",
                "their session takes an environment or vaults a target has no place for",
            )
        raise ConversationError(
            f"{session.location}: {what}; run the script on a target of the "
            f"{' or '.join(holders) or 'no'} API (its `env:`, or --asst-env), or remove "
            f"`{field}:`"
        )
    for given, ref in _refs(session):
        kind = given.document
        keys = [spec.key for spec in project.records.get(kind, ())]
        if ref.key in keys:
            continue
        label = f"{kind} '{ref.key}'"
        excluded = project.exclusion(kind, ref.key)
        if excluded:
            raise ConversationError(
                f"{ref.location}: {excluded}, and conversation '{conversation.name}' gives it "
                "to its session; keep it in the environment, or name another"
            )
        hint = schemacheck.suggest(ref.key, keys) if keys else f"declare it with `kind: {kind}`"
        raise ConversationError(
            f"{ref.location}: the project has no {label} (`kind: {kind}`) in "
            f"{script.display}'s environment; {hint}"
        )


def plan_keys(conversation: Conversation) -> list[str]:
    """The plan keys of what the session is given: a plan of them must be empty too."""
    session = conversation.session
    if session is None:
        return []
    return [given.plan_key(ref.key) for given, ref in _refs(session)]


def resolve(
    conversation: Conversation, project: Project, remote: RemoteState
) -> SessionPlace | None:
    """The deployed ids of what the session is given (the newest of each, should a plan
    have kept an older copy), or None when the script names nothing."""
    session = conversation.session
    if session is None:
        return None

    def deployed(field: str, ref: SpecRef) -> str:
        given = _FIELDS[field]
        key = given.plan_key(ref.key)
        found = [o for o in remote.of(given.remote) if o.owner.of(project.name, key)]
        if not found:
            raise ConversationError(
                f"{ref.location}: {given.document} '{ref.key}' is not deployed on target "
                f"'{project.target.name}'; run `asst-deploy apply` first"
            )
        return str(max(found, key=lambda o: o.created_at).id)

    template = None if session.environment is None else deployed("environment", session.environment)
    vault_ids = (
        None if session.vaults is None else tuple(deployed("vaults", r) for r in session.vaults)
    )
    return SessionPlace(template, vault_ids)


def stamp(conversation: Conversation, place: SessionPlace | None) -> dict[str, Json] | None:
    """What a cassette records of the session: each key with the id it was given."""
    session = conversation.session
    if session is None or place is None:
        return None
    out: dict[str, Json] = {}
    if session.environment is not None:
        out["environment"] = {
            "key": session.environment.key,
            "id": place.environment_template_id,
        }
    if session.vaults is not None:
        ids = place.vault_ids or ()
        out["vaults"] = [
            {"key": ref.key, "id": id} for ref, id in zip(session.vaults, ids, strict=True)
        ]
    return out


def _keys(stamped: Json) -> tuple[str | None, tuple[str, ...] | None]:
    if not isinstance(stamped, Mapping):
        return None, None
    environment = stamped.get("environment")
    vaults = stamped.get("vaults")
    return (
        str(environment["key"]) if isinstance(environment, Mapping) else None,
        tuple(str(v["key"]) for v in vaults) if isinstance(vaults, list) else None,
    )


def _words(keys: tuple[str | None, tuple[str, ...] | None]) -> str:
    environment, vaults = keys
    parts = [f"environment '{environment}'"] if environment is not None else []
    if vaults is not None:
        parts.append(f"vaults [{', '.join(vaults)}]")
    return " and ".join(parts) or "the agent's own environment and vaults"


def recorded(
    conversation: Conversation, info: Mapping[str, Json], shown: Path, hint: str
) -> SessionPlace | None:
    """The ids a recording gave the session, which its replayed requests must send again;
    a cassette recorded with other keys than the script names now is stale."""
    stamped = info.get("session")
    session = conversation.session
    wanted = (
        (None, None)
        if session is None
        else (
            session.environment.key if session.environment else None,
            None if session.vaults is None else tuple(r.key for r in session.vaults),
        )
    )
    had = _keys(stamped)
    if had != wanted:
        where = f" ({session.location})" if session is not None else ""
        raise ConversationError(
            f"cassette {shown} is stale: its session was recorded with {_words(had)}, and "
            f"conversation '{conversation.name}' now gives it {_words(wanted)}{where}; "
            f"re-record it with {hint}"
        )
    if not isinstance(stamped, Mapping):
        return None
    environment = stamped.get("environment")
    vaults = stamped.get("vaults")
    return SessionPlace(
        str(environment["id"]) if isinstance(environment, Mapping) else None,
        tuple(str(v["id"]) for v in vaults) if isinstance(vaults, list) else None,
    )
