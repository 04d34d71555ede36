"""One canonical form for both sides, so that apply followed by plan is always empty.

The form is logical: files appear as "path#sha", vector stores by key, never by remote
id, so a canonical form (and its hash) does not change when an object is re-created.
Server defaults are filled in and server-owned fields dropped: the live object says
temperature 1 and response_format "auto" even when the spec leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from asst_deploy import identity
from asst_deploy.remote.state import RemoteObject
from asst_deploy.spec.model import AssistantSpec, VectorStoreSpec
from asst_deploy.types import Json

# Chunking "auto" is what the API reports back as static 800/400.
AUTO_CHUNKING = {
    "type": "static",
    "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
}
_DEFAULT_RANKERS = ("auto", "default_2024_08_21")


def file_ref(path: str, sha: str) -> str:
    return f"{path}#{sha}"


def _blank(value: Any) -> Any:
    return None if value in ("", None) else value


def tool(raw: Mapping[str, Json]) -> dict[str, Json]:
    """A tool in API form with defaults removed (spec tools are flat, API tools nested)."""
    kind = raw.get("type")
    if kind == "file_search":
        options = dict(raw.get("file_search") or {})
        for name in ("max_num_results", "ranking_options"):
            if raw.get(name) is not None:
                options[name] = raw[name]
        ranking = options.get("ranking_options")
        if (
            ranking
            and ranking.get("ranker", "auto") in _DEFAULT_RANKERS
            and not ranking.get("score_threshold")
        ):
            del options["ranking_options"]
        options = {k: v for k, v in options.items() if v is not None}
        return (
            {"type": "file_search", "file_search": options} if options else {"type": "file_search"}
        )
    if kind == "function":
        function = dict(raw.get("function") or {})
        result = {"name": function.get("name")}
        if _blank(function.get("description")) is not None:
            result["description"] = function["description"]
        if function.get("parameters") is not None:
            result["parameters"] = function["parameters"]
        result["strict"] = bool(function.get("strict") or False)
        return {"type": "function", "function": result}
    return {"type": kind}


def tools(raw: Iterable[Mapping[str, Json]]) -> list[dict[str, Json]]:
    """Canonical tools, sorted: the API does not give their order a meaning."""
    result = [tool(t) for t in raw]
    return sorted(result, key=lambda t: (t["type"], t.get("function", {}).get("name", "")))


def response_format(value: Json) -> Json:
    if value in (None, "auto"):
        return "auto"
    if isinstance(value, Mapping) and value.get("type") == "json_schema":
        schema = dict(value.get("json_schema") or {})
        schema["strict"] = bool(schema.get("strict") or False)
        return {
            "type": "json_schema",
            "json_schema": {k: v for k, v in schema.items() if v is not None},
        }
    return dict(value)


def _number(value: Json, default: float) -> float:
    return float(default if value is None else value)


def assistant(
    *,
    name: Json,
    description: Json,
    model: Json,
    instructions: Json,
    tools_: Iterable[Mapping[str, Json]],
    code_interpreter_files: Iterable[str],
    vector_stores: Iterable[str],
    metadata: Mapping[str, Json] | None,
    temperature: Json,
    top_p: Json,
    response_format_: Json,
    reasoning_effort: Json,
) -> dict[str, Json]:
    return {
        "name": _blank(name),
        "description": _blank(description),
        "model": model,
        "instructions": _blank(instructions),
        "tools": tools(tools_),
        "code_interpreter_files": sorted(code_interpreter_files),
        "vector_stores": sorted(vector_stores),
        "metadata": identity.user_metadata(dict(metadata or {})),
        "temperature": _number(temperature, 1),
        "top_p": _number(top_p, 1),
        "response_format": response_format(response_format_),
        "reasoning_effort": reasoning_effort,
    }


def assistant_from_spec(spec: AssistantSpec, shas: Mapping[str, str]) -> dict[str, Json]:
    return assistant(
        name=spec.name,
        description=spec.description,
        model=spec.model,
        instructions=spec.instructions,
        tools_=spec.tools,
        code_interpreter_files=[
            file_ref(f.path, shas[f.path]) for f in spec.code_interpreter_files
        ],
        vector_stores=spec.vector_stores,
        metadata=spec.metadata,
        temperature=spec.temperature,
        top_p=spec.top_p,
        response_format_=spec.response_format,
        reasoning_effort=spec.reasoning_effort,
    )


def assistant_from_remote(data: Mapping[str, Json], names: Mapping[str, str]) -> dict[str, Json]:
    """`names` maps remote file and vector store ids to their logical names; an id not in
    it (an object this project does not manage) stays visible as "id:<id>"."""
    resources = data.get("tool_resources") or {}
    file_ids = (resources.get("code_interpreter") or {}).get("file_ids") or []
    store_ids = (resources.get("file_search") or {}).get("vector_store_ids") or []
    return assistant(
        name=data.get("name"),
        description=data.get("description"),
        model=data.get("model"),
        instructions=data.get("instructions"),
        tools_=data.get("tools") or [],
        code_interpreter_files=[names.get(i, f"id:{i}") for i in file_ids],
        vector_stores=[names.get(i, f"id:{i}") for i in store_ids],
        metadata=data.get("metadata"),
        temperature=data.get("temperature"),
        top_p=data.get("top_p"),
        response_format_=data.get("response_format"),
        reasoning_effort=data.get("reasoning_effort"),
    )


def chunking(value: Json) -> Json:
    if value is None or (isinstance(value, Mapping) and value.get("type") == "auto"):
        return AUTO_CHUNKING
    return {"type": "static", "static": dict(value["static"])}


def vector_store(
    *,
    name: Json,
    files: Iterable[tuple[str, Mapping[str, Json]]],
    chunking_strategy: Json,
    expires_after: Json,
    metadata: Mapping[str, Json] | None,
) -> dict[str, Json]:
    entries: list[dict[str, Json]] = [
        # numbers by value: attributes come back from the SDK as floats (2 -> 2.0)
        {"file": f, "attributes": identity.by_value(dict(a))}
        for f, a in sorted(files, key=lambda pair: pair[0])
    ]
    return {
        "name": _blank(name),
        "files": entries,
        # chunking is only observable (and only matters) through attached files
        "chunking_strategy": chunking(chunking_strategy) if entries else None,
        "expires_after": dict(expires_after) if expires_after else None,
        "metadata": identity.user_metadata(dict(metadata or {})),
    }


def vector_store_from_spec(spec: VectorStoreSpec, shas: Mapping[str, str]) -> dict[str, Json]:
    return vector_store(
        name=spec.name,
        files=[(file_ref(e.file.path, shas[e.file.path]), e.attributes) for e in spec.files],
        chunking_strategy=spec.chunking_strategy,
        expires_after=spec.expires_after,
        metadata=spec.metadata,
    )


def vector_store_from_remote(
    data: Mapping[str, Json], files: Iterable[Mapping[str, Json]], names: Mapping[str, str]
) -> dict[str, Json]:
    """`files` are the store's vector_store.file objects; failed ones do not count as attached."""
    attached = [f for f in files if f.get("status") != "failed"]
    strategy = attached[0].get("chunking_strategy") if attached else None
    return vector_store(
        name=data.get("name"),
        files=[(names.get(f["id"], f"id:{f['id']}"), f.get("attributes") or {}) for f in attached],
        chunking_strategy=strategy,
        expires_after=data.get("expires_after"),
        metadata=data.get("metadata"),
    )


def from_remote(obj: RemoteObject, names: Mapping[str, str]) -> dict[str, Json]:
    """The canonical form of a live assistant or vector store."""
    if obj.kind == "assistant":
        form = assistant_from_remote(obj.data, names)
    else:
        form = vector_store_from_remote(obj.data, obj.files, names)
    return with_protect(form, identity.protected(obj.data.get("metadata")))


def with_protect(form: dict[str, Json], protect: bool) -> dict[str, Json]:
    """`protect: true` is part of the form (so lifting it is a change), absent when false
    (so the hash of an unprotected object is what it always was)."""
    return {**form, "protect": True} if protect else form
