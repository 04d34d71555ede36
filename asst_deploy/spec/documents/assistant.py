"""`kind: assistant`: one assistant (an Assistants assistant, an agent, a request template)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from asst_deploy.spec.documents.base import Context, DocumentKind
from asst_deploy.spec.schema import ASSISTANT_FIELDS

if TYPE_CHECKING:
    from asst_deploy.desired import AssistantSpec
    from asst_deploy.spec.build import Builder
    from asst_deploy.yamlpos import Document

STORES = "vector_store"  # the document kind its file_search names by key


def build(builder: Builder, doc: Document, context: Context) -> AssistantSpec | None:
    return builder.assistant(
        doc,
        set(context.declared.get(STORES, ())),
        dict(context.variables),
        context.excluded.get(STORES, frozenset()),
    )


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
