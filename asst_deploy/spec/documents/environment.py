"""`kind: environment`: an Agents API environment template, declared (the 3.60 SDK's
TemplateCreateParams).

    kind: environment
    key: analysis
    packages: {python: [pandas==2.3.3], npm: [], system: []}
    network: {access: restricted, allowed_domains: [api.example.com]}  # enabled | disabled
    files: [knowledge/sales.csv]          # project files, mounted at /mnt/data/<path>
    skills: [report-writer, {skill_id: skill_abc, version: "2"}]  # `kind: skill` keys, or ids
    setup_commands: [{command: "python -c 'import pandas'"}]      # cwd: optional
    env: {REGION: eu, WAREHOUSE_TOKEN: {from_env: WAREHOUSE_TOKEN}}

Without `network:` the environment has no network (access: disabled). An env value is
literal text, or a secret read from a variable; a literal that looks like a credential (an
API key, a Bearer token, any value of a variable named like a token, secret or password)
is an error, as is a key in a setup command. An assistant names the environment its agent
runs in with `environment: <key>`; an automation's sessions with `target.new_session.
environment`. How it deploys, and how write-only fields are compared, is
kinds/environment_template.py's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from asst_deploy import secrets
from asst_deploy.desired import EnvironmentSkill, EnvironmentSpec, FileRef
from asst_deploy.kinds import environment_template as template
from asst_deploy.secretref import SecretRef
from asst_deploy.spec import schemacheck
from asst_deploy.spec.documents.base import Context, DocumentKind
from asst_deploy.spec.schema import closed_object

if TYPE_CHECKING:
    from asst_deploy.spec.build import Builder
    from asst_deploy.yamlpos import Document, JsonPath

SKILLS = "skill"  # the document kind its skills name by key
# CreateEnvironmentTemplateParams and its parts (agents-openapi.yml)
FILES_MAX = 50
SKILLS_MAX = 200
SETUP_COMMANDS_MAX = 16
COMMAND_MAX = 65536
CWD_MAX = 4096
ENV_MAX = 1024
ENV_NAME_MAX = 256
ENV_VALUE_MAX = 1048576
SKILL_ID_MAX = 64
SKILL_VERSION = r"^([1-9][0-9]*|latest)$"  # "a positive integer or `latest`"
# variable names that say their value is a secret (narrower than an mcp header's: an
# environment's SESSION_TIMEOUT or AUTH_MODE is configuration)
_SECRET_NAME = re.compile(r"token|secret|passw(or)?d|api[-_]?key|private[-_]?key", re.I)

_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}}
_DOMAINS = {
    "type": "array",
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "pattern": r"^[^\s/:]+$"},
    "description": "Domain names: no scheme, path or port.",
}
FIELDS: dict[str, Any] = {
    "packages": closed_object(
        {manager: _NAMES for manager in template.PACKAGE_MANAGERS},
        description="Packages installed in each new environment (before the network policy "
        "applies).",
    ),
    "network": closed_object(
        {
            "access": {"enum": ["enabled", "disabled", "restricted"]},
            "allowed_domains": {
                **_DOMAINS,
                "description": "With access: restricted, the domains it may reach.",
            },
            "blocked_domains": {
                **_DOMAINS,
                "description": "With access: restricted and no allowed_domains, the domains "
                "it may not reach (no wildcards; write-only).",
            },
        },
        ("access",),
        description="Network access once setup is done (default: access: disabled).",
    ),
    "files": {
        "type": "array",
        "maxItems": FILES_MAX,
        "uniqueItems": True,
        "items": {"type": "string", "minLength": 1},
        "description": "Project files, each mounted at /mnt/data/<path>.",
    },
    "skills": {
        "type": "array",
        "maxItems": SKILLS_MAX,
        "items": {
            "oneOf": [
                {"$ref": "#/$defs/key", "description": "A `kind: skill` document's key."},
                closed_object(
                    {
                        "skill_id": {"type": "string", "minLength": 1, "maxLength": SKILL_ID_MAX},
                        "version": {"type": "string", "pattern": SKILL_VERSION},
                    },
                    ("skill_id",),
                    description="A skill by id (default: its default version).",
                ),
            ]
        },
    },
    "setup_commands": {
        "type": "array",
        "maxItems": SETUP_COMMANDS_MAX,
        "items": closed_object(
            {
                "command": {"type": "string", "minLength": 1, "maxLength": COMMAND_MAX},
                "cwd": {"type": "string", "pattern": "^/", "maxLength": CWD_MAX},
            },
            ("command",),
        ),
        "description": "Run in order before the agent starts (write-only: plans show a digest).",
    },
    "env": {
        "type": "object",
        "maxProperties": ENV_MAX,
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": ENV_NAME_MAX},
        "additionalProperties": {
            "oneOf": [{"type": "string", "maxLength": ENV_VALUE_MAX}, {"$ref": "#/$defs/secret"}]
        },
        "description": "Environment variables: text, or {from_env: NAME} for a secret "
        "(write-only: plans show a digest).",
    },
    "protect": {"type": "boolean", "description": "Refuse to delete or replace this resource."},
    "adopt": {"$ref": "#/$defs/adopt"},
}


def credential_in(value: str, name: str = "") -> str | None:
    """What credential `value` (of variable `name`) looks like, or None (never the value)."""
    if secrets.API_KEY.search(value):
        return "an OpenAI API key (sk-...)"
    if any(not secrets.is_placeholder(m["token"]) for m in secrets.BEARER.finditer(value)):
        return "a Bearer token"
    if name and _SECRET_NAME.search(name) and not secrets.is_placeholder(value):
        return "a secret (its name says so)"
    return None


def _network(builder: Builder, doc: Document, network: Any) -> dict[str, Any]:
    """The network policy, with what the schema cannot say checked (the SDK's rules for
    blocked_domains; allowed_domains only mean something when access is restricted)."""
    if not isinstance(network, dict) or "access" not in network:
        return {}
    access = network["access"]
    allowed = network.get("allowed_domains") or []
    blocked = network.get("blocked_domains") or []
    if allowed and access != "restricted":
        builder.error(
            doc,
            ("network", "allowed_domains"),
            f"allowed_domains with access: {access}: they apply only to access: restricted",
            "set access: restricted, or remove allowed_domains",
        )
    if blocked and access != "restricted":
        builder.error(
            doc,
            ("network", "blocked_domains"),
            f"blocked_domains with access: {access}: they need access: restricted",
            "set access: restricted, or remove blocked_domains",
        )
    if blocked and allowed:
        builder.error(
            doc,
            ("network", "blocked_domains"),
            "blocked_domains and allowed_domains together: the API takes one or the other",
            "list the domains it may reach (allowed_domains) or those it may not (blocked_domains)",
        )
    for i, domain in enumerate(blocked):
        if "*" in str(domain):
            builder.error(
                doc,
                ("network", "blocked_domains", i),
                f"blocked domain '{domain}' has a wildcard, which the API does not support",
                "list each domain",
            )
    return {"access": access, "allowed_domains": list(allowed), "blocked_domains": list(blocked)}


def _skills(
    builder: Builder, doc: Document, given: Any, context: Context
) -> list[EnvironmentSkill]:
    declared = context.declared.get(SKILLS, frozenset())
    excluded = context.excluded.get(SKILLS, frozenset())
    this = doc.data["key"]
    found: list[EnvironmentSkill] = []
    seen: set[str] = set()
    for i, entry in enumerate(given or []):
        path: JsonPath = ("skills", i)
        if isinstance(entry, dict):
            found.append(EnvironmentSkill(skill_id=entry["skill_id"], version=entry.get("version")))
            continue
        if entry in seen:
            builder.error(doc, path, f"skill '{entry}' is named twice", "name it once")
            continue
        seen.add(entry)
        if entry in excluded:
            builder.error(
                doc,
                path,
                f"skill '{entry}' is excluded from this environment",
                f"exclude environment '{this}' too (exclude: {{environments: [{this}]}}), or "
                "keep the skill",
            )
        elif entry not in declared:
            builder.error(
                doc,
                path,
                f"unknown skill '{entry}'",
                schemacheck.suggest(entry, sorted(declared))
                if declared
                else "declare it with 'kind: skill' (a folder holding SKILL.md), or name a "
                "skill by id: {skill_id: ..., version: ...}",
            )
        found.append(EnvironmentSkill(key=entry))
    return found


def _files(builder: Builder, doc: Document, given: Any) -> list[FileRef]:
    refs = []
    for i, name in enumerate(given or []):
        if any(c in name for c in "*?["):
            builder.error(
                doc, ("files", i), f"'{name}' is a glob: name each file", "list the files"
            )
            continue
        ref = builder.file_ref(doc, ("files", i), name)
        if ref is not None:
            refs.append(ref)
    return refs


def _env(builder: Builder, doc: Document, given: Any) -> dict[str, str | SecretRef]:
    key = template.declared_key(str(doc.data["key"]))
    env: dict[str, str | SecretRef] = {}
    for name, value in (given or {}).items():
        path: JsonPath = ("env", name)
        if isinstance(value, dict):
            scope = template.secret_scope(key, name)
            env[name] = SecretRef(value["from_env"], scope, doc.where(path))
            continue
        looks = credential_in(value, name)
        if looks is not None:
            builder.error(
                doc,
                path,
                f"env {name} is {looks}, written in the spec: a secret is given only as "
                "{from_env: NAME}, never as a value",
                f"write '{name}: {{from_env: NAME}}' and set the variable NAME where plan and "
                "apply run; its value never appears in a plan or output",
            )
            continue
        env[name] = value
    return env


def _commands(builder: Builder, doc: Document, given: Any) -> list[dict[str, Any]]:
    commands = []
    for i, entry in enumerate(given or []):
        looks = credential_in(entry["command"])
        if looks is not None:
            builder.error(
                doc,
                ("setup_commands", i, "command"),
                f"setup command {i} holds {looks}, written in the spec: a secret is given "
                "only as {from_env: NAME}, never as a value",
                "put the secret in env as {from_env: NAME} and use $VARIABLE in the command",
            )
            continue
        commands.append({k: entry[k] for k in ("command", "cwd") if k in entry})
    return commands


def _name_fits(
    builder: Builder, doc: Document, env: dict[str, str | SecretRef], context: Context
) -> None:
    secrets = [v.env for v in env.values() if isinstance(v, SecretRef)]
    length = template.name_length(context.variables.get("project", ""), doc.data["key"], secrets)
    if length > template.NAME_MAX:
        builder.error(
            doc,
            ("env",) if secrets else ("key",),
            f"environment '{doc.data['key']}' would need a template name of {length} "
            f"characters; the API takes {template.NAME_MAX}: the name carries the project, "
            "the key and the digests of what the API never answers (each env secret's among "
            "them)",
            "use shorter variable names, fewer secret variables, or a shorter key",
        )


def build(builder: Builder, doc: Document, context: Context) -> EnvironmentSpec | None:
    data = doc.data
    before = len(builder.problems)
    network = _network(builder, doc, data.get("network"))
    skills = _skills(builder, doc, data.get("skills"), context)
    files = _files(builder, doc, data.get("files"))
    env = _env(builder, doc, data.get("env"))
    commands = _commands(builder, doc, data.get("setup_commands"))
    _name_fits(builder, doc, env, context)
    if len(builder.problems) > before:
        return None
    packages = data.get("packages") or {}
    spec = EnvironmentSpec(
        key=data["key"],
        location=doc.where(("key",)),
        packages={m: tuple(packages.get(m) or ()) for m in template.PACKAGE_MANAGERS},
        network=network,
        files=tuple(files),
        skills=tuple(skills),
        setup_commands=tuple(commands),
        env=env,
        protect=bool(data.get("protect", False)),
        adopt=data.get("adopt") if isinstance(data.get("adopt"), str) else None,
    )
    return builder.with_adopt(doc, spec, context.target, context.targets)


DOCUMENT = DocumentKind(name="environment", section="environments", fields=FIELDS, build=build)
