"""The spec document kinds: one module each, registered here; the loader, the schema and the
project model read this registry and name no kind themselves.

Adding a document kind is a module declaring a `DocumentKind` (its schema fields and how
it builds its record) and a row below; its records are `Project.records[<kind>]`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from asst_deploy.spec import schema, schemacheck
from asst_deploy.spec.documents import (
    assistant,
    automation,
    environment,
    skill,
    vault,
    vector_store,
)
from asst_deploy.spec.documents.base import Context, DocumentKind

# In the order their problems are reported and their records built
DOCUMENTS: dict[str, DocumentKind] = {
    d.name: d
    for d in (
        assistant.DOCUMENT,
        vector_store.DOCUMENT,
        vault.DOCUMENT,
        automation.DOCUMENT,
        skill.DOCUMENT,
        environment.DOCUMENT,
    )
}


def register(kind: DocumentKind) -> None:
    """Add a document kind (a plug-in, or a test's own)."""
    DOCUMENTS[kind.name] = kind
    _changed()


def unregister(name: str) -> None:
    DOCUMENTS.pop(name, None)
    _changed()


def _changed() -> None:
    document_schema.cache_clear()
    schemacheck.forget()  # a new kind widens the project file's schema too


def names() -> list[str]:
    return sorted(DOCUMENTS)


def start_hint() -> str:
    """How to start a spec document, for the errors of one that does not say its kind."""
    return " or ".join(f"'kind: {name}'" for name in names())


@cache
def document_schema() -> dict[str, Any]:
    """One schema for every spec file, for editors: the project file or a document (made
    once: the checks read it per document)."""
    sections = [DOCUMENTS[name].section for name in names()]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema.SCHEMA_ID,
        "title": "asst-deploy spec",
        "$defs": {
            **schema.defs(sections),
            "project_file": schema.PROJECT_SCHEMA,
            **{name: DOCUMENTS[name].schema for name in names()},
        },
        "if": {"required": ["project"]},
        "then": {"$ref": "#/$defs/project_file"},
        "else": {
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"enum": names()}},
            "allOf": [
                {
                    "if": {"properties": {"kind": {"const": kind}}},
                    "then": {"$ref": f"#/$defs/{kind}"},
                }
                for kind in names()
            ],
        },
    }


__all__ = [
    "DOCUMENTS",
    "Context",
    "DocumentKind",
    "document_schema",
    "names",
    "register",
    "start_hint",
    "unregister",
]


schemacheck.use(document_schema)
