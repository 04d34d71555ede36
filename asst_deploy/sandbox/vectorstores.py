"""Vector stores as data: attached files, their lazily settled processing status, and search.

Processing is deterministic and needs no background task: attaching a file records
`_ready_at = clock() + Sandbox.processing_delay` and the outcome it will have. Every read
settles the object against the clock, so the file answers `in_progress` (as the real
create call does) until `_ready_at`, then `completed` or `failed` with the real
`last_error`. Store and batch counts, usage and status are derived from the files on each
read, so they can never drift from them. Keys starting with "_" are private and never
leave the server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

from asst_deploy.sandbox.apierrors import not_found
from asst_deploy.sandbox.filestore import VECTOR_STORE_FILE, file_content, get_file
from asst_deploy.sandbox.store import Store, new_id

VECTOR_STORE = "vector_store"
BATCH = "vector_store_file_batch"

DEFAULT_CHUNKING = {
    "type": "static",
    "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
}

# What file_search accepts; the binary document formats among them are indexed with no
# text, since the sandbox has no PDF or Office parser (they still complete).
SUPPORTED_EXTENSIONS = frozenset(
    {".c", ".cpp", ".cs", ".css", ".doc", ".docx", ".go", ".html", ".java", ".js", ".json"}
    | {".md", ".pdf", ".php", ".pptx", ".py", ".rb", ".sh", ".tex", ".ts", ".txt"}
)
_OPAQUE_EXTENSIONS = frozenset({".doc", ".docx", ".pdf", ".pptx"})

# The real service reports usage as the text size plus a fixed 1 KiB of index overhead
# (14 bytes -> 1038, 23 bytes -> 1047 in the recordings).
_INDEX_OVERHEAD = 1024

_WORD = re.compile(r"\w+")


def public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def extract(filename: str, content: bytes) -> tuple[str, dict[str, str] | None]:
    """The searchable text of a file, or the real `last_error` when it cannot be indexed."""
    ext = os.path.splitext(filename)[1].lower()
    if ext not in SUPPORTED_EXTENSIONS:
        return "", {"code": "unsupported_file", "message": "The file type is not supported."}
    if ext in _OPAQUE_EXTENSIONS:
        return "", None
    try:
        return content.decode("utf-8"), None
    except UnicodeDecodeError:
        return "", {"code": "invalid_file", "message": "The file could not be parsed."}


def chunking_of(requested: dict[str, Any] | None) -> dict[str, Any]:
    """The strategy a file reports: `auto` (or nothing) becomes the static default."""
    if requested is None or requested["type"] == "auto":
        return DEFAULT_CHUNKING
    return {"type": "static", "static": dict(requested["static"])}


def get_store(store: Store, vector_store_id: str) -> dict[str, Any]:
    obj = store.get(VECTOR_STORE, vector_store_id)
    if obj is None:
        raise not_found("vector store", vector_store_id)
    return obj


def attach(
    store: Store,
    vector_store_id: str,
    file_id: str,
    *,
    now: float,
    delay: float,
    chunking: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    batch_id: str | None = None,
) -> dict[str, Any]:
    """Attach an uploaded file (re-attaching restarts its processing)."""
    file = get_file(store, file_id)
    _, error = extract(file["filename"], file_content(store, file_id))
    obj = {
        "id": file_id,
        "object": "vector_store.file",
        "usage_bytes": 0,
        "created_at": int(now),
        "vector_store_id": vector_store_id,
        "status": "in_progress",
        "last_error": None,
        "chunking_strategy": chunking_of(chunking),
        "attributes": attributes or {},
        "_ready_at": now + delay,
        "_error": error,
        "_usage": file["bytes"] + _INDEX_OVERHEAD,
        "_batch_id": batch_id,
    }
    if store.get(VECTOR_STORE_FILE, file_id, parent=vector_store_id) is None:
        store.insert(VECTOR_STORE_FILE, obj, parent=vector_store_id)
    else:
        store.put(VECTOR_STORE_FILE, obj, parent=vector_store_id)
    return obj


def settle(obj: dict[str, Any], now: float) -> dict[str, Any]:
    """The file as it is at `now`: processing ends at `_ready_at`."""
    if obj["status"] != "in_progress" or now < obj["_ready_at"]:
        return obj
    if obj["_error"] is not None:
        return obj | {"status": "failed", "last_error": obj["_error"]}
    return obj | {"status": "completed", "usage_bytes": obj["_usage"]}


def files_of(store: Store, vector_store_id: str, now: float) -> list[dict[str, Any]]:
    return [settle(f, now) for f in store.list(VECTOR_STORE_FILE, parent=vector_store_id)]


def counts(files: Iterable[dict[str, Any]]) -> dict[str, int]:
    tally = {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}
    for f in files:
        tally[f["status"]] += 1
        tally["total"] += 1
    return tally


def store_view(store: Store, vs: dict[str, Any], now: float) -> dict[str, Any]:
    files = files_of(store, vs["id"], now)
    tally = counts(files)
    if vs["expires_at"] is not None and now >= vs["expires_at"]:
        status = "expired"
    else:
        status = "in_progress" if tally["in_progress"] else "completed"
    return public(vs) | {
        "status": status,
        "usage_bytes": sum(f["usage_bytes"] for f in files),
        "file_counts": tally,
    }


def expiry(expires_after: dict[str, Any] | None, last_active_at: int) -> int | None:
    return None if expires_after is None else last_active_at + expires_after["days"] * 86400


def create_store(
    store: Store,
    *,
    now: float,
    delay: float,
    name: str | None = None,
    file_ids: Sequence[str] = (),
    chunking: dict[str, Any] | None = None,
    expires_after: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Create a vector store and attach `file_ids` (also used by assistants' tool_resources)."""
    for file_id in file_ids:
        get_file(store, file_id)
    created = int(now)
    vs: dict[str, Any] = {
        "id": new_id("vs"),
        "object": "vector_store",
        # the spec (and the SDK type) make name a string, never null
        "name": name or "",
        "status": "completed",
        "usage_bytes": 0,
        "created_at": created,
        "file_counts": counts([]),
        "metadata": metadata or {},
        "expires_after": expires_after,
        "expires_at": expiry(expires_after, created),
        "last_active_at": created,
    }
    with store.transaction():
        store.insert(VECTOR_STORE, vs)
        for file_id in file_ids:
            attach(store, vs["id"], file_id, now=now, delay=delay, chunking=chunking)
    return store_view(store, vs, now)


