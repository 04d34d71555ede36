"""The core's small shared types: JSON values, plan modes, target types and ownership."""

from enum import StrEnum
from typing import Any, NamedTuple

# a value as JSON carries it (dict, list, str, number, bool, None); Any, since mypy cannot
# follow a recursive union through the SDK's and yaml's untyped returns
Json = Any


class Mode(StrEnum):
    """How a plan is made: toward the specs, deleting everything (--destroy), or accepting
    drift into the hash stamps (--refresh-only). Its value is what a plan file says."""

    NORMAL = "normal"
    DESTROY = "destroy"
    REFRESH_ONLY = "refresh-only"


class TargetType(StrEnum):
    """Where a target is: the built-in sandbox, or OpenAI (or a compatible base_url)."""

    SANDBOX = "sandbox"
    OPENAI = "openai"


class Ownership(NamedTuple):
    """Who manages a remote object, from its identity tags: the project (the ownership
    scope), the spec key (a file's project path), and the stamp (the canonical hash last
    applied; a file's content sha). All None for an object no project manages."""

    project: str | None = None
    key: str | None = None
    stamp: str | None = None

    def of(self, project: str, key: str) -> bool:
        """Whether `project` manages this object as `key`."""
        return self.project == project and self.key == key
