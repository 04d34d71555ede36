"""`kind: vector_store`: a vector store, its files and their attributes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from asst_deploy.spec.documents.base import Context, DocumentKind
from asst_deploy.spec.schema import VECTOR_STORE_FIELDS

if TYPE_CHECKING:
    from asst_deploy.desired import VectorStoreSpec
    from asst_deploy.spec.build import Builder
    from asst_deploy.yamlpos import Document


def build(builder: Builder, doc: Document, context: Context) -> VectorStoreSpec | None:
    spec = builder.vector_store(doc)
    return builder.with_adopt(doc, spec, context.target, context.targets)


DOCUMENT = DocumentKind(
    name="vector_store",
    section="vector_stores",
    fields=VECTOR_STORE_FIELDS,
    build=build,
)
