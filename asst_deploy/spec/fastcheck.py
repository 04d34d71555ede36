"""JSON Schema (draft 2020-12) compiled to plain Python checks, for the keywords the spec
schema uses: a document is known valid in microseconds instead of a walk of jsonschema's
validator (a plan of 1000 assistants checked them in 80 ms), and jsonschema is imported
only when a document is not valid, to word its errors.

`compile_schema` gives a predicate that answers exactly as `Draft202012Validator(schema)
.is_valid` does (no format assertion, as there), or None when the schema uses a keyword
this module does not know (then jsonschema answers). A predicate may raise `Unsure` for
a value it cannot judge exactly (a const or enum of numbers), or an error where jsonschema
would raise one too: the caller then asks jsonschema.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[Any], bool]

# keywords that only annotate (format is not asserted: no format checker is given)
_NOTES = frozenset(
    {
        "description",
        "title",
        "$comment",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "$defs",
        "$schema",
    }
)
_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, numbers.Number) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


class Unsure(Exception):
    """The value is one the compiled check cannot judge exactly: ask jsonschema."""


class _Unsupported(Exception):
    """The schema uses a keyword (or a form of one) not compiled here."""


def compile_schema(schema: Any, defs: Mapping[str, Any]) -> Check | None:
    """The schema as a predicate (its `$ref`s point into `defs` as "#/$defs/NAME"), or None."""
    try:
        return _Compiler(defs).compile(schema)
    except _Unsupported:
        return None


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's equality (`_utils.equal`: True is not 1) where a string, a boolean or
    null takes part; between numbers, lists or mappings it is Unsure."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if one is None or two is None or isinstance(one, bool) or isinstance(two, bool):
        return False
    raise Unsure


def tag(branch: Any) -> str | None:
    """T for `{if: {type: object, properties: {type: {const: T}}}, then: {...}}`, else None."""
    if not isinstance(branch, dict) or set(branch) != {"if", "then"}:
        return None
    test = branch["if"]
    if not isinstance(test, dict) or test.keys() != {"type", "properties"}:
        return None
    properties = test["properties"]
    if test["type"] != "object" or not isinstance(properties, dict) or list(properties) != ["type"]:
        return None
    const = properties["type"]
    if (
        not isinstance(const, dict)
        or const.keys() != {"const"}
        or not isinstance(const["const"], str)
    ):
        return None
    return str(const["const"]) if isinstance(branch["then"], dict) else None


class _Compiler:
    def __init__(self, defs: Mapping[str, Any]) -> None:
        self.defs = defs
        self.compiled: dict[str, Check] = {}

    def ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            raise _Unsupported
        name = ref.removeprefix("#/$defs/")
        if "/" in name or "~" in name or name not in self.defs:
            raise _Unsupported
        if name not in self.compiled:
            # a schema that refers to itself finds its check here once it is made
            self.compiled[name] = lambda value: self.compiled[name](value)
            self.compiled[name] = self.compile(self.defs[name])
        return self.compiled[name]

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda value: True
        if schema is False:
            return lambda value: False
        if not isinstance(schema, dict):
            raise _Unsupported
        checks: list[Check] = []
        for keyword, argument in schema.items():
            if keyword in _NOTES or keyword in ("then", "else"):
                continue
            if keyword == "$ref":
                checks.append(self.ref(argument))
                continue
            make = getattr(self, "k_" + keyword, None) if keyword.isalpha() else None
            if make is None:
                raise _Unsupported
            checks.append(make(argument, schema))
        if len(checks) == 1:
            return checks[0]
        return lambda value: all(check(value) for check in checks)

    # ---- the keywords, each as jsonschema's _keywords module reads it ---------------------

    def k_type(self, names: Any, schema: dict[str, Any]) -> Check:
        listed = [names] if isinstance(names, str) else names
        if not isinstance(listed, list) or any(n not in _TYPES for n in listed):
            raise _Unsupported
        tests = [_TYPES[n] for n in listed]
        if len(tests) == 1:
            return tests[0]
        return lambda value: any(test(value) for test in tests)

    def k_const(self, const: Any, schema: dict[str, Any]) -> Check:
        return lambda value: _equal(value, const)

    def k_enum(self, choices: Any, schema: dict[str, Any]) -> Check:
        if not isinstance(choices, list):
            raise _Unsupported
        if all(isinstance(c, str) for c in choices):
            allowed = frozenset(choices)  # a value equals a string only as a string
            return lambda value: isinstance(value, str) and value in allowed
        return lambda value: any(_equal(value, c) for c in choices)

    def _count(self, argument: Any) -> int:
        if not isinstance(argument, int) or isinstance(argument, bool):
            raise _Unsupported
        return argument

    def _bound(self, argument: Any) -> int | float:
        if not _number(argument):
            raise _Unsupported
        bound: int | float = argument
        return bound

    def k_minLength(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._count(limit)
        return lambda value: not isinstance(value, str) or len(value) >= n

    def k_maxLength(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._count(limit)
        return lambda value: not isinstance(value, str) or len(value) <= n

    def k_pattern(self, pattern: Any, schema: dict[str, Any]) -> Check:
        if not isinstance(pattern, str):
            raise _Unsupported
        search = re.compile(pattern).search
        return lambda value: not isinstance(value, str) or search(value) is not None

    def k_minimum(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._bound(limit)
        return lambda value: not _number(value) or not value < n

    def k_maximum(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._bound(limit)
        return lambda value: not _number(value) or not value > n

    def k_exclusiveMinimum(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._bound(limit)
        return lambda value: not _number(value) or not value <= n

    def k_exclusiveMaximum(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._bound(limit)
        return lambda value: not _number(value) or not value >= n

    def k_minItems(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._count(limit)
        return lambda value: not isinstance(value, list) or len(value) >= n

    def k_maxItems(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._count(limit)
        return lambda value: not isinstance(value, list) or len(value) <= n

    def k_uniqueItems(self, unique: Any, schema: dict[str, Any]) -> Check:
        if not isinstance(unique, bool):
            raise _Unsupported

        def check(value: Any) -> bool:
            if not unique or not isinstance(value, list):
                return True
            if not all(isinstance(item, str) for item in value):
                raise Unsure  # jsonschema's uniq: True is not 1, [1] equals [1.0]
            return len(set(value)) == len(value)

        return check

    def k_minProperties(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._count(limit)
        return lambda value: not isinstance(value, dict) or len(value) >= n

    def k_maxProperties(self, limit: Any, schema: dict[str, Any]) -> Check:
        n = self._count(limit)
        return lambda value: not isinstance(value, dict) or len(value) <= n

    def k_items(self, items: Any, schema: dict[str, Any]) -> Check:
        if "prefixItems" in schema:
            raise _Unsupported
        check = self.compile(items)
        return lambda value: not isinstance(value, list) or all(check(i) for i in value)

    def k_required(self, names: Any, schema: dict[str, Any]) -> Check:
        if not isinstance(names, list):
            raise _Unsupported
        return lambda value: not isinstance(value, dict) or all(n in value for n in names)

    def k_properties(self, properties: Any, schema: dict[str, Any]) -> Check:
        if not isinstance(properties, dict):
            raise _Unsupported
        checks = {name: self.compile(sub) for name, sub in properties.items()}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name, item in value.items():
                test = checks.get(name) if isinstance(name, str) else None
                if test is not None and not test(item):
                    return False
            return True

        return check

    def k_additionalProperties(self, extra: Any, schema: dict[str, Any]) -> Check:
        if "patternProperties" in schema:
            raise _Unsupported
        known = schema.get("properties", {})
        if not isinstance(known, dict):
            raise _Unsupported
        if extra is False:
            return lambda value: not isinstance(value, dict) or all(k in known for k in value)
        check = self.compile(extra)
        return lambda value: (
            not isinstance(value, dict)
            or all(check(item) for k, item in value.items() if k not in known)
        )

    def k_propertyNames(self, names: Any, schema: dict[str, Any]) -> Check:
        check = self.compile(names)
        return lambda value: not isinstance(value, dict) or all(check(k) for k in value)

    def k_allOf(self, branches: Any, schema: dict[str, Any]) -> Check:
        tags = [tag(b) for b in branches] if isinstance(branches, list) else [None]
        if not tags or any(t is None for t in tags):
            checks = self._branches(branches)
            return lambda value: all(check(value) for check in checks)
        # a union tagged by `type` (the tool schemas): of `if: {type: object, properties:
        # {type: {const: T}}}, then: ...` only the branches of the value's own tag can apply
        thens: dict[str, list[Check]] = {}
        for t, branch in zip(tags, branches, strict=True):
            thens.setdefault(str(t), []).append(self.compile(branch["then"]))
        every = [then for group in thens.values() for then in group]

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True  # every `if` fails (not a mapping): no `then` applies
            if "type" not in value:
                return all(then(value) for then in every)  # every `if` holds
            found = value["type"]
            if not isinstance(found, str):
                return True  # equal to no string `const`
            return all(then(value) for then in thens.get(found, ()))

        return check

    def k_anyOf(self, branches: Any, schema: dict[str, Any]) -> Check:
        checks = self._branches(branches)
        return lambda value: any(check(value) for check in checks)

    def k_oneOf(self, branches: Any, schema: dict[str, Any]) -> Check:
        checks = self._branches(branches)
        return lambda value: sum(1 for check in checks if check(value)) == 1

    def k_not(self, negated: Any, schema: dict[str, Any]) -> Check:
        check = self.compile(negated)
        return lambda value: not check(value)

    def k_if(self, test: Any, schema: dict[str, Any]) -> Check:
        condition = self.compile(test)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda value: then(value) if condition(value) else otherwise(value)

    def _branches(self, branches: Any) -> list[Check]:
        if not isinstance(branches, Sequence) or isinstance(branches, str) or not branches:
            raise _Unsupported
        return [self.compile(b) for b in branches]
