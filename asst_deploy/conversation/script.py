"""Conversation scripts as immutable records: a script's conversations, their turns,
stubs, expectations and session (replay/scripts.py reads them from `*.conv.yaml`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from asst_deploy.errors import Location
from asst_deploy.types import Json

# graded expectations: a grader model judges the turn, or embeddings measure how close the
# reply is to a text (asst_deploy/replay/graders.py)
GRADED = ("rubric", "similar")
DEFAULT_SIMILARITY = 0.8


@dataclass(frozen=True)
class Stub:
    """How to answer one function: exactly one of output / template / call / error."""

    kind: str
    value: Json


@dataclass(frozen=True)
class Attachment:
    file: str  # relative to the project directory
    tools: tuple[str, ...]
    location: Location | None = None


@dataclass(frozen=True)
class Expectation:
    kind: str
    value: Json
    location: Location


@dataclass(frozen=True)
class Turn:
    index: int  # 1-based, as people count turns
    user: str
    location: Location
    attachments: tuple[Attachment, ...] = ()
    functions: Mapping[str, Stub] = field(default_factory=dict)
    expect: tuple[Expectation, ...] = ()


@dataclass(frozen=True)
class SpecRef:
    """A spec key the script names, and where."""

    key: str
    location: Location


@dataclass(frozen=True)
class Session:
    """What a conversation's Agents session takes besides its agent: the template of an
    environment spec, the vaults of vault specs (None: the agent's own, as without them)."""

    location: Location  # of the first of `environment:` and `vaults:` that applies
    environment: SpecRef | None = None
    vaults: tuple[SpecRef, ...] | None = None


@dataclass(frozen=True)
class Conversation:
    name: str
    location: Location
    turns: tuple[Turn, ...]
    run: Mapping[str, Json]
    streaming: bool
    timeout: float
    repeat: int
    pass_rate: float
    budget_usd: float | None = None  # the most one run of it may cost
    session: Session | None = None  # its `environment:` and `vaults:` (the script's, or its own)

    @property
    def graded(self) -> bool:
        """Whether a turn asks a grader or embeddings for a verdict."""
        return any(e.kind in GRADED for t in self.turns for e in t.expect)


@dataclass(frozen=True)
class Script:
    path: Path
    display: str  # the path as shown in messages
    assistant: str
    env: str | None
    target: str | None
    conversations: tuple[Conversation, ...]
    location: Location | None = None  # of its `assistant:`
