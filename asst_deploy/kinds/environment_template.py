"""Agents API environment templates: where an agent runs code, derived or declared.

Derived: an assistant spec with code_interpreter (and no `environment:`) deploys, on an
agents target, a template of the same key holding its code_interpreter files (by file_id,
each at /mnt/data/<project path>, where the Assistants code interpreter put them too).

Declared: a `kind: environment` document deploys a template of key `environment/<key>`
(DECLARED), which no assistant key can be (a spec key has no '/'), so the two never
collide, and an assistant named like an environment keeps its own. Its fields are the
document's: packages, network, files (mounted as above), skills (the project's by key, or
any by id), setup_commands and env. An assistant spec naming `environment: <key>` deploys
an agent that runs in it and no derived template.

Either way the agent names its template's id in its metadata, and templates have no
metadata: their identity is their name, ``{project}~{key}~{hash}`` (see identity.py), as a
file's is its filename. A declared template's name carries the environment's key there,
then ` environment` and the record of what the API never answers (see below).

Write-only fields: the API answers no env, no setup commands and no blocked domains. The
canonical form, which is compared, hashed into the stamp and read back from the live
template, holds them as digests: `(write-only) <8 hex>` (HMAC keyed by the template's key
and field) for the env's names and literal values, the setup commands and the blocked
domains, and each env secret as its `(secret from $NAME) <digest>` (asst_deploy/secretref.py)
in `env_secrets`; the template's name records those digests (`e=`, `c=`, `b=`, `$NAME=`),
so the live template's form is the specs' again, a rotated variable shows as "secret
changed" and an edited command as a changed digest, never as a value. What a plan creates
or updates carries the specs' full values (secrets as their canonical strings, read from
the environment only for the request): compare() hands the engine the digest forms and
puts the full ones in the actions. A rotation is an update of the template in place. An
edit of a write-only field outside asst-deploy cannot be seen. The name holds 256
characters: validate checks that a declared environment's record fits.

Export writes a declared template, or one of no project that is more than an agent's
code_interpreter files, as a `kind: environment` spec: what the API answers (packages,
network access and allowed domains, files, skills by key or id), never the write-only
fields, which it names in a warning (an apply of the spec without them clears them).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from asst_deploy import identity, secretref
from asst_deploy.errors import AsstDeployError
from asst_deploy.kinds import skill
from asst_deploy.kinds.base import Desired, Kind, Writer, file_ref, with_protect
from asst_deploy.plan import Create, Replace, Update
from asst_deploy.state import RemoteObject, RemoteState
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.desired import AssistantSpec, EnvironmentSpec, Project
    from asst_deploy.kinds.ports import Comparing, Exporting

NAME = "environment_template"
MOUNT = "/mnt/data/"
# how other objects' canonical forms name a template: apart from vector store keys
REF_PREFIX = "environment_template:"
# a declared template: its key, and how other objects' forms name it (an agent's
# environment_template, an automation's target.environment)
DECLARED = "environment/"
DECLARED_REF_PREFIX = "environment:"
# a declared template's name: after its identity tags, this word, then its record
MARK = "environment"
RECORD_KEY = "asst_deploy.write_only"  # the record, in the mapping tags() answers
NAME_MAX = 256  # CreateEnvironmentTemplateParams.name: "maxLength: 256"
WRITE_ONLY = "(write-only)"
PACKAGE_MANAGERS = ("npm", "python", "system")
DEFAULT_ACCESS = "disabled"  # a declared environment without `network:` (the GA default)
# record token -> the field of the digest form it holds the digest of
_TOKENS = {"e": ("env",), "c": ("setup_commands",), "b": ("network", "blocked_domains")}
_UNREAD = {"e": "env", "c": "setup_commands", "b": "network.blocked_domains"}
# what a template made with files alone has (the service's default network)
_FILES_ONLY_ACCESS = "enabled"


def runs_code(spec: AssistantSpec) -> bool:
    return any(t.get("type") == "code_interpreter" for t in spec.tools)


def derives(spec: AssistantSpec) -> bool:
    """Whether the spec deploys a template of its own (on agents: it runs code, and names
    no declared environment)."""
    return runs_code(spec) and not spec.environment


def declared_key(environment: str) -> str:
    return DECLARED + environment


def for_assistant(spec: AssistantSpec) -> str | None:
    """What an agent's canonical form names as its template: a declared environment's
    logical name, the derived template's key, or None."""
    if spec.environment:
        return DECLARED_REF_PREFIX + spec.environment
    return spec.key if runs_code(spec) else None


