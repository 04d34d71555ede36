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

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError
from asst_deploy.request_template import (
    DeployedIds,
    apply_command,
    deployed_ids,
    request_for,
)
from asst_deploy.spec.loader import load_project
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.backend import Backend


class UnknownAssistant(AsstDeployError):
    """No assistant of the project has that key."""


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
        excluded = self.project.exclusion("assistant", key)
        if excluded is not None:
            raise UnknownAssistant(
                f"{excluded}: use another environment, or take it out of that `exclude:` "
                f"(this environment's assistants: {known})"
            )
        raise UnknownAssistant(
            f"project '{self.project.name}' has no assistant '{key}' (known: {known})"
        )

    def request(self, key: str) -> dict[str, Json]:
        """The keyword arguments of `client.responses.create(...)` for assistant `key`
        (add `input`, and `conversation` or `previous_response_id`, yourself)."""
        return request_for(self.project, self.assistant(key), self.ids)

    @property
    def apply_command(self) -> str:
        return apply_command(self.project)

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
    from asst_deploy.engine.targets import connect

    with connect(project.target, trace) as backend:
        yield backend


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
        from asst_deploy.generations.sdk.openai_backend import OpenAIBackend

        backend = OpenAIBackend(client)
    return Runtime(project, backend)
