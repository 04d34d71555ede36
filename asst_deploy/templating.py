"""Templates over a turn's values (`{arguments[city]}`, `{match[1]}`): the sandbox's rules
and the conversation scripts' function stubs render them alike."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

_FIELD = re.compile(r"(\w+)((?:\[[^\]]*\])*)")


class RuleTemplateError(ValueError):
    """A template names something the run does not have (e.g. an output never submitted)."""


class _SafeFormatter(string.Formatter):
    """str.format without attribute access, so a rule cannot reach into Python objects."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        parsed = _FIELD.fullmatch(field_name)
        if parsed is None:
            raise RuleTemplateError(f"only names and [key] lookups are allowed: {{{field_name}}}")
        first, keys = parsed.group(1), re.findall(r"\[([^\]]*)\]", parsed.group(2))
        try:
            value = kwargs[first]
            for key in keys:
                value = value[int(key) if key.isdigit() else key]
        except (KeyError, IndexError, TypeError) as exc:
            raise RuleTemplateError(f"unknown template field {{{field_name}}}") from exc
        return value, first


class Groups(dict[str, str]):
    """Regex groups keyed by name or number; str.format looks up {match[1]} with an int."""

    def __missing__(self, key: object) -> str:
        if isinstance(key, int):
            return self[str(key)]
        raise KeyError(key)


def render(template: str, values: Mapping[str, Any]) -> str:
    values = {**values, "match": Groups(values.get("match") or {})}
    try:
        return _SafeFormatter().vformat(template, (), values)
    except ValueError as exc:
        raise RuleTemplateError(f"{exc} in template {template!r}") from None


def render_tree(value: Any, values: Mapping[str, Any]) -> Any:
    """Every string in a tree of mappings and lists rendered as a template."""
    if isinstance(value, str):
        return render(value, values)
    if isinstance(value, dict):
        return {k: render_tree(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(v, values) for v in value]
    return value