def logical_name(value: str) -> str:
    """The logical name (what apply resolves to an id) of what an agent's form names."""
    if value.startswith(("id:", DECLARED_REF_PREFIX)):
        return value
    return REF_PREFIX + value


def declared_environment(template: RemoteObject | None) -> str | None:
    """The environment key of a live declared template (None: not one)."""
    parsed = _parsed_name(str(template.data.get("name") or "")) if template is not None else None
    if parsed is None or parsed[1] is None:
        return None
    return parsed[0][identity.SPEC_KEY].removeprefix(DECLARED)


def secret_scope(key: str, variable: str) -> str:
    """The digest scope of an env secret, under the project (SecretRef.within)."""
    return f"{NAME}/{key}/env/{variable}"


def form(files: list[tuple[str, str]]) -> dict[str, Json]:
    """A derived template's form. `files`: (logical file name, path in the environment)."""
    return {"files": [{"file": f, "path": p} for f, p in sorted(files, key=lambda e: e[1])]}


# ---- declared environments: the full form (the specs') and the digest form ---------------


def declared_form(spec: EnvironmentSpec, project: str, shas: Mapping[str, str]) -> dict[str, Json]:
    """The full form of a `kind: environment` document: every value, secrets as their
    canonical strings (each SecretRef's scope is secret_scope's)."""
    network: dict[str, Json] = {
        "access": spec.network.get("access") or DEFAULT_ACCESS,
        "allowed_domains": list(spec.network.get("allowed_domains") or []),
    }
    if spec.network.get("blocked_domains"):
        network["blocked_domains"] = list(spec.network["blocked_domains"])
    env: dict[str, Json] = {
        name: value if isinstance(value, str) else value.within(project).canonical()
        for name, value in sorted(spec.env.items())
    }
    return {
        "packages": {m: list(spec.packages.get(m, ())) for m in PACKAGE_MANAGERS},
        "network": network,
        "files": form([(file_ref(f.path, shas[f.path]), MOUNT + f.path) for f in spec.files])[
            "files"
        ],
        "skills": [
            {"skill": s.key}
            if s.key is not None
            else {"skill_id": s.skill_id, "version": s.version}
            for s in spec.skills
        ],
        "setup_commands": [dict(c) for c in spec.setup_commands] or None,
        "env": env or None,
        "env_secrets": None,
    }


def is_declared(after: Mapping[str, Json]) -> bool:
    return "packages" in after


def _write_only(key: str, field: str, value: Json) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{WRITE_ONLY} {secretref.digest(text, f'{NAME}/{key}/{field}')[:8]}"


def digest_form(after: Mapping[str, Json], key: str) -> dict[str, Json]:
    """`after` with its write-only values as digests (a digest form as it is)."""
    if not is_declared(after):
        return dict(after)
    out = dict(after)
    network = dict(after.get("network") or {})
    if isinstance(network.get("blocked_domains"), list):
        network["blocked_domains"] = _write_only(key, "blocked_domains", network["blocked_domains"])
    out["network"] = network
    if isinstance(after.get("setup_commands"), list):
        out["setup_commands"] = _write_only(key, "setup_commands", after["setup_commands"])
    env = after.get("env")
    if isinstance(env, Mapping):
        shape: dict[str, Json] = {}
        secrets: list[str] = []
        for name, value in env.items():
            found = secretref.parse(value)
            shape[name] = {"from_env": found[0]} if found else value
            if found:
                secrets.append(str(value))
        out["env"] = _write_only(key, "env", shape)
        out["env_secrets"] = sorted(secrets) or None
    return out


