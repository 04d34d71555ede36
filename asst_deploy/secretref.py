"""Secrets in specs: `{from_env: NAME}` is the only way to give one. Its value is read from
the environment when a plan or an apply needs it, and never leaves this module except
into the request that sets it: a plan, its JSON and Markdown, logs and errors hold the
variable's name and a keyed digest, from which plan sees a rotation ("secret changed").

The digest is HMAC-SHA256 keyed by where the secret goes (project, kind, key, field), so
the same value in two places has two digests. It is not a secret, but it is a check
value: anyone who can read the object's metadata can test a guess against it offline, so
a low-entropy secret (a short password) can be found from it; API tokens cannot.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from asst_deploy.errors import AsstDeployError, Location
from asst_deploy.types import Json

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# the JSON Schema of a secret field's value, for the spec schema's $defs
SCHEMA: dict[str, Json] = {
    "type": "object",
    "description": "A secret, read from this environment variable at plan and apply time "
    "(never written in a spec).",
    "required": ["from_env"],
    "additionalProperties": False,
    "properties": {"from_env": {"type": "string", "pattern": NAME_PATTERN}},
}
# a secret field's canonical value: "(secret from $NAME) <digest>"
_CANONICAL = re.compile(
    r"^\(secret from \$(?P<name>[A-Za-z_][A-Za-z0-9_]*)\) (?P<digest>[0-9a-f]{16})$"
)
_DIGEST_BYTES = 8


class MissingSecret(AsstDeployError):
    """A spec gives a secret from an environment variable that is not set."""


@dataclass(frozen=True)
class SecretRef:
    """`{from_env: NAME}` in a spec, and where its value goes (the digest's key)."""

    env: str
    scope: str  # "project/kind/key/field": what keys the digest
    # where the spec gives it, for the error of a variable that is not set
    location: Location | None = field(default=None, compare=False)

    def within(self, project: str) -> SecretRef:
        """The reference with its scope under `project` (a spec's scope is "kind/key/field":
        the project's name is the kind's to add, as the loader's variables may rename it)."""
        return dataclasses.replace(self, scope=f"{project}/{self.scope}")

    def value(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret itself: only for the request that sets it."""
        found = (os.environ if environ is None else environ).get(self.env)
        if found is None:
            raise MissingSecret(
                f"the environment variable {self.env} is not set: {self.scope} takes its "
                f"secret from it; set it (or change the spec's from_env) and run again"
            )
        return found

    def canonical(self, environ: Mapping[str, str] | None = None) -> str:
        """What a plan holds and compares: the variable's name and the value's digest."""
        return canonical(self.env, digest(self.value(environ), self.scope))


def refs(record: object) -> Iterator[SecretRef]:
    """Every SecretRef in a spec record, at any depth (dataclasses, mappings, sequences).
    Walked with a stack, not a generator a value: a plan of 10,000 assistants walks
    300,000 values, nearly all of them text, numbers or None."""
    stack = [record]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, str | int | float):
            continue
        if isinstance(item, SecretRef):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, name) for name in _field_names(type(item)))


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def unset(records: object, environ: Mapping[str, str] | None = None) -> list[SecretRef]:
    """The SecretRefs in `records` whose variable is not set, once per variable and place."""
    environ = os.environ if environ is None else environ
    found = {(r.env, r.scope): r for r in refs(records) if r.env not in environ}
    return [found[k] for k in sorted(found)]


def is_ref(value: object) -> bool:
    """Whether a spec value is `{from_env: NAME}`."""
    return isinstance(value, Mapping) and set(value) == {"from_env"}


def digest(value: str, scope: str) -> str:
    mac = hmac.new(scope.encode(), value.encode(), hashlib.sha256)
    return mac.hexdigest()[: 2 * _DIGEST_BYTES]


def canonical(env: str, value_digest: str) -> str:
    return f"(secret from ${env}) {value_digest}"


def parse(value: object) -> tuple[str, str] | None:
    """(variable name, digest) of a secret field's canonical value; None for any other."""
    if not isinstance(value, str):
        return None
    match = _CANONICAL.match(value)
    return (match["name"], match["digest"]) if match else None


def shown(value: Json) -> Json:
    """A canonical value as a person reads it: a secret as `(secret from $NAME)`, at any
    depth; everything else as it is."""
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v) for v in value]
    found = parse(value)
    return f"(secret from ${found[0]})" if found else value


def _found(value: Json) -> set[tuple[str, str]]:
    if isinstance(value, dict):
        return {f for v in value.values() for f in _found(v)}
    if isinstance(value, list):
        return {f for v in value for f in _found(v)}
    one = parse(value)
    return {one} if one else set()


def rotated_names(before: Json, after: Json) -> list[str]:
    """The variables whose secret has another digest in `after` than in `before`."""
    old, new = _found(before), _found(after)
    return sorted({name for name, _ in old ^ new})
