"""Validate documents against the spec schema and word each failure for a person."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from asst_deploy import speccache
from asst_deploy.errors import Problem
from asst_deploy.spec import fastcheck, schema
from asst_deploy.yamlpos import Document, JsonPath, shared_memo

if TYPE_CHECKING:  # imported when a document is not valid (see fastcheck): 40 ms
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def _shared_defs() -> dict[str, Any]:
    return {"$defs": {**schema.defs([]), "project_file": schema.PROJECT_SCHEMA}}


# The schema every check reads: the shared definitions until the document kinds' registry
# (asst_deploy/spec/documents) hands over the whole one, which it does when imported.
_root: Callable[[], dict[str, Any]] = _shared_defs


def use(root: Callable[[], dict[str, Any]]) -> None:
    """Check against `root()` from now on (the registry's schema, kept current by it)."""
    global _root
    _root = root
    forget()


def forget() -> None:
    """Drop what was compiled from the schema (the registry changed)."""
    validator.cache_clear()
    _parts.cache_clear()
    _fast.cache_clear()
    _fields.cache_clear()
    _digest.cache_clear()


def _draft() -> type[Draft202012Validator]:
    from jsonschema import Draft202012Validator

    return Draft202012Validator


@cache
def validator(kind: str) -> Draft202012Validator:
    """A compiled validator for one document kind: "project_file", "assistant", "vector_store"."""
    root = _root()
    return _draft()({"$defs": root["$defs"], "$ref": f"#/$defs/{kind}"})


@cache
def _fast(kind: str) -> fastcheck.Check | None:
    """The kind's schema as plain Python checks (None: a keyword fastcheck does not know)."""
    return fastcheck.compile_schema({"$ref": f"#/$defs/{kind}"}, _root()["$defs"])


@cache
def _fields(kind: str) -> dict[str, fastcheck.Check] | None:
    """Each property's schema as a plain check when the kind's schema is a plain closed
    mapping (then a mapping is valid exactly when its keys are allowed, the required ones
    present, and every value valid); else None."""
    defs = _root()["$defs"]
    sch = defs.get(kind)
    if (
        not isinstance(sch, dict)
        or not {"type", "properties"} <= set(sch) <= _PLAIN_OBJECT_KEYS | _PLAIN_OBJECT_NOTES
        or sch.get("type") != "object"
        or sch.get("additionalProperties", True) is not False
        or not isinstance(sch["properties"], dict)
    ):
        return None
    checks = {}
    for name, sub in sch["properties"].items():
        check = fastcheck.compile_schema(sub, defs)
        if check is None:
            return None
        checks[name] = check
    return checks


@cache
def _digest() -> str:
    """The schema's fingerprint: a check remembered in the project's cache holds for it alone."""
    text = json.dumps(_root(), sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _passed(kind: str, content: bytes) -> bytes:
    return speccache.key("valid", _digest(), kind, content)


_VALID: set[tuple[str, ...]] = set()  # (kind, property[, "item"], JSON text) known to be valid
_PLAIN_OBJECT_KEYS = frozenset({"type", "properties", "additionalProperties", "required"})
_PLAIN_OBJECT_NOTES = frozenset({"description", "title"})
_PLAIN_ARRAY_KEYS = frozenset({"type", "items", "minItems", "maxItems"})


class _Tagged:
    """Whether a value is valid against a schema; for a union tagged by `type` (an allOf of
    `if: {type: object, properties: {type: {const: T}}}, then: ...`, the form of the tool
    schemas) a mapping of tag T is checked against the common part and T's branches alone:
    every other `if` fails, so its `then` does not apply, and the answer is the same."""

    def __init__(self, defs: dict[str, Any], sch: dict[str, Any]) -> None:
        self.full = _draft()({"$defs": defs, **sch})
        self.tags: dict[str, Draft202012Validator] = {}
        ref = sch.get("$ref")
        if set(sch) == {"$ref"} and isinstance(ref, str) and ref.startswith("#/$defs/"):
            sch = defs.get(ref.removeprefix("#/$defs/"), {})
        branches = sch.get("allOf") if isinstance(sch, dict) else None
        if not isinstance(branches, list) or any(k.startswith("unevaluated") for k in sch):
            return
        by_tag: dict[str, list[Any]] = {}
        for branch in branches:
            tag = fastcheck.tag(branch)
            if tag is None:
                return
            by_tag.setdefault(tag, []).append(branch["then"])
        common = {k: v for k, v in sch.items() if k != "allOf"}
        self.tags = {
            tag: _draft()({"$defs": defs, "allOf": [common, *thens]})
            for tag, thens in by_tag.items()
        }

    def is_valid(self, value: Any) -> bool:
        tag = value.get("type") if isinstance(value, dict) else None
        if isinstance(tag, str) and tag in self.tags:
            return bool(self.tags[tag].is_valid(value))
        return bool(self.full.is_valid(value))


class _Part:
    """How one property's value is checked: whole, or item by item for a plain list (so
    that an item shared by many lists, like `{type: file_search}`, is checked once)."""

    def __init__(self, defs: dict[str, Any], sch: dict[str, Any]) -> None:
        self.whole = _Tagged(defs, sch)
        self.items: _Tagged | None = None
        self.min_items, self.max_items = 0, None
        items = sch.get("items")
        if (
            set(sch) - _PLAIN_OBJECT_NOTES <= _PLAIN_ARRAY_KEYS
            and sch.get("type") == "array"
            and isinstance(items, dict)
            and _count(sch.get("minItems", 0))
            and (sch.get("maxItems") is None or _count(sch["maxItems"]))
        ):
            self.items = _Tagged(defs, items)
            self.min_items, self.max_items = sch.get("minItems", 0), sch.get("maxItems")

    def is_valid(self, kind: str, name: str, value: Any) -> bool:
        if self.items is None or not isinstance(value, list):
            return self.whole.is_valid(value)
        if len(value) < self.min_items or (
            self.max_items is not None and len(value) > self.max_items
        ):
            return False
        for item in value:
            text = _memo_text(item)
            if text is None:
                return False
            memo = (kind, name, "item", text)
            if memo in _VALID:
                continue
            if not self.items.is_valid(item):
                return False
            _VALID.add(memo)
        return True


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_SCALARS = (str, int, bool, type(None))


def _memo_text(value: Any) -> str | None:
    """The value's JSON text (what the memo knows values by), None when it is not plain JSON;
    a string, integer, boolean or null gets a cheaper key of its own type tag and value."""
    kind = type(value)
    if kind in _SCALARS:
        return f"{kind.__name__}:{value}"
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return None


@cache
def _parts(kind: str) -> dict[str, _Part | None] | None:
    """One check per property when the kind's schema is a plain closed mapping (then a
    document is valid exactly when its keys are allowed and present and every value is), so
    that a value shared by many documents or environments is checked once; else None."""
    sch = _root()["$defs"].get(kind)
    if (
        not isinstance(sch, dict)
        or not {"type", "properties"} <= set(sch) <= _PLAIN_OBJECT_KEYS | _PLAIN_OBJECT_NOTES
        or sch.get("type") != "object"
        or sch.get("additionalProperties", True) is not False
    ):
        return None
    defs = _root()["$defs"]
    return {
        name: _Part(defs, sub) if isinstance(sub, dict) else None
        for name, sub in sch["properties"].items()
    }


def _known_valid(kind: str, data: Any) -> bool:
    """Whether `data` is valid as `kind`: by the schema compiled to plain checks, or else
    answered from values already checked (a cheap yes or an honest "don't know": the full
    validator then runs and words the errors)."""
    fast = _fast(kind)
    if fast is not None:
        try:
            return fast(data)
        except Exception:  # a value the plain checks cannot judge: jsonschema will
            pass
    parts = _parts(kind)
    if parts is None or not isinstance(data, dict):
        return False
    required = _root()["$defs"][kind].get("required", ())
    if any(r not in data for r in required) or any(k not in parts for k in data):
        return False
    for name, value in data.items():
        part = parts[name]
        if part is None:
            return False
        text = _memo_text(value)
        if text is None:  # not plain JSON (a date, NaN): no shortcut
            return False
        memo = (kind, name, text)
        if memo in _VALID:
            continue
        if not part.is_valid(kind, name, value):
            return False
        _VALID.add(memo)
    return True


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A "did you mean" hint, or the list of choices when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "expected one of: " + ", ".join(f"'{c}'" for c in sorted(choices))


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        dict: "a mapping",
        list: "a list",
    }.get(type(value), type(value).__name__)


def _field(path: JsonPath) -> str:
    """The name a person knows a value by: its key, with the index of a list item."""
    indexes = ""
    for part in reversed(path):
        if isinstance(part, int):
            indexes = f"[{part}]{indexes}"
        else:
            return f"{part}{indexes}"
    return f"document{indexes}"


def _expected(schema_type: Any) -> str:
    types = schema_type if isinstance(schema_type, list) else [schema_type]
    return " or ".join(_TYPE_NAMES.get(t, str(t)) for t in types)


def _branch_fits(branch: dict[str, Any], value: Any) -> bool:
    """Whether the user evidently meant this oneOf branch (same `type` tag, or same JSON type)."""
    if isinstance(value, dict) and "type" in value:
        tag = branch.get("properties", {}).get("type", {})
        return bool(tag.get("const") == value["type"] or value["type"] in tag.get("enum", []))
    declared = branch.get("type")
    return declared is not None and type_name(value) == _expected(declared)


def _leaf(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf failures, the deepest error inside the branch the user meant."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        branches = error.validator_value
        fitting = [
            sub
            for sub in error.context
            if _branch_fits(branches[sub.relative_schema_path[0]], error.instance)
        ]
        if not fitting:
            break
        error = max(fitting, key=lambda e: len(e.absolute_path))
    return error


def _one_of_message(error: ValidationError, field: str) -> tuple[str, str]:
    options = []
    for sub in error.schema.get(error.validator, []):
        if "$ref" in sub:
            sub = {"description": sub["$ref"].rsplit("/", 1)[-1]}
        if "const" in sub:
            options.append(repr(sub["const"]))
        elif sub.get("type") == "object":
            req = sub.get("required", [])
            options.append("{" + ", ".join(f"{r}: ..." for r in req) + "}")
        elif "type" in sub:
            options.append(_expected(sub["type"]))
    if options:
        return f"'{field}' must be " + " or ".join(options), ""
    return f"'{field}' has an invalid value", ""


def _is_secret(sch: dict[str, Any]) -> bool:
    """Whether `sch` is the schema of a secret field ($defs/secret: `{from_env: NAME}`)."""
    return sch.get("required") == ["from_env"] and list(sch.get("properties") or ()) == ["from_env"]


def describe(error: ValidationError) -> tuple[JsonPath, bool, str, str]:
    """(path, at_key, message, hint) for one schema error."""
    error = _leaf(error)
    path: JsonPath = tuple(error.absolute_path)
    field = _field(path)
    value = error.instance
    kind = error.validator
    sch = error.schema if isinstance(error.schema, dict) else {}
    if kind in ("type", "additionalProperties", "required") and _is_secret(sch):
        # never the value: it may be the secret itself
        return (
            path,
            False,
            f"'{field}' is a secret: a spec gives it only as {{from_env: NAME}}, never as a value",
            f"write '{field}: {{from_env: NAME}}' and set the variable NAME where plan and "
            "apply run; its value never appears in a plan or output",
        )
    if kind == "additionalProperties":
        allowed = list(sch.get("properties", {}))
        extra = sorted(set(value) - set(allowed))
        name = extra[0]
        return (*path, name), True, f"unknown key '{name}'", suggest(name, allowed)
    if kind == "required":
        missing = error.message.split("'")[1]
        return path, False, f"missing required key '{missing}'", f"add '{missing}: ...'"
    if kind == "type":
        return (
            path,
            False,
            f"'{field}' must be {_expected(error.validator_value)}, not {type_name(value)}",
            "",
        )
    if kind in ("enum", "const"):
        choices = error.validator_value if kind == "enum" else [error.validator_value]
        hint = suggest(str(value), [str(c) for c in choices])
        return path, False, f"'{field}' has an invalid value {value!r}", hint
    if kind == "not" and "propertyNames" in error.relative_schema_path:
        # only environments' names are refused so; the key itself is what to point at
        return (
            (*path, value),
            True,
            f"the environment name '{value}' is reserved: `asst-deploy test --envs` and "
            "`--parity` use it for the project file's own targets and defaults",
            f"rename the environment, e.g. to '{value}-env'",
        )
    if kind == "maxLength":
        if path and error.relative_schema_path and "propertyNames" in error.relative_schema_path:
            return (
                path,
                False,
                f"key '{value}' is {len(value)} characters long; the API allows at most {error.validator_value}",
                "shorten it",
            )
        return (
            path,
            False,
            f"'{field}' is {len(value)} characters long; the API allows at most {error.validator_value}",
            "shorten it",
        )
    if kind == "minLength":
        return path, False, f"'{field}' must not be empty", ""
    if kind in ("minimum", "maximum", "exclusiveMinimum"):
        low, high = sch.get("minimum", sch.get("exclusiveMinimum")), sch.get("maximum")
        if low is not None and high is not None:
            return path, False, f"'{field}' is {value}; it must be between {low} and {high}", ""
        if kind == "exclusiveMinimum":
            return path, False, f"'{field}' is {value}; it must be greater than {low}", ""
        return path, False, f"'{field}' is {value}; it must be at least {low}", ""
    if kind == "pattern":
        if sch is _root()["$defs"]["key"] or error.validator_value == schema.KEY_PATTERN:
            return (
                path,
                False,
                f"invalid key {value!r}",
                "use 1-64 lower-case letters, digits, '_', '.' or '-', starting with a letter or digit",
            )
        return (
            path,
            False,
            f"'{field}' value {value!r} must match {error.validator_value}",
            "use only letters, digits, '_' and '-', at most 64",
        )
    if kind == "maxItems":
        return (
            path,
            False,
            f"'{field}' has {len(value)} items; the API allows at most {error.validator_value}",
            "",
        )
    if kind == "maxProperties":
        return (
            path,
            False,
            f"'{field}' has {len(value)} entries; the API allows at most {error.validator_value}",
            "",
        )
    if kind in ("oneOf", "anyOf"):
        if isinstance(value, dict) and {"function", "file"} <= set(value):
            return (
                path,
                False,
                "a function tool takes either 'function' or 'file', not both",
                "remove one",
            )
        if (
            isinstance(value, dict)
            and sch.get("oneOf")
            and all("required" in s and len(s) == 1 for s in sch["oneOf"])
        ):
            keys = " or ".join(f"'{s['required'][0]}'" for s in sch["oneOf"])
            return (
                path,
                False,
                f"a function tool needs {keys}",
                "add 'function: {name: ...}' or 'file: functions/x.json'",
            )
        message, hint = _one_of_message(error, field)
        return path, False, message, hint
    return path, False, error.message, ""


def is_valid(doc: Document, kind: str) -> bool:
    """Whether `doc.data` is valid as `kind`, without wording why not; the answer for a
    file's own content is remembered in the project's cache (asst_deploy/speccache)."""
    content = doc.content
    if content is None:
        return _known_valid(kind, doc.data)
    memo = shared_memo("valid contents")  # each environment asks again
    if memo is not None and (kind, content) in memo:
        return True
    if speccache.get(_passed(kind, content)) is not True:
        if not _known_valid(kind, doc.data):
            return False
        speccache.put(_passed(kind, content), True)
    if memo is not None:
        memo[(kind, content)] = True
    return True


def _overlay_valid(doc: Document, kind: str, source: Document) -> bool:
    """Whether `doc` is valid, known from `source` being valid and the top-level values
    `doc.data` holds that are not the same objects as in `source.data` (added, replaced or
    removed; the same objects are the same values: nothing changes a document in place).
    False: not known, the full check says."""
    fields = _fields(kind)
    data, own = doc.data, source.data
    if fields is None or not isinstance(data, dict) or not isinstance(own, dict):
        return False
    for name, value in data.items():
        if name in own and own[name] is value:
            continue
        test = fields.get(name)
        if test is None:
            return False
        try:
            if not test(value):
                return False
        except Exception:  # a value the plain checks cannot judge (fastcheck.Unsure)
            return False
    required = _root()["$defs"][kind].get("required", ())
    return all(name in data for name in required) and is_valid(source, kind)


def check(
    doc: Document,
    kind: str,
    problems: list[Problem],
    base: JsonPath = (),
    *,
    source: Document | None = None,
) -> bool:
    """Validate `doc.data` (or its part at `base`) as `kind`; True when it is valid.
    `source`: the document `doc` was made from by adding, replacing or removing top-level
    values (an environment's defaults and overrides); when it is valid, only the values
    `doc` holds of its own are checked."""
    if not base:
        if source is not None and _overlay_valid(doc, kind, source):
            return True
        if is_valid(doc, kind):
            return True
    data = doc.data
    for part in base:
        data = data[part]
    if base and _known_valid(kind, data):
        return True
    ok = True
    seen: set[tuple[JsonPath, str]] = set()
    for error in sorted(
        validator(kind).iter_errors(data), key=lambda e: list(map(str, e.absolute_path))
    ):
        ok = False
        path, at_key, message, hint = describe(error)
        full = (*base, *path)
        if (full, message) in seen:
            continue
        seen.add((full, message))
        problems.append(Problem(doc.where(full, key=at_key), message, hint))
    return ok


def prune(doc: Document, kind: str) -> Document | None:
    """A copy of `doc` without the values the schema refuses, so that the semantic checks
    still run on the rest and every problem shows at once (None when no mapping is left)."""
    pruned = doc.copy(copy.deepcopy(doc.data))
    for _ in range(8):  # removing a value may leave its parent missing a required key
        errors = list(validator(kind).iter_errors(pruned.data))
        if not errors:
            return pruned
        targets: set[JsonPath] = set()
        for error in errors:
            error = _leaf(error)
            path: JsonPath = tuple(error.absolute_path)
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                allowed = (
                    error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
                )
                targets |= {(*path, k) for k in error.instance if k not in allowed}
            else:
                targets.add(path)
        if () in targets:
            return None
        # a value inside another one removed goes with it; later list items go first, so
        # the indexes still to remove stay valid
        outer = {
            t
            for t in targets
            if not any(t[: len(o)] == o for o in targets if o != t and len(o) < len(t))
        }
        for path in sorted(outer, key=_removal_order, reverse=True):
            _remove(pruned, path)
    return None


def _removal_order(path: JsonPath) -> tuple[int, int]:
    last = path[-1]
    return len(path), last if isinstance(last, int) else -1


def _remove(doc: Document, path: JsonPath) -> None:
    parent: Any = doc.data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        del parent[last]
    at = len(path) - 1
    for table in (doc.positions, doc.key_positions):
        moved: dict[JsonPath, Any] = {}
        for p in list(table):
            if p[:at] != path[:at] or len(p) <= at:
                continue
            index = p[at]
            if index == last:
                del table[p]
            elif isinstance(last, int) and isinstance(index, int) and index > last:
                moved[(*p[:at], index - 1, *p[at + 1 :])] = table.pop(p)
        table.update(moved)