def _at(data: Mapping[str, Json], path: tuple[str, ...]) -> Json:
    value: Json = dict(data)
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def record(digests: Mapping[str, Json]) -> str:
    """What a declared template's name records of a digest form: the write-only digests."""
    tokens = []
    for token, path in _TOKENS.items():
        value = _at(digests, path)
        if isinstance(value, str) and value.startswith(WRITE_ONLY):
            tokens.append(f"{token}={value.split()[-1]}")
    for value in digests.get("env_secrets") or []:
        found = secretref.parse(value)
        if found:
            tokens.append(f"${found[0]}={found[1]}")
    return " ".join(tokens)


def recorded(text: str) -> tuple[dict[str, str], list[str]]:
    """(token -> write-only digest string, env secrets' canonical strings) of a record."""
    digests: dict[str, str] = {}
    secrets: list[str] = []
    for part in text.split():
        token, _, value = part.partition("=")
        if token.startswith("$"):
            secrets.append(secretref.canonical(token[1:], value))
        elif token in _TOKENS:
            digests[token] = f"{WRITE_ONLY} {value}"
    return digests, secrets


def name_length(project: str, environment: str, secrets: list[str]) -> int:
    """The longest name a declared template of these secret variables gets (every
    write-only digest, protect and a proof of authorship included)."""
    stamp = "0" * 16 + identity.PROTECT_SUFFIX + identity.PROOF_SEPARATOR + "0" * 16
    tags = {identity.PROJECT_KEY: project, identity.SPEC_KEY: environment, identity.HASH_KEY: stamp}
    tokens = [f"{t}={'0' * 8}" for t in _TOKENS] + [f"${s}={'0' * 16}" for s in secrets]
    return len(" ".join([identity.template_name(tags), MARK, *tokens]))


def _live_declared(data: Mapping[str, Any], names: Mapping[str, str], text: str) -> dict[str, Json]:
    """A declared template's digest form, from what the API answers and its name's record."""
    digests, secrets = recorded(text)
    given = data.get("network") or {}
    network: dict[str, Json] = {
        "access": given.get("access"),
        "allowed_domains": list(given.get("allowed_domains") or []),
    }
    if "b" in digests:
        network["blocked_domains"] = digests["b"]
    packages = data.get("packages") or {}
    files: list[tuple[str, str]] = []
    inline: list[Json] = []
    for f in data.get("files") or []:
        if f.get("type") == "inline":
            inline.append({"inline": f.get("path"), "bytes": f.get("size_bytes")})
        else:
            files.append(
                (names.get(f.get("file_id"), f"id:{f.get('file_id')}"), str(f.get("path")))
            )
    skills: list[Json] = []
    for s in data.get("skills") or []:
        name = names.get(str(s.get("skill_id")), "") if s.get("type") == "skill_reference" else ""
        if s.get("type") != "skill_reference":
            skills.append({"inline": s.get("name")})
        elif name.startswith(skill.REF_PREFIX) and s.get("version") is None:
            skills.append({"skill": name.removeprefix(skill.REF_PREFIX)})
        else:
            skills.append({"skill_id": s.get("skill_id"), "version": s.get("version")})
    found: dict[str, Json] = {
        "packages": {m: list(packages.get(m) or []) for m in PACKAGE_MANAGERS},
        "network": network,
        "files": [*form(files)["files"], *inline],
        "skills": skills,
        "setup_commands": digests.get("c"),
        "env": digests.get("e"),
        "env_secrets": sorted(secrets) or None,
    }
    # what a spec cannot set: shown when set outside asst-deploy (an update clears it)
    if data.get("capability_directories"):
        found["capability_directories"] = list(data["capability_directories"])
    if data.get("plugins"):
        found["plugins"] = [p.get("name") for p in data["plugins"]]
    if (data.get("desktop") or {}).get("enabled"):
        found["desktop"] = True
    return found


