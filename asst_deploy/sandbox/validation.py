"""Request validation with the real service's wording: small composable schemas, first error wins.

Usage from a handler::

    body = validate(CREATE_THING, await json_body(request))

A schema is a tree of `Str`, `Int`, `Num`, `Bool`, `Arr`, `Obj`, `Tagged`, `ByType`,
`Nullable` and `Lazy` nodes; `check(value, path)` raises the real service's 400 for the
first problem found (wording, `param` and `code` as the real one sends them) and returns
the value unchanged. Shared pieces (METADATA, ASSISTANT_TOOLS, RESPONSE_FORMAT,
CHUNKING_STRATEGY, ATTRIBUTES, TEMPERATURE, TOP_P, ...) are module constants so that
thread, message and run bodies reuse them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from asst_deploy import limits
from asst_deploy.sandbox.apierrors import APIError, invalid_type


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def describe(value: Any) -> str:
    """How the real service names a JSON value's type in error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def choices(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def bad_value(param: str, value: Any, allowed: Sequence[str]) -> APIError:
    return APIError(
        400,
        f"Invalid value: '{value}'. Supported values are: {choices(allowed)}.",
        param=param,
        code="invalid_value",
    )


def missing(param: str) -> APIError:
    return APIError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def unknown(param: str) -> APIError:
    return APIError(400, f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def limit_error(param: str, kind: str, value: Any, bound: Any, above: bool) -> APIError:
    word, sign = ("above maximum", "<=") if above else ("below minimum", ">=")
    return APIError(
        400,
        f"Invalid '{param}': {kind} {word} value. Expected a value {sign} {bound}, "
        f"but got {value} instead.",
        param=param,
        code=f"{kind}_{'above_max' if above else 'below_min'}_value",
    )


class Schema:
    def check(self, value: Any, path: str) -> Any:
        raise NotImplementedError


@dataclass
class AnyValue(Schema):
    def check(self, value: Any, path: str) -> Any:
        return value


@dataclass
class Str(Schema):
    max_len: int | None = None
    enum: Sequence[str] | None = None
    pattern: str | None = None

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, str):
            raise invalid_type(path, "a string", describe(value))
        if self.enum is not None and value not in self.enum:
            raise bad_value(path, value, self.enum)
        if self.max_len is not None and len(value) > self.max_len:
            raise APIError(
                400,
                f"Invalid '{path}': string too long. Expected a string with maximum length "
                f"{self.max_len}, but got a string with length {len(value)} instead.",
                param=path,
                code="string_above_max_length",
            )
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise APIError(
                400,
                f"Invalid '{path}': string does not match pattern. Expected a string that "
                f"matches the pattern '{self.pattern}'.",
                param=path,
                code="invalid_value",
            )
        return value


@dataclass
class Int(Schema):
    min: int | None = None
    max: int | None = None

    def check(self, value: Any, path: str) -> Any:
        # JSON has one number type; the real service accepts 3.0 where an integer is due.
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        ):
            raise invalid_type(path, "an integer", describe(value))
        if self.min is not None and value < self.min:
            raise limit_error(path, "integer", value, self.min, above=False)
        if self.max is not None and value > self.max:
            raise limit_error(path, "integer", value, self.max, above=True)
        return int(value)


