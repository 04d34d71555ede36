"""The conversation driver interface, one driver per API generation (no SDK import here)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from asst_deploy import authorship
from asst_deploy.backend import Backend, RemoteError
from asst_deploy.conversation import stubs
from asst_deploy.conversation.script import Conversation, Turn
from asst_deploy.conversation.transcript import ToolCall, Transcript, TurnResult
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError
from asst_deploy.kinds import agent, assistant
from asst_deploy.state import RemoteObject
from asst_deploy.types import Json

# Told of an event stream a driver read itself, around the cassette's HTTP patching
# (which would read a stream that never ends to its end): method, url, request headers,
# status, response headers, the bytes read. Record mode writes it into the cassette.
StreamRecorder = Callable[[str, str, Mapping[str, str], int, Mapping[str, str], bytes], None]


class AssistantNotFound(AsstDeployError):
    """The script's assistant has no deployed counterpart on the target."""


class TurnError(AsstDeployError):
    """A call failed, or the model asked for something the script does not answer."""

    def __init__(self, turn: int, message: str) -> None:
        self.turn = turn
        super().__init__(f"turn {turn}: {message}")


@dataclass(frozen=True)
class Deployed:
    """The deployed counterpart of an assistant spec, as much as a conversation needs."""

    id: str
    object: Mapping[str, Json]  # the remote object as the wire shows it
    functions: Mapping[str, Json] = field(default_factory=dict)  # name -> parameters schema

    @property
    def metadata(self) -> Mapping[str, Json]:
        found = self.object.get("metadata")
        return found if isinstance(found, Mapping) else {}


@dataclass(frozen=True)
class SessionPlace:
    """Where a conversation's session runs, by id, when its script names it (`environment:`,
    `vaults:`); None in a field: the agent's own template, its credentials' vaults."""

    environment_template_id: str | None = None
    vault_ids: tuple[str, ...] | None = None


@dataclass
class DriverOptions:
    """How a driver runs: `sleep` is what poll waits call (replay passes a no-op)."""

    root: Path
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    transport_errors: tuple[type[Exception], ...] = ()
    record_stream: StreamRecorder | None = None
    # the environment the harness loaded (None: the base), whose overrides shape requests
    environment: str | None = None
    # seconds a session or run may take to come to rest beyond a turn's own deadline (after
    # the turn is cancelled, or paused at its budget): a wait past it is a TurnError
    settle_timeout: float = 5.0
    # the spending limit, in USD cents, of every Agents session a driver opens (None: none)
    session_spend_limit_cents: int | None = None
    # the template and vaults the script names for its sessions, resolved (Agents only)
    session: SessionPlace | None = None
    # the project the harness loaded (`root`, `environment`), for a driver that reads the
    # specs: taken as it is rather than loaded again for every conversation
    project: Project | None = None
    # how a driver that reads the specs loads them for another environment or target
    # (root, environment, target): the harness passes the spec loader
    load_project: Callable[[Path, str | None, str | None], Project] | None = None


class Driver(Protocol):
    """One conversation at a time: open it for a deployed assistant, send user turns (each
    answered with its text, tool calls, code runs, citations, status, usage and latency,
    function calls answered from the script's stubs), close it."""

    api: ClassVar[str]
    # the folder under a script's cassettes holding this generation's recordings ("": the
    # folder itself, for the Assistants recordings)
    cassette_folder: ClassVar[str]
    # expectation kind -> why it cannot be checked on this generation (reported, not passed)
    not_applicable: ClassVar[Mapping[str, str]]
    # the canonical form of what apply makes of a spec on this API (its hash is the stamp)
    spec_form: ClassVar[Callable[[AssistantSpec, Mapping[str, str]], dict[str, Json]]]

    def __init__(self, client: Any, options: DriverOptions) -> None: ...

    def find(self, project: str, key: str, target: str) -> Deployed:
        """The deployed object whose identity names `project` and `key` (lists them all:
        call it outside a recorded cassette, and `get(id)` inside)."""
        ...

    def get(self, remote_id: str) -> Deployed: ...

    def start(self, deployed: Deployed, conversation: Conversation) -> Transcript: ...

    def turn(
        self, transcript: Transcript, turn: Turn, conversation: Conversation
    ) -> TurnResult: ...

    def finish(self, transcript: Transcript) -> None: ...


def arguments(raw: str) -> Json:
    """Call arguments parsed; None when they are not JSON (the schema check reports it)."""
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return None


