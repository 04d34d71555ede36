"""`kind: assistant`: one assistant (an Assistants assistant, an agent, a request template)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from asst_deploy.spec import mcp, schemacheck
from asst_deploy.spec.documents.base import Context, DocumentKind
from asst_deploy.spec.schema import ASSISTANT_FIELDS

if TYPE_CHECKING:
    from asst_deploy.desired import AssistantSpec
    from asst_deploy.spec.build import Builder
    from asst_deploy.yamlpos import Document

STORES = "vector_store"  # the document kind its file_search names by key
VAULTS = "vault"  # the document kind its mcp tools' `credential:` names
ENVIRONMENTS = "environment"  # the document kind its `environment:` names


def build(builder: Builder, doc: Document, context: Context) -> AssistantSpec | None:
    before = len(builder.problems)
    vaults = mcp.Vaults(
        context.declared.get(VAULTS, frozenset()),
        context.excluded.get(VAULTS, frozenset()),
        context.parts.get(VAULTS, frozenset()),
    )
    mcp.check(builder, doc, vaults)  # no credential in a tool; `credential:` names one
    spec = builder.assistant(
        doc,
        set(context.declared.get(STORES, ())),
        dict(context.variables),
        context.excluded.get(STORES, frozenset()),
    )
    environment = _environment(builder, doc, context)
    if len(builder.problems) > before:
        return None
    if spec is not None and environment is not None:
        spec = dataclasses.replace(spec, environment=environment)
    return builder.with_adopt(doc, spec, context.target, context.targets)


def _environment(builder: Builder, doc: Document, context: Context) -> str | None:
    """The `kind: environment` document the agent runs in, checked (None: none)."""
    name = doc.data.get("environment")
    if not isinstance(name, str):
        return None
    this = doc.data["key"]
    declared = context.declared.get(ENVIRONMENTS, frozenset())
    if name in context.excluded.get(ENVIRONMENTS, frozenset()):
        builder.error(
            doc,
            ("environment",),
            f"environment '{name}' is excluded from this environment",
            f"exclude assistant '{this}' too (exclude: {{assistants: [{this}]}}), or keep "
            "the environment",
        )
    elif name not in declared:
        builder.error(
            doc,
            ("environment",),
            f"unknown environment '{name}'",
            schemacheck.suggest(name, sorted(declared))
            if declared
            else "declare it with 'kind: environment'",
        )
    files = (doc.data.get("tool_resources") or {}).get("code_interpreter") or {}
    if files.get("files"):
        builder.error(
            doc,
            ("tool_resources", "code_interpreter", "files"),
            f"code_interpreter files beside environment: {name}: the agent runs in that "
            "environment, which holds no files of this assistant",
            f"list them in environment '{name}''s files",
        )
    return name


def after_prune(original: Document, rest: Document) -> None:
    if "model" in original.data:
        rest.data.setdefault("model", "")  # refused already: not "missing" too
    if "tools" in original.data and "tools" not in rest.data:
        rest.data.pop("tool_resources", None)  # "tool not enabled" would follow


DOCUMENT = DocumentKind(
    name="assistant",
    section="assistants",
    fields=ASSISTANT_FIELDS,
    build=build,
    takes_defaults=True,
    refusable=True,
    after_prune=after_prune,
)
