"""`${var}` interpolation in spec strings; `$${` writes a literal `${`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_VAR = re.compile(r"\$(\$?)\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LITERAL = "write $${ for a literal ${"


def substitute(
    text: str, variables: Mapping[str, str], on_error: Callable[[str, str, int], None]
) -> str:
    """Replace every `${name}`; bad names go to `on_error(message, hint, offset in text)`."""
    if "${" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        name = name.strip()
        if not _NAME.match(name):
            on_error(
                f"invalid variable reference '${{{name}}}'",
                f"a name is letters, digits and '_'; {_LITERAL}",
                match.start(),
            )
        elif name not in variables:
            known = ", ".join(sorted(variables)) or "none"
            on_error(
                f"undefined variable '{name}' (defined: {known})",
                f"add it to 'vars:' in asst-deploy.yaml; {_LITERAL}",
                match.start(),
            )
        else:
            return variables[name]
        return match.group(0)

    return _VAR.sub(replace, text)


def walk(value: Any, path: tuple[Any, ...], fn: Callable[[str, tuple[Any, ...]], str]) -> Any:
    """Apply `fn(string, path)` to every string inside `value` (keys stay as written)."""
    if isinstance(value, str):
        return fn(value, path)
    if isinstance(value, dict):
        return {k: walk(v, (*path, k), fn) for k, v in value.items()}
    if isinstance(value, list):
        return [walk(v, (*path, i), fn) for i, v in enumerate(value)]
    return value