@dataclass
class Num(Schema):
    min: float | None = None
    max: float | None = None

    def check(self, value: Any, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid_type(path, "a number", describe(value))
        if self.min is not None and value < self.min:
            raise limit_error(path, "decimal", value, _num(self.min), above=False)
        if self.max is not None and value > self.max:
            raise limit_error(path, "decimal", value, _num(self.max), above=True)
        return value


def _num(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


@dataclass
class Bool(Schema):
    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, bool):
            raise invalid_type(path, "a boolean", describe(value))
        return value


@dataclass
class Nullable(Schema):
    inner: Schema

    def check(self, value: Any, path: str) -> Any:
        return None if value is None else self.inner.check(value, path)


@dataclass
class Arr(Schema):
    items: Schema
    min_items: int | None = None
    max_items: int | None = None

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise invalid_type(path, "an array", describe(value))
        if self.min_items and len(value) < self.min_items:
            if not value:
                raise APIError(
                    400,
                    f"Invalid '{path}': empty array. Expected an array with minimum length "
                    f"{self.min_items}, but got an empty array instead.",
                    param=path,
                    code="empty_array",
                )
            raise APIError(
                400,
                f"Invalid '{path}': array too short. Expected an array with minimum length "
                f"{self.min_items}, but got an array with length {len(value)} instead.",
                param=path,
                code="array_below_min_length",
            )
        if self.max_items is not None and len(value) > self.max_items:
            raise APIError(
                400,
                f"Invalid '{path}': array too long. Expected an array with maximum length "
                f"{self.max_items}, but got an array with length {len(value)} instead.",
                param=path,
                code="array_above_max_length",
            )
        for i, item in enumerate(value):
            self.items.check(item, f"{path}[{i}]")
        return value


@dataclass
class Obj(Schema):
    """An object with known `fields`; or a map when `values` is set (every key allowed).

    `post` runs after the fields passed, for rules that involve several of them.
    """

    fields: Mapping[str, Schema] = field(default_factory=dict)
    required: Sequence[str] = ()
    values: Schema | None = None
    max_props: int | None = None
    max_key_len: int | None = None
    post: Callable[[dict[str, Any], str], None] | None = None

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise invalid_type(path or "body", "an object", describe(value))
        for name in self.required:
            if name not in value:
                raise missing(join(path, name))
        if self.max_props is not None and len(value) > self.max_props:
            raise APIError(
                400,
                f"Invalid '{path}': too many properties. Expected an object with at most "
                f"{self.max_props} properties, but got an object with {len(value)} properties "
                "instead.",
                param=path,
                code="object_above_max_properties",
            )
        for key, item in value.items():
            sub = join(path, key)
            if self.max_key_len is not None and len(key) > self.max_key_len:
                raise APIError(
                    400,
                    f"Invalid '{path}': property name too long. Expected property names with "
                    f"maximum length {self.max_key_len}, but got '{key}' with length {len(key)} "
                    "instead.",
                    param=sub,
                    code="string_above_max_length",
                )
            schema = self.fields.get(key, self.values)
            if schema is None:
                raise unknown(sub)
            schema.check(item, sub)
        if self.post is not None:
            self.post(value, path)
        return value


@dataclass
class Tagged(Schema):
    """One of several object shapes, chosen by the string in `key` (usually "type")."""

    variants: Mapping[str, Schema]
    key: str = "type"

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise invalid_type(path, "an object", describe(value))
        if self.key not in value:
            raise missing(join(path, self.key))
        tag = value[self.key]
        if not isinstance(tag, str):
            raise invalid_type(join(path, self.key), "a string", describe(tag))
        if tag not in self.variants:
            raise bad_value(join(path, self.key), tag, list(self.variants))
        return self.variants[tag].check(value, path)


@dataclass
class ByType(Schema):
    """A value that may take several JSON types: the schema is picked by the Python type."""

    options: Mapping[type | tuple[type, ...], Schema]
    expected: str

    def check(self, value: Any, path: str) -> Any:
        for types, schema in self.options.items():
            if isinstance(value, types) and not (
                isinstance(value, bool) and bool not in _flat(types)
            ):
                return schema.check(value, path)
        raise invalid_type(path, self.expected, describe(value))


def _flat(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


@dataclass
class Lazy(Schema):
    """A forward reference, for recursive shapes such as compound filters."""

    target: Callable[[], Schema]

    def check(self, value: Any, path: str) -> Any:
        return self.target().check(value, path)


def validate(schema: Schema, body: Any) -> dict[str, Any]:
    """Check a request body; returns it unchanged or raises the real 400."""
    result = schema.check(body, "")
    assert isinstance(result, dict)
    return result


def const(tag: str, *required: str, **fields: Schema) -> Obj:
    """An object variant of a `Tagged` union: its tag plus `fields` (`required` among them)."""
    return Obj({"type": Str(enum=[tag]), **fields}, required=["type", *required])


# --- shared pieces (the prose-only limits of the API reference included) ---------------

NAME_PATTERN = r"^[a-zA-Z0-9_-]+$"

METADATA = Nullable(
    Obj(
        values=Str(max_len=limits.METADATA_VALUE_MAX),
        max_props=limits.METADATA_PAIRS_MAX,
        max_key_len=limits.METADATA_KEY_MAX,
    )
)

ATTRIBUTES = Nullable(
    Obj(
        values=ByType(
            {str: Str(max_len=limits.METADATA_VALUE_MAX), bool: Bool(), (int, float): Num()},
            expected="a string, number, or boolean",
        ),
        max_props=limits.METADATA_PAIRS_MAX,
        max_key_len=limits.METADATA_KEY_MAX,
    )
)

TEMPERATURE = Nullable(Num(min=limits.TEMPERATURE[0], max=limits.TEMPERATURE[1]))
TOP_P = Nullable(Num(min=limits.TOP_P[0], max=limits.TOP_P[1]))
MODEL = Str()
REASONING_EFFORT = Nullable(Str(enum=list(limits.REASONING_EFFORTS)))

FUNCTION = Obj(
    {
        "name": Str(max_len=limits.FUNCTION_NAME_MAX, pattern=NAME_PATTERN),
        "description": Str(),
        "parameters": Obj(values=AnyValue()),
        "strict": Nullable(Bool()),
    },
    required=["name"],
)

FILE_SEARCH_TOOL = Obj(
    {
        "max_num_results": Int(
            min=limits.FILE_SEARCH_MAX_NUM_RESULTS[0], max=limits.FILE_SEARCH_MAX_NUM_RESULTS[1]
        ),
        "ranking_options": Obj(
            {
                "ranker": Str(enum=["auto", "default_2024_08_21"]),
                "score_threshold": Num(min=0, max=1),
            },
            required=["score_threshold"],
        ),
    }
)

ASSISTANT_TOOLS = Arr(
    Tagged(
        {
            "code_interpreter": const("code_interpreter"),
            "file_search": const("file_search", file_search=FILE_SEARCH_TOOL),
            "function": Obj({"type": Str(), "function": FUNCTION}, required=["type", "function"]),
        }
    ),
    max_items=limits.TOOLS_MAX,
)

RESPONSE_FORMAT = Nullable(
    ByType(
        {
            str: Str(enum=["auto"]),
            dict: Tagged(
                {
                    "text": const("text"),
                    "json_object": const("json_object"),
                    "json_schema": const(
                        "json_schema",
                        "json_schema",
                        json_schema=Obj(
                            {
                                "name": Str(max_len=64, pattern=NAME_PATTERN),
                                "description": Str(),
                                "schema": Obj(values=AnyValue()),
                                "strict": Nullable(Bool()),
                            },
                            required=["name"],
                        ),
                    ),
                }
            ),
        },
        expected="a string or an object",
    )
)


def _overlap_at_most_half(static: dict[str, Any], path: str) -> None:
    overlap, size = static["chunk_overlap_tokens"], static["max_chunk_size_tokens"]
    if overlap > size / 2:
        param = join(path, "chunk_overlap_tokens")
        raise APIError(
            400,
            f"Invalid '{param}': chunk_overlap_tokens must not exceed half of "
            f"max_chunk_size_tokens ({size}), but got {overlap} instead.",
            param=param,
            code="invalid_value",
        )


CHUNKING_STRATEGY = Tagged(
    {
        "auto": const("auto"),
        "static": const(
            "static",
            "static",
            static=Obj(
                {
                    "max_chunk_size_tokens": Int(
                        min=limits.CHUNK_SIZE_TOKENS[0], max=limits.CHUNK_SIZE_TOKENS[1]
                    ),
                    "chunk_overlap_tokens": Int(min=0),
                },
                required=["max_chunk_size_tokens", "chunk_overlap_tokens"],
                post=_overlap_at_most_half,
            ),
        ),
    }
)

EXPIRES_AFTER = Obj(
    {
        "anchor": Str(enum=["last_active_at"]),
        "days": Int(min=limits.EXPIRES_AFTER_DAYS[0], max=limits.EXPIRES_AFTER_DAYS[1]),
    },
    required=["anchor", "days"],
)

CODE_INTERPRETER_RESOURCES = Obj(
    {"file_ids": Arr(Str(), max_items=limits.CODE_INTERPRETER_FILES_MAX)}
)