def _parsed_name(name: str) -> tuple[dict[str, str], str | None] | None:
    """(identity tags, the record of a declared template or None) of a template's name;
    None for a name that carries no tags."""
    core, _, rest = name.partition(" ")
    tags = identity.parse_template_name(core)
    if tags is None:
        return None
    if not rest:
        return tags, None
    mark, _, text = rest.partition(" ")
    if mark != MARK:
        return None
    tags[identity.SPEC_KEY] = declared_key(tags[identity.SPEC_KEY])
    return tags, text


def _user(template: RemoteObject, state: RemoteState) -> RemoteObject | None:
    """The first agent whose metadata names the template."""
    return next(
        (
            a
            for a in state.of("agent")
            if (a.data.get("metadata") or {}).get(identity.TEMPLATE_KEY) == template.id
        ),
        None,
    )


def _files_only(data: Mapping[str, Any]) -> bool:
    """Whether a template holds nothing but mounted files (what code_interpreter makes)."""
    packages = data.get("packages") or {}
    network = data.get("network") or {}
    return (
        not any(packages.get(m) for m in PACKAGE_MANAGERS)
        and not data.get("skills")
        and all(f.get("type") != "inline" for f in data.get("files") or [])
        and network.get("access", _FILES_ONLY_ACCESS) == _FILES_ONLY_ACCESS
        and not network.get("allowed_domains")
        and not data.get("capability_directories")
        and not data.get("plugins")
        and not (data.get("desktop") or {}).get("enabled")
    )


def _mounted(path: str) -> str | None:
    """The project path of a file mounted at `path` (None: not where a spec mounts one)."""
    rel = PurePosixPath(path.removeprefix(MOUNT))
    if not path.startswith(MOUNT) or rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    return rel.as_posix()


