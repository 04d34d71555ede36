"""`${var}` interpolation in spec strings; `$${` writes a literal `${`."""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

_VAR = re.compile(r"\$(\$?)\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LITERAL = "write $${ for a literal ${"


MAX_LENGTH = 1_000_000  # characters a string may grow to: `${a}${a}...` nests exponentially


def substitute(
    text: str,
    variables: Mapping[str, str],
    on_error: Callable[[str, str, int], None],
    max_length: int = MAX_LENGTH,
) -> str:
    """Replace every `${name}`; bad names go to `on_error(message, hint, offset in text)`."""
    if "${" not in text:
        return text
    size = len(text)  # of the result so far, counted before it is built

    def replace(match: re.Match[str]) -> str:
        nonlocal size
        escaped, name = match.group(1), match.group(2)
        if escaped:
            return "${" + name + "}"
        name = name.strip()
        if size > max_length:  # reported once; leave the rest as written
            return match.group(0)
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
            size += len(variables[name]) - len(match.group(0))
            if size <= max_length:
                return variables[name]
            on_error(
                f"the text grows to more than {max_length} characters with its variables",
                "use fewer or shorter variables",
                match.start(),
            )
        return match.group(0)

    return _VAR.sub(replace, text)


def _references(text: str) -> list[str]:
    return [m.group(2).strip() for m in _VAR.finditer(text) if not m.group(1)]


def resolve(
    variables: Mapping[str, str], on_error: Callable[[str, str, str], None]
) -> dict[str, str]:
    """Expand the `${name}` inside variable values themselves; problems go to
    `on_error(variable, message, hint)`. A cycle is reported once and left as written."""
    done: dict[str, str] = {}
    failed: set[str] = set()  # reported already: what uses them is not reported again
    for start in variables:
        stack = [start]  # the chain of variables being expanded, innermost last
        while stack:
            name = stack[-1]
            if name in done:
                stack.pop()
                continue
            pending = [n for n in _references(variables[name]) if n in variables and n not in done]
            looped = next((n for n in pending if n in stack), None)
            if looped is not None:
                cycle = stack[stack.index(looped) :]
                on_error(
                    looped,
                    f"variable '{looped}' refers to itself: {' -> '.join([*cycle, looped])}",
                    f"break the cycle; {_LITERAL}",
                )
                done.update((n, variables[n]) for n in cycle)
                failed.update(cycle)
            elif pending:
                stack.append(pending[0])
            else:
                quiet = any(n in failed for n in _references(variables[name]))

                def report(
                    message: str, hint: str, offset: int, name: str = name, quiet: bool = quiet
                ) -> None:
                    failed.add(name)
                    if not quiet:
                        on_error(name, message, hint)

                done[name] = substitute(variables[name], _Expanded(variables, done), report)
                if quiet:
                    failed.add(name)
    return done


class _Expanded(Mapping[str, str]):
    """Every variable's name, with the expanded value of those already expanded."""

    def __init__(self, variables: Mapping[str, str], done: Mapping[str, str]) -> None:
        self.variables, self.done = variables, done

    def __getitem__(self, name: str) -> str:
        return self.done[name] if name in self.done else self.variables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.variables)

    def __len__(self) -> int:
        return len(self.variables)


def references(value: Any) -> frozenset[str]:
    """The names of the variables the strings inside `value` refer to (a superset: escaped
    references count too), on which its interpolation alone depends."""
    names: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "${" in item:
                names.update(m.group(2).strip() for m in _VAR.finditer(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return frozenset(names)


def walk(value: Any, path: tuple[Any, ...], fn: Callable[[str, tuple[Any, ...]], str]) -> Any:
    """A copy of `value` (sharing no mapping or list with it) with `fn(string, path)`
    applied to every string inside that refers to a variable (holds "${": substitution
    leaves any other as it is); keys stay as written."""
    # the path of the value being walked, made a tuple only for `fn`
    return _walk(value, list(path), fn)


def _walk(item: Any, keys: list[Any], fn: Callable[[str, tuple[Any, ...]], str]) -> Any:
    # a module function, not a closure that calls itself: such a closure is a reference
    # cycle, which would keep `fn` and all it holds (a document, its positions) alive
    # until the garbage collector runs, and commands run with it paused (asst_deploy.cli)
    if isinstance(item, str):
        return fn(item, tuple(keys)) if "${" in item else item
    if not isinstance(item, dict | list):
        return item
    pairs = item.items() if isinstance(item, dict) else enumerate(item)
    copied = []
    for key, sub in pairs:
        if isinstance(sub, dict | list):
            plain = _plain_copy(sub)
            if plain is not None:
                copied.append((key, plain))
                continue
        elif not isinstance(sub, str) or "${" not in sub:
            copied.append((key, sub))
            continue
        keys.append(key)
        copied.append((key, _walk(sub, keys, fn)))
        keys.pop()
    return dict(copied) if isinstance(item, dict) else [sub for _, sub in copied]


def _plain_copy(value: dict[Any, Any] | list[Any]) -> Any:
    """A deep copy of `value` when no string in it refers to a variable (marshal copies
    plain data in C; every string's text is in its output as written, so "${" not there is
    "${" nowhere), else None."""
    try:
        raw = marshal.dumps(value)
    except ValueError:  # a value marshal does not write: walked instead
        return None
    return None if b"${" in raw else marshal.loads(raw)
