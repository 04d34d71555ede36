"""Assistants v2 assistants: the form an assistant spec takes on an assistants target."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from asst_deploy import identity
from asst_deploy.kinds.base import OneForEachAssistant, Writer, blank, file_ref
from asst_deploy.plan import FieldChange
from asst_deploy.state import RemoteObject
from asst_deploy.types import Json

if TYPE_CHECKING:
    from asst_deploy.desired import AssistantSpec
    from asst_deploy.kinds.ports import Exporting

_DEFAULT_RANKERS = ("auto", "default_2024_08_21")


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
        if blank(function.get("description")) is not None:
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


def form(
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
    """The canonical form. Server defaults are filled in: the live object says temperature
    1 and response_format "auto" even when the spec leaves them out."""
    return {
        "name": blank(name),
        "description": blank(description),
        "model": model,
        "instructions": blank(instructions),
        "tools": tools(tools_),
        "code_interpreter_files": sorted(code_interpreter_files),
        "vector_stores": sorted(vector_stores),
        "metadata": identity.user_metadata(dict(metadata or {})),
        "temperature": _number(temperature, 1),
        "top_p": _number(top_p, 1),
        "response_format": response_format(response_format_),
        "reasoning_effort": reasoning_effort,
    }


def from_spec(spec: AssistantSpec, shas: Mapping[str, str]) -> dict[str, Json]:
    return form(
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


def from_remote(data: Mapping[str, Json], names: Mapping[str, str]) -> dict[str, Json]:
    """`names` maps remote file and vector store ids to their logical names; an id not in
    it (an object this project does not manage) stays visible as "id:<id>"."""
    file_ids, store_ids = _resource_ids(data)
    return form(
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


def _resource_ids(data: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    resources = data.get("tool_resources") or {}
    file_ids = (resources.get("code_interpreter") or {}).get("file_ids") or []
    store_ids = (resources.get("file_search") or {}).get("vector_store_ids") or []
    return list(file_ids), list(store_ids)


def _spec_tool(ex: Exporting, tool: Mapping[str, Any]) -> dict[str, Json]:
    """A canonical tool as a spec writes it (spec file_search options are flat)."""
    if tool["type"] == "function":
        return ex.function(tool["function"])
    if tool["type"] == "file_search":
        return {"type": "file_search", **(tool.get("file_search") or {})}
    return {"type": tool["type"]}


class AssistantKind(OneForEachAssistant):
    name = "assistant"
    exports = True
    spec_kind = "assistant"

    def form(self, spec: AssistantSpec, shas: Mapping[str, str]) -> dict[str, Json]:
        return from_spec(spec, shas)

    def live_form(self, data: Mapping[str, Json], names: Mapping[str, str]) -> dict[str, Json]:
        return from_remote(data, names)

    def references(self, obj: Any) -> set[str]:
        file_ids, store_ids = _resource_ids(obj.data)
        return {*file_ids, *store_ids}

    def repoint(
        self,
        obj: RemoteObject,
        after: Mapping[str, Json],
        changes: tuple[FieldChange, ...],
        going: Callable[[], set[str]],
        names: Mapping[str, str],
    ) -> tuple[FieldChange, ...]:
        """An assistant that uses a vector store this plan deletes (replaced, or a duplicate)
        must be pointed at the one that stays, though its logical form (stores by key) does
        not change: the change shows the old store by id."""
        _, ids = _resource_ids(obj.data)
        if any(c.field == "vector_stores" for c in changes) or not ids:
            return changes
        gone = going()
        if not gone & set(ids):
            return changes
        old = sorted(f"id:{i}" if i in gone else names.get(i, f"id:{i}") for i in ids)
        change = FieldChange("vector_stores", old, after["vector_stores"])
        return tuple(sorted((*changes, change), key=lambda c: c.field))

    def export(self, ex: Exporting, obj: RemoteObject) -> None:
        key = ex.result.keys[obj.id]
        doc = ex.header(self.spec_kind, key, obj)
        form = from_remote(obj.data, {})
        for name in ("name", "description", "model"):
            if form[name] is not None:
                doc[name] = form[name]
        if form["instructions"]:
            doc["instructions"] = ex.instructions(key, form["instructions"])
        doc["tools"] = [_spec_tool(ex, t) for t in form["tools"]]
        file_ids, store_ids = _resource_ids(obj.data)
        tool_resources: dict[str, Json] = {}
        paths = [ex.local_file(i, "knowledge") for i in file_ids]
        if paths:
            tool_resources["code_interpreter"] = {"files": paths}
        if store_ids:
            tool_resources["file_search"] = {
                "vector_stores": [ex.store_key(i, key) for i in store_ids]
            }
        if tool_resources:
            doc["tool_resources"] = tool_resources
        if form["metadata"]:
            doc["metadata"] = form["metadata"]
        for name, default in (("temperature", 1.0), ("top_p", 1.0), ("response_format", "auto")):
            if form[name] != default:
                doc[name] = form[name]
        if form["reasoning_effort"]:
            doc["reasoning_effort"] = form["reasoning_effort"]
        ex.spec("assistants", key, doc)

    def payload(
        self, run: Writer, key: str, after: Mapping[str, Json], remote_id: str | None
    ) -> dict[str, Json]:
        payload: dict[str, Json] = {
            "name": after["name"],
            "description": after["description"],
            "model": after["model"],
            "instructions": after["instructions"],
            "tools": after["tools"],
            "tool_resources": {
                "code_interpreter": {
                    "file_ids": [run.resolve(n) for n in after["code_interpreter_files"]]
                },
                "file_search": {
                    "vector_store_ids": [run.resolve(n) for n in after["vector_stores"]]
                },
            },
            "metadata": run.metadata(self.name, key, after, remote_id),
            "temperature": after["temperature"],
            "top_p": after["top_p"],
            "response_format": after["response_format"],
        }
        if after["reasoning_effort"] is not None:
            payload["reasoning_effort"] = after["reasoning_effort"]
        return payload


KIND = AssistantKind()
