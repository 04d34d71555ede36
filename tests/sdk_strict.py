"""Strict validation against the openai SDK's types, for the sandbox's conformance checks:
pydantic's strict mode, and no key anywhere that the chosen types do not declare."""

from __future__ import annotations

import functools
from typing import Any

import pydantic


@functools.cache
def _adapter(kind: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(kind)  # building one for a big union is slow: build once


class UndeclaredKeys(ValueError):
    """A body parsed as its SDK type, but carries keys that type does not declare."""


def undeclared(value: Any, path: str = "") -> list[str]:
    """Where a validated tree holds keys its types do not declare (`model_extra`), at any
    depth: through nested models, lists and dicts, whichever union member was chosen."""
    if isinstance(value, pydantic.BaseModel):
        found = [f"{path}.{key}" if path else key for key in value.model_extra or {}]
        for name in type(value).model_fields:
            found += undeclared(getattr(value, name), f"{path}.{name}" if path else name)
        return found
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in undeclared(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in undeclared(item, f"{path}.{key}")]
    return []


def validate_as(kind: Any, value: Any) -> Any:
    """`value` parsed as the SDK type `kind` (a model or a union) by pydantic's strict
    validation; raises `UndeclaredKeys` for a key the type does not declare."""
    parsed = _adapter(kind).validate_python(value, strict=True)
    extra = undeclared(parsed)
    if extra:
        raise UndeclaredKeys(f"undeclared keys in {type(parsed).__name__}: {', '.join(extra)}")
    return parsed