def batch_files(store: Store, batch: dict[str, Any], now: float) -> list[dict[str, Any]]:
    return [
        f for f in files_of(store, batch["vector_store_id"], now) if f["_batch_id"] == batch["id"]
    ]


def batch_view(store: Store, batch: dict[str, Any], now: float) -> dict[str, Any]:
    tally = counts(batch_files(store, batch, now))
    if tally["in_progress"]:
        status = "in_progress"
    elif batch["_cancelled"]:
        status = "cancelled"
    else:
        status = "completed"
    return public(batch) | {"status": status, "file_counts": tally}


def cancel_batch(store: Store, batch: dict[str, Any], now: float) -> None:
    """Stop the batch: files still processing end `cancelled`, finished ones stay."""
    with store.transaction():
        for f in batch_files(store, batch, now):
            if f["status"] == "in_progress":
                store.put(
                    VECTOR_STORE_FILE, f | {"status": "cancelled"}, parent=f["vector_store_id"]
                )
        store.put(BATCH, batch | {"_cancelled": True}, parent=batch["vector_store_id"])


# --- search ----------------------------------------------------------------------------


def chunks(text: str, strategy: dict[str, Any]) -> list[str]:
    """Split text as the chunking strategy says, counting one word as one token."""
    words = text.split()
    size = strategy["static"]["max_chunk_size_tokens"]
    step = size - strategy["static"]["chunk_overlap_tokens"]
    pieces: list[str] = []
    start = 0
    while start < len(words):
        pieces.append(" ".join(words[start : start + size]))
        if start + size >= len(words):
            break
        start += step
    return pieces


def matches(filt: dict[str, Any] | None, attributes: dict[str, Any]) -> bool:
    """Evaluate a ComparisonFilter / CompoundFilter against a file's attributes."""
    if filt is None:
        return True
    kind = filt["type"]
    if kind in ("and", "or"):
        results = (matches(f, attributes) for f in filt["filters"])
        return all(results) if kind == "and" else any(results)
    if filt["key"] not in attributes:
        return False
    have, want = attributes[filt["key"]], filt["value"]
    try:
        return {
            "eq": lambda: have == want,
            "ne": lambda: have != want,
            "gt": lambda: have > want,
            "gte": lambda: have >= want,
            "lt": lambda: have < want,
            "lte": lambda: have <= want,
            "in": lambda: have in want,
            "nin": lambda: have not in want,
        }[kind]()
    except TypeError:  # comparing a string attribute with a number never matches
        return False


def search(
    store: Store,
    vector_store_ids: Iterable[str],
    queries: list[str],
    *,
    now: float,
    max_num_results: int = 10,
    filters: dict[str, Any] | None = None,
    score_threshold: float = 0.0,
) -> list[dict[str, Any]]:
    """Chunks of completed files ranked by the share of query words they contain.

    Deterministic on purpose (the sandbox's model cites these results): ties keep file
    and chunk order. Each result is a VectorStoreSearchResultItem.
    """
    terms = {w for q in queries for w in _WORD.findall(q.lower())}
    if not terms:
        return []
    scored: list[tuple[float, int, dict[str, Any]]] = []
    for vector_store_id in vector_store_ids:
        for f in files_of(store, vector_store_id, now):
            if f["status"] != "completed" or not matches(filters, f["attributes"] or {}):
                continue
            file = get_file(store, f["id"])
            text, _ = extract(file["filename"], file_content(store, f["id"]))
            for chunk in chunks(text, f["chunking_strategy"]):
                score = round(len(terms & set(_WORD.findall(chunk.lower()))) / len(terms), 4)
                if score > 0 and score >= score_threshold:
                    item = {
                        "file_id": f["id"],
                        "filename": file["filename"],
                        "score": score,
                        "attributes": f["attributes"] or {},
                        "content": [{"type": "text", "text": chunk}],
                    }
                    scored.append((-score, len(scored), item))
    scored.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in scored[:max_num_results]]
