"""The desired state: immutable records built by the loader from validated specs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asst_deploy.errors import Location
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

    @property
    def assistants(self) -> tuple[AssistantSpec, ...]:
        return self.records.get("assistant", ())

    @property
    def vector_stores(self) -> tuple[VectorStoreSpec, ...]:
        return self.records.get("vector_store", ())

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
        return tuple(seen[k] for k in sorted(seen))
