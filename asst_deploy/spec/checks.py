"""Semantic checks the schema cannot express: JSON Schema validity, strict mode, metadata."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator
from typing import Any

from asst_deploy import identity, limits, speccache
from asst_deploy.yamlpos import JsonPath

Finding = tuple[JsonPath, str, str]  # (path relative to the checked value, message, hint)

_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


@functools.cache
def _meta_validator() -> Any:
    """The metaschema's validator, made when a function's schema is first checked (importing
    jsonschema takes 40 ms, which a project without function tools never needs)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def schema_findings(value: Any, strict: bool) -> list[Finding]:
    """Problems that make `value` an invalid JSON Schema (draft 2020-12) and, when `strict`,
    those strict mode refuses: all at once."""
    # Checking against the metaschema is the slowest step of validate, and `validate`
    # loads the same function files once per environment: remember the answers, and a
    # schema found flawless in the project's cache (then jsonschema is not even imported)
    text = json.dumps(value)
    known = speccache.key("a flawless JSON Schema, draft 2020-12", str(strict), text)
    if speccache.get(known) is True:
        return []
    findings = list(_schema_findings(text))
    if strict:
        findings += strict_findings(value)
    if not findings:
        speccache.put(known, True)
    return findings


@functools.lru_cache(maxsize=1024)
def _schema_findings(text: str) -> tuple[Finding, ...]:
    from jsonschema.exceptions import best_match

    findings: list[Finding] = []
    errors = _meta_validator().iter_errors(json.loads(text))
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        # the most relevant error inside an anyOf/oneOf, as check_schema would raise it
        error = best_match([error]) or error
        path = tuple(error.absolute_path)
        if path and path[-1] == "type" and isinstance(error.instance, str):
            # the metaschema's own wording ("not valid under any of the given schemas")
            # does not say what a type may be
            close = difflib.get_close_matches(error.instance, _JSON_TYPES, n=1)
            hint = (
                f"did you mean '{close[0]}'?" if close else "use one of: " + ", ".join(_JSON_TYPES)
            )
            findings.append(
                (path, f"not a valid JSON Schema: unknown type '{error.instance}'", hint)
            )
        else:
            findings.append(
                (
                    path,
                    f"not a valid JSON Schema: {error.message}",
                    "see https://json-schema.org/draft/2020-12",
                )
            )
    return tuple(findings)


def _subschemas(node: dict[str, Any]) -> Iterator[tuple[JsonPath, Any]]:
    # the schema may be invalid too (its own errors are reported beside these)
    for name in _SUBSCHEMA_MAPS:
        if isinstance(node.get(name), dict):
            for key, sub in node[name].items():
                yield (name, key), sub
    for name in _SUBSCHEMA_LISTS:
        if isinstance(node.get(name), list):
            for i, sub in enumerate(node[name]):
                yield (name, i), sub
    if isinstance(node.get("items"), dict):
        yield ("items",), node["items"]


def strict_findings(value: Any, path: JsonPath = ()) -> Iterator[Finding]:
    """Where a schema breaks the API's strict-mode rules: every object closes itself
    (additionalProperties: false) and lists all of its properties as required."""
    if not isinstance(value, dict):
        return
    if not path and value.get("type") != "object":
        yield path, "strict mode: the top-level schema must be of type 'object'", "set type: object"
    if value.get("type") == "object" or "properties" in value:
        where = "/".join(map(str, path)) or "the top level"
        if value.get("additionalProperties") is not False:
            yield (
                path,
                f"strict mode: the object at {where} must set additionalProperties: false",
                "add 'additionalProperties: false'",
            )
        # a `required` or `properties` of the wrong type is the schema's own error
        listed, properties = value.get("required", []), value.get("properties", {})
        missing = []
        if isinstance(listed, list) and isinstance(properties, dict):
            missing = [p for p in properties if p not in listed]
        if missing:
            yield (
                path,
                f"strict mode: the object at {where} must list every property as required; "
                f"missing: {', '.join(missing)}",
                "add them to 'required'; give optional fields a null type",
            )
    for sub_path, sub in _subschemas(value):
        yield from strict_findings(sub, (*path, *sub_path))


def metadata_findings(metadata: dict[str, Any]) -> Iterator[Finding]:
    """Reserved keys are the tool's own, and they count against the API's 16 pairs."""
    reserved_prefix = identity.PROJECT_KEY.split(".")[0] + "."
    for key in metadata:
        if key.startswith(reserved_prefix):
            yield (key,), f"metadata key '{key}' is reserved for asst-deploy", "rename it"
    room = limits.METADATA_PAIRS_MAX - len(identity.RESERVED_METADATA_KEYS)
    if len(metadata) > room:
        yield (
            (),
            f"metadata has {len(metadata)} pairs; at most {room} are allowed because "
            f"asst-deploy keeps {len(identity.RESERVED_METADATA_KEYS)} of the API's "
            f"{limits.METADATA_PAIRS_MAX} for identity",
            "remove some pairs",
        )


def chunking_findings(strategy: dict[str, Any]) -> Iterator[Finding]:
    static = strategy.get("static") if strategy.get("type") == "static" else None
    if isinstance(static, dict):
        size = static.get("max_chunk_size_tokens", 0)
        overlap = static.get("chunk_overlap_tokens", 0)
        if isinstance(size, int) and isinstance(overlap, int) and overlap > size // 2:
            yield (
                ("static", "chunk_overlap_tokens"),
                f"'chunk_overlap_tokens' is {overlap}; it must not exceed half of "
                f"max_chunk_size_tokens ({size // 2})",
                "lower the overlap",
            )