class EnvironmentTemplateKind(Kind):
    name = NAME
    exports = True
    spec_kind = "environment"

    # ---- the specs' side -------------------------------------------------------------

    def desired(self, project: Project, shas: Mapping[str, str]) -> list[Desired]:
        derived = [
            Desired(
                self.name,
                a.key,
                with_protect(
                    form(
                        [
                            (file_ref(f.path, shas[f.path]), MOUNT + f.path)
                            for f in a.code_interpreter_files
                        ]
                    ),
                    a.protect,
                ),
                a.protect,
            )
            for a in project.assistants
            if derives(a)
        ]
        declared = [
            Desired(
                self.name,
                declared_key(e.key),
                with_protect(declared_form(e, project.name, shas), e.protect),
                e.protect,
                e.adopt,
            )
            for e in project.environment_specs
        ]
        return derived + declared

    def keys(self, project: Project) -> dict[str, bool]:
        return {a.key: a.protect for a in project.assistants if derives(a)} | {
            declared_key(e.key): e.protect for e in project.environment_specs
        }

    # ---- the remote side -------------------------------------------------------------

    def canonical(self, obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
        parsed = _parsed_name(str(obj.data.get("name") or ""))
        if parsed is not None and parsed[1] is not None:
            return _live_declared(obj.data, names, parsed[1])
        if parsed is None and not _files_only(obj.data):
            # of no project, and more than files: what an environment spec would adopt
            return _live_declared(obj.data, names, "")
        files = [
            (names.get(f.get("file_id"), f"id:{f.get('file_id')}"), str(f.get("path")))
            for f in obj.data.get("files") or []
        ]
        return form(files)

    def tags(self, data: Mapping[str, Json]) -> Mapping[str, Json] | None:
        parsed = _parsed_name(str(data.get("name") or ""))
        if parsed is None:
            return None
        tags, text = parsed
        return tags if text is None else {**tags, RECORD_KEY: text}

    def tag_payload(self, tags: Mapping[str, Json]) -> dict[str, Json]:
        key = str(tags[identity.SPEC_KEY])
        if not key.startswith(DECLARED):
            return {"name": identity.template_name(tags)}
        core = identity.template_name({**tags, identity.SPEC_KEY: key.removeprefix(DECLARED)})
        text = str(tags.get(RECORD_KEY) or "")
        return {"name": " ".join(part for part in (core, MARK, text) if part)}

    def metadata_of(self, after: Mapping[str, Json]) -> dict[str, Json]:
        """A declared template's record of digests (`after` in digest form: see write)."""
        return {RECORD_KEY: record(after)} if is_declared(after) else {}

    def references(self, obj: Any) -> set[str]:
        files = {str(f["file_id"]) for f in obj.data.get("files") or [] if f.get("file_id")}
        skills = {str(s["skill_id"]) for s in obj.data.get("skills") or [] if s.get("skill_id")}
        return files | skills

    def ref_name(self, key: str) -> str:
        if key.startswith(DECLARED):
            return DECLARED_REF_PREFIX + key.removeprefix(DECLARED)
        return REF_PREFIX + key

    # ---- export ----------------------------------------------------------------------

    def exported_as(self, obj: RemoteObject, state: RemoteState) -> str | None:
        """A derived template goes with its agent (as its code_interpreter files), and so
        does one of no project holding files alone; any other is an environment spec."""
        parsed = _parsed_name(str(obj.data.get("name") or ""))
        if parsed is not None and parsed[1] is not None:
            return obj.id
        user = _user(obj, state)
        if parsed is not None or (user is not None and _files_only(obj.data)):
            return user.id if user is not None else None
        return obj.id

    def spec_key(self, key: str) -> str:
        return key.removeprefix(DECLARED)

    def export_name(self, obj: RemoteObject, key: str, own: bool) -> str | None:
        return DECLARED_REF_PREFIX + key if own else REF_PREFIX + key

    def export(self, ex: Exporting, obj: RemoteObject) -> None:
        """As a `kind: environment` spec: what the API answers of it."""
        key = ex.result.keys[obj.id]
        doc = ex.header(MARK, key, obj)
        parsed = _parsed_name(str(obj.data.get("name") or ""))
        text = parsed[1] if parsed is not None and parsed[1] is not None else None
        found = _live_declared(obj.data, ex.names, text or "")
        packages = {m: v for m, v in dict(found["packages"] or {}).items() if v}
        if packages:
            doc["packages"] = packages
        network = dict(found["network"] or {})
        if network["access"] != DEFAULT_ACCESS or network["allowed_domains"]:
            doc["network"] = {k: network[k] for k in ("access", "allowed_domains") if network[k]}
        unread: list[str] = []
        files: list[Json] = []
        for f in obj.data.get("files") or []:
            at = _mounted(str(f.get("path")))
            if f.get("type") == "inline" or at is None or not f.get("file_id"):
                unread.append(f"file {f.get('path')} (inline, or not mounted under {MOUNT})")
                continue
            files.append(ex.local_file(str(f["file_id"]), "knowledge", at))
        if files:
            doc["files"] = files
        skills: list[Json] = []
        for entry in found["skills"] or []:
            assert isinstance(entry, Mapping)
            if "skill" in entry:
                skills.append(entry["skill"])
            elif "skill_id" in entry:
                by_id = {"skill_id": entry["skill_id"]}
                skills.append(
                    by_id
                    if entry.get("version") is None
                    else {**by_id, "version": entry["version"]}
                )
            else:
                unread.append(f"inline skill {entry.get('inline')}")
        if skills:
            doc["skills"] = skills
        unread += [f for f in ("capability_directories", "plugins", "desktop") if f in found]
        if text is None:
            unread.append("env, setup_commands and blocked domains, if it has any")
        else:
            digests, secrets = recorded(text)
            unread += [_UNREAD[t] for t in _UNREAD if t in digests]
            variables = [ref[0] for v in secrets if (ref := secretref.parse(v))]
            unread += [f"env secret from ${v}" for v in variables]
        if unread:
            ex.result.warnings.append(
                f"environment '{key}': the API does not answer its {'; '.join(unread)}: "
                f"add them to environments/{key}.yaml, or the apply of that spec clears them"
            )
        ex.spec("environments", key, doc)

    def summary(self, after: Mapping[str, Json]) -> str | None:
        if is_declared(after):
            return None
        files = len(after.get("files") or [])
        return f"where the agent of this key runs code, with {files} file(s)"

    # ---- the plan --------------------------------------------------------------------

    def compare(self, comparer: Comparing, wanted: list[Desired], held: set[str]) -> None:
        """Compared as digest forms (what the live template gives back); what the plan
        creates or updates carries the full form, which apply sends."""
        full = {d.key: d.canonical for d in wanted}
        start = len(comparer.actions)
        comparer.objects(
            self.name,
            [dataclasses.replace(d, canonical=digest_form(d.canonical, d.key)) for d in wanted],
            comparer.remote.of(self.name),
        )
        for i in range(start, len(comparer.actions)):
            action = comparer.actions[i]
            if not isinstance(action, Create | Update | Replace) or action.kind != self.name:
                continue
            if action.key in full and not (isinstance(action, Update) and action.refresh):
                comparer.actions[i] = dataclasses.replace(action, after=full[action.key])

    def holds(self, obj: Any, after: Mapping[str, Json], names: Mapping[str, str]) -> bool:
        return super().holds(obj, digest_form(after, str(obj.owner.key)), names)

    # ---- apply -----------------------------------------------------------------------

    def written_metadata(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        """Stamped on the digest form: the write-only values never reach the tags."""
        return run.metadata(self.name, key, digest_form(after, key), remote_id)

    def payload(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        tags = self.tag_payload(self.written_metadata(run, key, after, remote_id))
        files: list[Json] = [
            {"type": "file_id", "file_id": run.resolve(str(f["file"])), "path": f["path"]}
            for f in after["files"]
        ]
        if not is_declared(after):
            return {**tags, "files": files}
        network = dict(after["network"])
        for field, value in (
            ("network.blocked_domains", network.get("blocked_domains")),
            ("setup_commands", after.get("setup_commands")),
            ("env", after.get("env")),
        ):
            if isinstance(value, str):  # a digest: no action carries one to apply
                raise AssertionError(f"environment template {key}: {field} is only a digest")
        return {
            **tags,
            "packages": after["packages"],
            "network": network,
            "files": files,
            "skills": [_skill(run, s) for s in after["skills"]],
            "setup_commands": after.get("setup_commands") or [],
            "env": {
                name: _value(run, key, name, value)
                for name, value in (after.get("env") or {}).items()
            },
            # what no spec sets: cleared, should it have been set outside asst-deploy
            "capability_directories": [],
            "plugins": [],
            "desktop": None,
        }


def _skill(run: Writer, entry: Mapping[str, Json]) -> dict[str, Json]:
    if entry.get("skill"):
        skill_id = run.resolve(skill.KIND.ref_name(str(entry["skill"])))
        return {"type": "skill_reference", "skill_id": skill_id}
    sent: dict[str, Json] = {"type": "skill_reference", "skill_id": entry["skill_id"]}
    if entry.get("version") is not None:
        sent["version"] = entry["version"]
    return sent


def _value(run: Writer, key: str, name: str, value: Json) -> Json:
    """An env value as sent: a secret read from its variable now (the one planned)."""
    found = secretref.parse(value)
    if found is None:
        return value
    ref = secretref.SecretRef(found[0], secret_scope(key, name)).within(run.project)
    if secretref.digest(ref.value(), ref.scope) != found[1]:
        raise AsstDeployError(
            f"environment {key.removeprefix(DECLARED)}: the secret in ${found[0]} changed since "
            "the plan was made; make a new plan"
        )
    return ref.value()


KIND = EnvironmentTemplateKind()