def answer(turn: Turn, name: str, raw_args: str) -> tuple[Json, str]:
    """(parsed arguments, the output to send) for a function call, from the turn's stubs."""
    parsed = arguments(raw_args)
    stub = turn.functions.get(name)
    if stub is None:
        scripted = ", ".join(sorted(turn.functions)) or "none"
        raise TurnError(
            turn.index,
            f"the assistant called {name}({raw_args}) but the turn scripts no output "
            f"for it (scripted: {scripted}); add `functions: {{{name}: {{output: ...}}}}`",
        )
    try:
        return parsed, stubs.output(stub, name, parsed)
    except stubs.StubError as exc:
        raise TurnError(turn.index, str(exc)) from None


def answered(turn: Turn, result: TurnResult, call_id: str, name: str, raw_args: str) -> str:
    """The output to send for a function call, from the turn's stubs; the call is noted in
    the turn's result with its arguments and that output."""
    parsed, text = answer(turn, name, raw_args)
    result.tool_calls.append(ToolCall(call_id, "function", name, parsed, raw_args, output=text))
    return text


@contextmanager
def turn_calls(
    index: int,
    doing: str,
    transport_errors: tuple[type[Exception], ...],
    *,
    deprecated: bool = False,
) -> Iterator[None]:
    """The remote layer's errors as TurnErrors that say which turn and what was being done;
    the original stays the cause, so a cassette mismatch underneath is explained.
    `deprecated`: the SDK marks the API deprecated (Assistants v2, the Agents beta), which
    the driver knows: its warnings are not shown."""
    from asst_deploy.generations.sdk.openai_backend import translated  # the SDK, as a driver calls

    try:
        with warnings.catch_warnings(), translated(doing):
            if deprecated:
                warnings.simplefilter("ignore", DeprecationWarning)
            yield
    except RemoteError as exc:
        raise TurnError(index, str(exc)) from exc
    except transport_errors as exc:
        raise TurnError(index, f"{doing} failed: {type(exc).__name__}") from exc


class DriverCore:
    """What every driver keeps of its options, and how its calls fail: a generation's
    driver derives from it (`deprecated`: the SDK marks the API deprecated, which the
    driver knows, so its warnings are not shown)."""

    deprecated: ClassVar[bool] = False

    def __init__(self, client: Any, options: DriverOptions) -> None:
        self.client = client
        self.root = options.root
        self.transport_errors = options.transport_errors
        self.sleep = options.sleep
        self.clock = options.clock

    def _calls(self, index: int, doing: str) -> AbstractContextManager[None]:
        return turn_calls(index, doing, self.transport_errors, deprecated=self.deprecated)


def assistant_form(spec: AssistantSpec, shas: Mapping[str, str]) -> dict[str, Json]:
    """The canonical form apply stamps on an assistant made from `spec`."""
    return assistant.KIND.form(spec, shas)


def agent_form(spec: AssistantSpec, shas: Mapping[str, str]) -> dict[str, Json]:
    """The canonical form apply stamps on an agent made from `spec`."""
    return agent.KIND.form(spec, shas)


def find_managed(backend: Backend, kind: str, project: str, key: str) -> RemoteObject | None:
    """The newest live object of `kind` whose identity tags name `project` and `key` and
    that the project made (a clone carrying its tags is a look-alike, see authorship.py):
    the backend's own listing, a page at a time, stopping at the first match. The
    deployment markers are read once, at the first object the tags name."""
    found: Mapping[str, authorship.Marker] | None = None
    for obj in backend.list_newest(kind):
        if isinstance(obj, RemoteObject) and obj.owner.of(project, key):
            if found is None:
                found = authorship.markers(backend.list_newest(authorship.MARKER_KIND))
            if authorship.trusted(obj, found):
                return obj
    return None


def function_call(item: Mapping[str, Json], answered: dict[str, ToolCall]) -> ToolCall:
    """The ToolCall of a function_call output item (agents and responses items share the
    shape): the one answered during the turn, else read from the item."""
    known = answered.pop(str(item["call_id"]), None)
    if known is not None:
        return known
    raw = str(item.get("arguments") or "")
    return ToolCall(str(item["call_id"]), "function", str(item["name"]), arguments(raw), raw)


def wire(obj: Any) -> dict[str, Json]:
    """An SDK object as the wire shows it (by alias)."""
    data = obj.model_dump(mode="json", by_alias=True)
    assert isinstance(data, dict)
    return data


def refuse_assistants_only(
    turn: Turn, conversation: Conversation, files: str, run_fix: str
) -> None:
    """Per-turn attachments and create-run overrides exist on Assistants only: elsewhere
    they are refused, never dropped. `files`: where files come from instead; `run_fix`:
    what to do with the overrides."""
    if turn.attachments:
        raise TurnError(turn.index, f"attachments are Assistants-only: {files}")
    if conversation.run:
        raise TurnError(
            turn.index,
            f"`run:` overrides ({', '.join(sorted(conversation.run))}) are Assistants "
            f"create-run fields{run_fix}",
        )
