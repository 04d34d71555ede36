"""Uploaded files: metadata objects plus blobs, addressed by file id only."""

from __future__ import annotations

import secrets
import string
from typing import Any

from asst_deploy.sandbox.apierrors import not_found
from asst_deploy.sandbox.store import Store

KIND = "file"
VECTOR_STORE_FILE = "vector_store_file"

_ALPHABET = string.ascii_letters + string.digits


def new_file_id() -> str:
    # Since late 2024 real file ids are "file-" plus 22 alphanumerics (no underscore).
    return "file-" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def create_file(
    store: Store,
    *,
    filename: str,
    content: bytes,
    purpose: str,
    created_at: int,
    expires_at: int | None = None,
) -> dict[str, Any]:
    """Store a blob and its file object (also for files the model itself produces)."""
    obj: dict[str, Any] = {
        "object": "file",
        "id": new_file_id(),
        "purpose": purpose,
        "filename": filename,
        "bytes": len(content),
        "created_at": created_at,
    }
    if expires_at is not None:
        obj["expires_at"] = expires_at
    obj |= {"status": "processed", "status_details": None}
    with store.transaction():
        store.put_blob(obj["id"], content)
        store.insert(KIND, obj)
    return obj


def get_file(store: Store, file_id: str) -> dict[str, Any]:
    obj = store.get(KIND, file_id)
    if obj is None:
        raise not_found("file", file_id)
    return obj


def file_content(store: Store, file_id: str) -> bytes:
    get_file(store, file_id)
    return store.get_blob(file_id) or b""


def delete_file(store: Store, file_id: str) -> None:
    """Delete a file and remove it from every vector store, as the real service does."""
    get_file(store, file_id)
    with store.transaction():
        for vector_store_id in store.parents_of(VECTOR_STORE_FILE, file_id):
            store.delete(VECTOR_STORE_FILE, file_id, parent=vector_store_id)
        store.delete(KIND, file_id)
        store.delete_blob(file_id)
