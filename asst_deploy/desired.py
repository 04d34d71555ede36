"""The desired state: immutable records built by the loader from validated specs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asst_deploy import models
from asst_deploy.errors import Location
from asst_deploy.secretref import SecretRef
from asst_deploy.types import Json, TargetType

OPENAI_BASE_URL = "https://api.openai.com/v1"  # what a `type: openai` target without base_url means


@dataclass(frozen=True)
class Target:
    """A named endpoint and the API generation deployed to it: the built-in sandbox (which
    serves every generation) or OpenAI (api.openai.com, or a compatible `base_url`)."""

    name: str
    type: TargetType
    api: str = "assistants"  # "assistants" | "agents" | "responses": see asst_deploy/generations
    base_url: str | None = None
    api_key_env: str | None = None
    organization: str | None = None
    project: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    db: Path | None = None  # sandbox state file
    rules: Path | None = None  # sandbox only: the scripted model's rules file
    models: tuple[str, ...] | None = None  # model names it serves; None: the API's list


@dataclass(frozen=True)
class FileRef:
    """A local file the project uploads; `path` (relative to the project root) is its identity."""

    path: str
    abs_path: Path
    size: int


@dataclass(frozen=True)
class VectorStoreFile:
    file: FileRef
    attributes: Mapping[str, Json] = field(default_factory=dict)


@dataclass(frozen=True)
class AssistantSpec:
    key: str
    model: str
    location: Location
    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    tools: tuple[Mapping[str, Json], ...] = ()
    code_interpreter_files: tuple[FileRef, ...] = ()
    vector_stores: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    temperature: float | None = None
    top_p: float | None = None
    response_format: Json = None
    reasoning_effort: str | None = None
    # Agents API only (a validate error on the other generations)
    service_tier: str | None = None
    multi_agent: Mapping[str, Json] | None = None
    compaction: Mapping[str, Json] | None = None
    verbosity: str | None = None
    reasoning_summary: str | None = None
    experimental: Mapping[str, Json] | None = None
    # Agents API only: the key of a `kind: environment` document its agent runs in
    environment: str | None = None
    protect: bool = False
    adopt: str | None = None  # remote id of an unmanaged object to take over


@dataclass(frozen=True)
class VectorStoreSpec:
    key: str
    location: Location
    name: str | None = None
    files: tuple[VectorStoreFile, ...] = ()
    chunking_strategy: Mapping[str, Json] | None = None
    expires_after: Mapping[str, Json] | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    protect: bool = False
    adopt: str | None = None  # remote id of an unmanaged object to take over


@dataclass(frozen=True)
class CredentialSpec:
    """One credential of a vault (`kind: vault`): its auth type, the auth's other fields as
    the API takes them (`public`), and each secret field ("token", "refresh.refresh_token")
    as the variable it is read from."""

    name: str
    type: str
    location: Location
    public: Mapping[str, Json] = field(default_factory=dict)
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VaultSpec:
    key: str
    location: Location
    name: str | None = None
    credentials: tuple[CredentialSpec, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    protect: bool = False
    adopt: str | None = None  # remote id of an unmanaged vault to take over


@dataclass(frozen=True)
class AutomationSpec:
    """`kind: automation`: a schedule that starts a session of one of the project's agents
    (periodic by a cron `expression` in a `timezone`, or once at `run_at`)."""

    key: str
    location: Location
    type: str  # "periodic" | "once"
    agent: str  # the key of the assistant spec deployed as the agent
    input: str  # the user message each session starts with
    name: str | None = None  # the API requires one: None is the key
    expression: str | None = None
    timezone: str | None = None
    run_at: int | None = None  # Unix seconds
    paused: bool = False
    environment: str | None = None  # the key of a `kind: environment` document
    vaults: tuple[str, ...] = ()  # keys of `kind: vault` documents
    metadata: Mapping[str, str] = field(default_factory=dict)
    protect: bool = False
    adopt: str | None = None  # remote id of an unmanaged automation to take over


@dataclass(frozen=True)
class SkillSpec:
    """`kind: skill`: a folder holding SKILL.md, uploaded as a version of one skill
    (kinds/skill.py: what of the folder is uploaded, and its content hash)."""

    key: str
    location: Location
    path: str  # the folder, relative to the project directory (posix)
    abs_path: Path
    name: str  # SKILL.md's front matter
    description: str
    content: str  # the folder's content hash
    protect: bool = False
    adopt: str | None = None


@dataclass(frozen=True)
class EnvironmentSkill:
    """A skill of an environment: a `kind: skill` document by `key`, or any skill by id."""

    key: str | None = None
    skill_id: str | None = None
    version: str | None = None  # with skill_id: a version number or "latest"; None: default


@dataclass(frozen=True)
class EnvironmentSpec:
    """`kind: environment`: an Agents API environment template (kinds/environment_template.py).
    `env` values are literal text or a secret (`{from_env: NAME}`)."""

    key: str
    location: Location
    packages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # python, npm, system
    network: Mapping[str, Json] = field(default_factory=dict)  # access, *_domains
    files: tuple[FileRef, ...] = ()
    skills: tuple[EnvironmentSkill, ...] = ()
    setup_commands: tuple[Mapping[str, Json], ...] = ()  # {command, cwd}
    env: Mapping[str, str | SecretRef] = field(default_factory=dict)
    protect: bool = False
    adopt: str | None = None  # remote id of an unmanaged template to take over


@dataclass(frozen=True)
class Grader:
    """What grades `rubric:` and embeds for `similar:` (the project file's replay.grader)."""

    model: str = models.DEFAULT_GRADER_MODEL
    embedding_model: str = models.DEFAULT_EMBEDDING_MODEL
    # the target it is called through; None: the conversation's own target
    target: Target | None = None
    location: Location | None = None  # of replay.grader.model, when the project sets one


@dataclass(frozen=True)
class Project:
    """Everything one `--env` of a project wants to exist on its target."""

    name: str
    root: Path
    environment: str | None
    target: Target
    # document kind (asst_deploy/spec/documents) -> its records, sorted by key
    records: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    environments: tuple[str, ...] = ()
    allow_modules: tuple[str, ...] = ()  # replay: modules outside the project scripts may call
    # document kind -> the keys the environment's `exclude:` takes out of it
    excluded: Mapping[str, frozenset[str]] = field(default_factory=dict)
    grader: Grader = field(default_factory=Grader)
    # replay.prices: USD per 1M tokens by model, over models.PRICES
    prices: Mapping[str, models.Price] = field(default_factory=dict)

    @property
    def assistants(self) -> tuple[AssistantSpec, ...]:
        return self.records.get("assistant", ())

    def exclusion(self, kind: str, key: str) -> str | None:
        """Why the `kind` `key` is not in this environment when its `exclude:` takes it
        out ("assistant 'faq' is excluded from environment 'agents' ..."), else None."""
        if key not in self.excluded.get(kind, ()):
            return None
        return (
            f"{kind.replace('_', ' ')} '{key}' is excluded from environment "
            f"'{self.environment}' (its `exclude:` in asst-deploy.yaml)"
        )

    @property
    def vector_stores(self) -> tuple[VectorStoreSpec, ...]:
        return self.records.get("vector_store", ())

    @property
    def vaults(self) -> tuple[VaultSpec, ...]:
        return self.records.get("vault", ())

    @property
    def automations(self) -> tuple[AutomationSpec, ...]:
        return self.records.get("automation", ())

    @property
    def skills(self) -> tuple[SkillSpec, ...]:
        return self.records.get("skill", ())

    @property
    def environment_specs(self) -> tuple[EnvironmentSpec, ...]:
        """`kind: environment` documents (`environments` are the project file's)."""
        return self.records.get("environment", ())

    @property
    def files(self) -> tuple[FileRef, ...]:
        """Every local file the project references, once each, sorted by path."""
        seen: dict[str, FileRef] = {}
        for store in self.vector_stores:
            for entry in store.files:
                seen.setdefault(entry.file.path, entry.file)
        for assistant in self.assistants:
            for ref in assistant.code_interpreter_files:
                seen.setdefault(ref.path, ref)
        for environment in self.environment_specs:
            for ref in environment.files:
                seen.setdefault(ref.path, ref)
        return tuple(seen[k] for k in sorted(seen))
