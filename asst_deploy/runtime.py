"""For applications: a project's assistant as the arguments of `client.responses.create`.

    from asst_deploy import runtime

    assistants = runtime.load("specs", env="prod")       # validated, no network
    reply = client.responses.create(input="Hi", **assistants.request("handbook"))

Loading reads and validates the specs only. The first `request` lists the target's
vector stores and files once (their identity is remote: see asst_deploy/identity.py),
and keeps the ids on the object; there is no state file. Nothing here imports the openai
SDK until that first listing, and not even then when the application hands over a
backend of its own.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asst_deploy import identity
from asst_deploy.errors import AsstDeployError
from asst_deploy.remote.state import RemoteFile, RemoteObject
from asst_deploy.request_template import NotDeployed, request_kwargs
from asst_deploy.spec.loader import load_project
from asst_deploy.spec.model import AssistantSpec, Project
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.remote.base import Backend


class UnknownAssistant(AsstDeployError):
    """No assistant of the project has that key."""


@dataclass(frozen=True)
class DeployedIds:
    """The remote ids of what a project deployed: vector stores by key, files by path."""

    vector_stores: Mapping[str, str]
    files: Mapping[str, str]
    # paths found deployed only with other content than the local file's (not applied yet)
    stale_files: frozenset[str] = frozenset()


@dataclass
class Runtime:
    """One environment of a project, and (once asked) the ids deployed on its target."""

    project: Project
    backend: Backend | None = None  # the application's own; else one is made from the target
    trace: Callable[[str], None] | None = None  # told of each HTTP request to the target
    _ids: DeployedIds | None = field(default=None, init=False, repr=False)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.project.assistants)

    def assistant(self, key: str) -> AssistantSpec:
        for spec in self.project.assistants:
            if spec.key == key:
                return spec
        known = ", ".join(self.keys) or "none"
        raise UnknownAssistant(
            f"project '{self.project.name}' has no assistant '{key}' (known: {known})"
        )

    def request(self, key: str) -> dict[str, Json]:
        """The keyword arguments of `client.responses.create(...)` for assistant `key`
        (add `input`, and `conversation` or `previous_response_id`, yourself)."""
        spec = self.assistant(key)
        # an assistant with no vector store or file (functions only) needs no listing
        needs_ids = bool(spec.vector_stores or spec.code_interpreter_files)
        ids = self.ids() if needs_ids else DeployedIds({}, {})
        try:
            return request_kwargs(spec, self.project.name, ids.vector_stores, ids.files)
        except NotDeployed as exc:
            files = {f.path for f in spec.code_interpreter_files}
            if exc.name in files and exc.name in ids.stale_files:
                hint = f"it is deployed with other content than {exc.name} has now; "
            else:
                hint = ""
            raise NotDeployed(
                spec, exc.kind, exc.name, hint + f"run {self.apply_command}"
            ) from None

    @property
    def apply_command(self) -> str:
        words = ["asst-deploy", "apply"]
        if self.project.root != Path("."):
            words.append(str(self.project.root))
        if self.project.environment is not None:
            words += ["--env", self.project.environment]
        return shlex.join(words)

    def ids(self) -> DeployedIds:
        """The deployed ids, listed from the target on the first call only."""
        if self._ids is None:
            with self._connection() as backend:
                self._ids = deployed_ids(self.project, backend)
        return self._ids

    def refresh(self) -> None:
        """Forget the ids, so the next request lists the target again (after an apply)."""
        self._ids = None

    def _connection(self) -> AbstractContextManager[Backend]:
        if self.backend is not None:
            return nullcontext(self.backend)
        return _connect(self.project, self.trace)


@contextmanager
def _connect(project: Project, trace: Callable[[str], None] | None) -> Iterator[Backend]:
    # imported here: the SDK (and for a sandbox target the server) only when ids are needed
    from asst_deploy.remote.targets import connect

    with connect(project.target, trace) as backend:
        yield backend


def deployed_ids(project: Project, backend: Backend) -> DeployedIds:
    """List the target's vector stores and files once; keep the newest object of each
    identity the project manages (a file only when its content is the local file's)."""
    stores: dict[str, str] = {}
    for obj in backend.list_newest("vector_store"):
        if not isinstance(obj, RemoteObject):
            continue
        metadata = obj.data.get("metadata")
        owner, key, _ = obj.owner
        if owner == project.name and key and not identity.is_lease(metadata):
            stores.setdefault(key, obj.id)
    wanted = {ref.path: identity.file_sha(ref.abs_path) for ref in project.files}
    files: dict[str, str] = {}
    seen: set[str] = set()
    if wanted:
        for f in backend.list_newest("file"):
            ident = f.identity if isinstance(f, RemoteFile) else None
            if ident is None or ident.project != project.name or ident.path not in wanted:
                continue
            seen.add(ident.path)
            if ident.sha == wanted[ident.path]:
                files.setdefault(ident.path, f.id)
    return DeployedIds(stores, files, frozenset(seen - set(files)))


def load(
    path: str | Path = ".",
    env: str | None = None,
    *,
    target: str | None = None,
    backend: Backend | None = None,
    client: Any = None,
) -> Runtime:
    """Load and validate one environment of the project at `path` (no network). Ids are
    later listed through `backend`, or an `openai.OpenAI` `client` the application has,
    or else a connection to the environment's target."""
    project = load_project(path, env, target)
    if backend is None and client is not None:
        from asst_deploy.remote.openai_backend import OpenAIBackend

        backend = OpenAIBackend(client)
    return Runtime(project, backend)
