"""Build the model's records from validated documents: tools, files, and the checks on them."""

from __future__ import annotations

import dataclasses
import functools
import glob
import os
import stat
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from asst_deploy import limits
from asst_deploy.desired import (
    AssistantSpec,
    AutomationSpec,
    EnvironmentSpec,
    FileRef,
    SkillSpec,
    VaultSpec,
    VectorStoreFile,
    VectorStoreSpec,
)
from asst_deploy.errors import Location, Problem
from asst_deploy.reader import parse_file
from asst_deploy.spec import checks, interpolate, schemacheck
from asst_deploy.yamlpos import Document, JsonPath, decode, read_bytes, resolve_text, shared_memo

R = TypeVar(
    "R", AssistantSpec, VectorStoreSpec, VaultSpec, AutomationSpec, EnvironmentSpec, SkillSpec
)
_GLOB_CHARS = frozenset("*?[")
_OWN_FOLDER = ".asst-deploy"  # the sandbox's state and other files of the tool itself
_EXTENSIONS = {
    "file_search": limits.FILE_SEARCH_EXTENSIONS,
    "code_interpreter": limits.CODE_INTERPRETER_EXTENSIONS,
}


@dataclass
class Builder:
    """Turns one environment's documents into records, adding problems as it finds them.
    Paths in specs are relative to the project directory `root`."""

    root: Path
    problems: list[Problem]
    # where each function tool's function was written: (assistant key, tool index) ->
    # (document, path of the function in it), so that later errors point into its file
    function_docs: dict[tuple[str, int], tuple[Document, JsonPath]] = field(default_factory=dict)

    def error(
        self, doc: Document, path: JsonPath, message: str, hint: str = "", key: bool = False
    ) -> None:
        self.problems.append(Problem(doc.where(path, key=key), message, hint))

    def display(self, path: Path) -> str:
        # os.path.join gives what str(root / path) does for a relative path, for less
        return str(path) if self._dot else os.path.join(self._root_text, path)

    @functools.cached_property
    def _dot(self) -> bool:
        return self.root == Path(".")

    @functools.cached_property
    def _root_text(self) -> str:
        return str(self.root)

    def interpolate(self, doc: Document, variables: dict[str, str]) -> None:
        """Substitute `${var}` in every string of `doc`, reporting bad references in it."""

        def substitute(text: str, path: tuple[Any, ...]) -> str:
            return self.substitute(text, variables, doc, path)

        doc.data = interpolate.walk(doc.data, (), substitute)

    def substitute(
        self, text: str, variables: dict[str, str], doc: Document, path: JsonPath
    ) -> str:
        if "${" not in text:  # most strings: no closure to build (interpolate says the same)
            return text

        def report(message: str, hint: str, offset: int) -> None:
            self.error(doc, path, message, hint)

        return interpolate.substitute(text, variables, report)

    def with_adopt(
        self, doc: Document, spec: R | None, target: str, targets: Collection[str]
    ) -> R | None:
        """`spec` with its `adopt:` for `target`: an id as written, or of a mapping of
        target name -> id the one for `target` (none: nothing to adopt there). A name
        the project file does not declare is an error: a typo would adopt nothing."""
        value = doc.data.get("adopt")
        if not isinstance(value, dict):
            return spec
        for name in value:
            if targets and name not in targets:
                self.error(
                    doc,
                    ("adopt", name),
                    f"adopt names target '{name}', which the project file does not declare",
                    schemacheck.suggest(str(name), sorted(targets)),
                    key=True,
                )
                return None
        if spec is None:
            return None
        found = value.get(target)
        return dataclasses.replace(spec, adopt=found if isinstance(found, str) else None)

    def assistant(
        self,
        doc: Document,
        store_keys: set[str],
        variables: dict[str, str],
        excluded_stores: Collection[str] = (),
    ) -> AssistantSpec | None:
        """`store_keys`: the vector stores the environment deploys; `excluded_stores`: those
        its `exclude:` takes out (a file_search naming one is an error)."""
        data = doc.data
        before = len(self.problems)
        if "model" not in data:
            self.error(
                doc,
                ("key",),
                f"assistant '{data['key']}' has no model",
                "set 'model:' here or 'defaults: {model: ...}' in asst-deploy.yaml",
            )
        instructions = self.text_or_file(doc, ("instructions",), variables)
        if instructions is not None and len(instructions) > limits.INSTRUCTIONS_MAX:
            self.error(
                doc,
                ("instructions",),
                f"instructions are {len(instructions)} characters long; the API allows at most {limits.INSTRUCTIONS_MAX}",
                "shorten them",
            )
        tools = [
            self.tool(doc, i, tool, variables) for i, tool in enumerate(data.get("tools") or [])
        ]
        self.check_function_names(doc, tools)
        tool_types = {t.get("type") for t in tools if t}
        resources = data.get("tool_resources") or {}
        ci_files: list[FileRef] = []
        if "code_interpreter" in resources:
            if "code_interpreter" not in tool_types:
                self.error(
                    doc,
                    ("tool_resources", "code_interpreter"),
                    "code_interpreter files given, but the code_interpreter tool is not enabled",
                    "add '- type: code_interpreter' to tools",
                    key=True,
                )
            for i, pattern in enumerate(resources["code_interpreter"].get("files") or []):
                ci_files += self.files(
                    doc,
                    ("tool_resources", "code_interpreter", "files", i),
                    pattern,
                    "code_interpreter",
                )
            if len(ci_files) > limits.CODE_INTERPRETER_FILES_MAX:
                self.error(
                    doc,
                    ("tool_resources", "code_interpreter", "files"),
                    f"code_interpreter has {len(ci_files)} files; the API allows at most {limits.CODE_INTERPRETER_FILES_MAX}",
                    "attach fewer files",
                )
        stores = list((resources.get("file_search") or {}).get("vector_stores") or [])
        if "file_search" in resources and "file_search" not in tool_types:
            self.error(
                doc,
                ("tool_resources", "file_search"),
                "file_search vector stores given, but the file_search tool is not enabled",
                "add '- type: file_search' to tools",
                key=True,
            )
        for i, key in enumerate(stores):
            if key in excluded_stores:
                self.error(
                    doc,
                    ("tool_resources", "file_search", "vector_stores", i),
                    f"vector store '{key}' is excluded from this environment",
                    f"exclude assistant '{data['key']}' too, or keep the store",
                )
            elif key not in store_keys:
                self.error(
                    doc,
                    ("tool_resources", "file_search", "vector_stores", i),
                    f"unknown vector store '{key}'",
                    schemacheck.suggest(key, sorted(store_keys))
                    if store_keys
                    else "declare it with 'kind: vector_store'",
                )
        self.check_metadata(doc, data.get("metadata"))
        response_format = data.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            js = response_format.get("json_schema") or {}
            self.check_json_schema(
                doc,
                ("response_format", "json_schema", "schema"),
                js.get("schema"),
                bool(js.get("strict")),
            )
        if len(self.problems) > before:
            return None
        return AssistantSpec(
            key=data["key"],
            model=data["model"],
            location=doc.where(("key",)),
            name=data.get("name"),
            description=data.get("description"),
            instructions=instructions,
            tools=tuple(t for t in tools if t),
            code_interpreter_files=tuple(_unique(ci_files)),
            vector_stores=tuple(stores),
            metadata=dict(data.get("metadata") or {}),
            temperature=data.get("temperature"),
            top_p=data.get("top_p"),
            response_format=response_format,
            reasoning_effort=data.get("reasoning_effort"),
            service_tier=data.get("service_tier"),
            multi_agent=data.get("multi_agent"),
            compaction=data.get("compaction"),
            verbosity=data.get("verbosity"),
            reasoning_summary=data.get("reasoning_summary"),
            experimental=data.get("experimental"),
            protect=bool(data.get("protect", False)),
            adopt=data.get("adopt") if isinstance(data.get("adopt"), str) else None,
        )

    def tool(
        self, doc: Document, index: int, tool: dict[str, Any], variables: dict[str, str]
    ) -> dict[str, Any] | None:
        if tool.get("type") != "function":
            return dict(tool)
        path: JsonPath = ("tools", index)
        fpath: JsonPath
        if "strict" in tool and "function" in tool:
            self.error(
                doc,
                (*path, "strict"),
                "'strict' beside an inline function",
                "write it inside the function: function: {strict: ...}",
                key=True,
            )
            return None
        memo = shared_memo("function tools") if "file" in tool else None
        # a function file reads the same in every environment that gives the variables it
        # refers to the same values, with the same `strict`: built once (and remembered only
        # when it had no problem: a problem's location is the referring document's)
        memo_key: tuple[Any, ...] = (self.root, str(tool.get("file")), "strict" in tool)
        if memo is not None:
            names = memo.get(memo_key)
            if names is not None:
                used = tuple((n, variables.get(n)) for n in sorted(names))
                found = memo.get((*memo_key, tool.get("strict"), used))
                if found is not None:
                    fdoc, function = found
                    self.function_docs[(str(doc.data.get("key")), index)] = (fdoc, ())
                    return {"type": "function", "function": function}
        before, names = len(self.problems), frozenset[str]()
        if "file" in tool:
            fdoc = self.read_json(doc, (*path, "file"), tool["file"])
            if fdoc is None:
                return None
            if not schemacheck.check(fdoc, "function", self.problems):
                fdoc = schemacheck.prune(fdoc, "function")  # check the rest all the same
                if fdoc is None:
                    return None
            names = interpolate.references(fdoc.data)
            self.interpolate(fdoc, variables)
            function, fpath = fdoc.data, ()
            if "strict" in tool:  # the tool's own word wins: one file serves every target
                function = {**function, "strict": tool["strict"]}
        else:
            fdoc, function, fpath = doc, tool.get("function") or {}, (*path, "function")
        self.function_docs[(str(doc.data.get("key")), index)] = (fdoc, fpath)
        self.check_json_schema(
            fdoc, (*fpath, "parameters"), function.get("parameters"), bool(function.get("strict"))
        )
        if memo is not None and len(self.problems) == before:
            memo[memo_key] = names
            used = tuple((n, variables.get(n)) for n in sorted(names))
            memo[(*memo_key, tool.get("strict"), used)] = (fdoc, function)
        return {"type": "function", "function": function}

    def where(self, doc: Document, path: JsonPath) -> Location:
        """The location of `path` of the assistant `doc`, inside a function file when the
        path leads into a function written in one (the tool's own `strict` stays here)."""
        if len(path) >= 3 and path[0] == "tools" and path[2] == "function":
            tools = doc.data.get("tools")
            index = int(path[1])
            tool = tools[index] if isinstance(tools, list) and index < len(tools) else None
            written = self.function_docs.get((str(doc.data.get("key")), index))
            own_strict = path[3:] == ("strict",) and isinstance(tool, dict) and "strict" in tool
            if own_strict:
                return doc.where((*path[:2], "strict"))
            if written is not None:
                fdoc, fpath = written
                return fdoc.where((*fpath, *path[3:]))
        # a refused section (tool_resources.file_search: ...) is shown at its key
        section = bool(path) and isinstance(path[-1], str) and isinstance(_at(doc.data, path), dict)
        return doc.where(path, key=section)

    def check_function_names(self, doc: Document, tools: list[dict[str, Any] | None]) -> None:
        seen: set[str] = set()
        for i, tool in enumerate(tools):
            name = (tool or {}).get("function", {}).get("name")
            if name in seen:
                self.error(
                    doc,
                    ("tools", i),
                    f"duplicate function name '{name}'",
                    "function names must be unique within an assistant",
                )
            if name:
                seen.add(name)

    def check_json_schema(self, doc: Document, path: JsonPath, value: Any, strict: bool) -> None:
        if value is None:
            return
        for sub, message, hint in checks.schema_findings(value, strict):
            self.error(doc, (*path, *sub), message, hint)

    def check_metadata(self, doc: Document, metadata: Any) -> None:
        if isinstance(metadata, dict):
            for sub, message, hint in checks.metadata_findings(metadata):
                self.error(doc, ("metadata", *sub), message, hint, key=bool(sub))

    def vector_store(self, doc: Document) -> VectorStoreSpec | None:
        data = doc.data
        before = len(self.problems)
        entries: list[VectorStoreFile] = []
        for i, item in enumerate(data.get("files") or []):
            pattern, attributes = (
                (item, {})
                if isinstance(item, str)
                else (item["path"], item.get("attributes") or {})
            )
            for a_key, a_value in attributes.items():
                if len(a_key) > limits.METADATA_KEY_MAX:
                    self.error(
                        doc,
                        ("files", i, "attributes", a_key),
                        f"attribute key '{a_key}' is {len(a_key)} characters long; "
                        f"the API allows at most {limits.METADATA_KEY_MAX}",
                        "shorten it",
                        key=True,
                    )
                elif isinstance(a_value, str) and len(a_value) > limits.METADATA_VALUE_MAX:
                    self.error(
                        doc,
                        ("files", i, "attributes", a_key),
                        f"attribute '{a_key}' is {len(a_value)} characters long; "
                        f"the API allows at most {limits.METADATA_VALUE_MAX}",
                        "shorten it",
                    )
            entries += [
                VectorStoreFile(ref, dict(attributes))
                for ref in self.files(doc, ("files", i), pattern, "file_search")
            ]
        strategy = data.get("chunking_strategy")
        if isinstance(strategy, dict):
            for sub, message, hint in checks.chunking_findings(strategy):
                self.error(doc, ("chunking_strategy", *sub), message, hint)
        self.check_metadata(doc, data.get("metadata"))
        if len(self.problems) > before:
            return None
        unique = {e.file.path: e for e in entries}
        return VectorStoreSpec(
            key=data["key"],
            location=doc.where(("key",)),
            name=data.get("name"),
            files=tuple(unique[k] for k in sorted(unique)),
            chunking_strategy=strategy,
            expires_after=data.get("expires_after"),
            metadata=dict(data.get("metadata") or {}),
            protect=bool(data.get("protect", False)),
            adopt=data.get("adopt") if isinstance(data.get("adopt"), str) else None,
        )

    # ---- files -------------------------------------------------------------------

    def files(self, doc: Document, path: JsonPath, pattern: str, tool: str) -> list[FileRef]:
        """The files a path or glob names, relative to the project directory, that `tool`
        ("file_search" or "code_interpreter") can use."""
        allowed = _EXTENSIONS[tool]
        if _GLOB_CHARS & set(pattern):
            names = sorted(glob.glob(pattern, root_dir=self.root, recursive=True))
            names = [n for n in names if not _own_folder(n) and (self.root / n).is_file()]
            if not names:
                self.error(
                    doc,
                    path,
                    f"glob '{pattern}' matches no file",
                    "paths are relative to the project directory",
                )
            unusable = [n for n in names if _suffix(n) not in allowed]
            if unusable:
                shown = ", ".join(f"'{n}'" for n in unusable[:3])
                more = f" and {len(unusable) - 3} more" if len(unusable) > 3 else ""
                self.error(
                    doc,
                    path,
                    f"glob '{pattern}' matches {len(unusable)} file(s) {tool} cannot use: "
                    f"{shown}{more}",
                    f"narrow the glob; {tool} takes {_listing(allowed)}",
                )
                names = [n for n in names if n not in unusable]
        elif _own_folder(pattern):
            self.error(
                doc,
                path,
                f"'{pattern}' is in {_OWN_FOLDER}/, asst-deploy's own state folder",
                "name a file of the project",
            )
            return []
        else:
            names = [pattern]
            if _suffix(pattern) not in allowed:
                kind = f"'{_suffix(pattern)}' files" if _suffix(pattern) else "files without a type"
                self.error(
                    doc,
                    path,
                    f"{tool} cannot use {kind}: '{pattern}'",
                    f"convert or rename it; {tool} takes {_listing(allowed)}",
                )
                return []
        refs = [ref for name in names if (ref := self.file_ref(doc, path, name))]
        return refs

    def inside(self, path: Path) -> bool:
        """Whether `path`, symlinks resolved, lies in the project directory."""
        return _relative(resolve_text(os.fspath(path)), self._resolved_text) is not None

    @functools.cached_property
    def root_resolved(self) -> Path:
        return self.root.resolve()

    @functools.cached_property
    def _resolved_text(self) -> str:
        return str(self.root_resolved)

    def file_ref(self, doc: Document, path: JsonPath, name: str) -> FileRef | None:
        memo = shared_memo("file refs")
        found = memo.get((self.root, name)) if memo is not None else None
        if found is not None:  # only files found are remembered: errors are located
            return found
        ref = self._file_ref(doc, path, name)
        if memo is not None and ref is not None:
            memo[(self.root, name)] = ref
        return ref

    def _file_ref(self, doc: Document, path: JsonPath, name: str) -> FileRef | None:
        full = resolve_text(os.path.join(self._root_text, name))
        rel = _relative(full, self._resolved_text)
        if rel is None:
            self.error(
                doc,
                path,
                f"'{name}' is outside the project directory",
                "move the file into the project",
            )
            return None
        try:
            found = os.stat(full)
        except OSError:
            self.error(
                doc,
                path,
                f"file not found: '{name}'",
                "paths are relative to the project directory",
            )
            return None
        size = found.st_size
        if not stat.S_ISREG(found.st_mode):
            self.error(
                doc,
                path,
                f"'{name}' is not a file",
                "name a file, not a directory",
            )
            return None
        if size > limits.FILE_SIZE_MAX:
            self.error(
                doc,
                path,
                f"'{name}' is {size} bytes; the API accepts files up to "
                f"{limits.FILE_SIZE_MAX // 2**20} MB",
                "split the file",
            )
            return None
        return FileRef(rel, Path(full), size)

    def text_or_file(self, doc: Document, path: JsonPath, variables: dict[str, str]) -> str | None:
        value = get(doc.data, path)
        if not isinstance(value, dict):
            return value if isinstance(value, str) else None
        ref = self.file_ref(doc, (*path, "file"), value["file"])
        if ref is None:
            return None
        memo = shared_memo("texts")
        try:
            text = memo.get(ref.abs_path) if memo is not None else None
            if text is None:
                text = decode(read_bytes(ref.abs_path))
                if memo is not None:
                    memo[ref.abs_path] = text
        except UnicodeDecodeError:
            self.error(
                doc, (*path, "file"), f"'{value['file']}' is not UTF-8 text", "save it as UTF-8"
            )
            return None

        def report(message: str, hint: str, offset: int) -> None:
            line = text.count("\n", 0, offset) + 1
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            display = self.display(Path(ref.path))
            self.problems.append(Problem(Location(display, line, column), message, hint))

        done_memo = shared_memo("substituted texts") if "${" in text else None
        if done_memo is None:
            return interpolate.substitute(text, variables, report)
        # a file reads the same in every environment that gives the variables it refers to
        # the same values: substituted once (remembered only when it had no problem)
        names = done_memo.get(ref.abs_path)
        if names is None:
            names = done_memo[ref.abs_path] = interpolate.references(text)
        used = (ref.abs_path, tuple((n, variables.get(n)) for n in sorted(names)))
        done = done_memo.get(used)
        if done is None:
            before = len(self.problems)
            done = interpolate.substitute(text, variables, report)
            if len(self.problems) == before:
                done_memo[used] = done
        return done

    def read_json(self, doc: Document, path: JsonPath, name: str) -> Document | None:
        ref = self.file_ref(doc, path, name)
        if ref is None:
            return None
        docs = parse_file(ref.abs_path, self.display(Path(ref.path)), self.problems)
        if len(docs) != 1 or not isinstance(docs[0].data, dict):
            if docs:
                self.problems.append(
                    Problem(
                        Location(docs[0].file, 1, 1),
                        "a function file must hold one JSON object",
                        '{"name": ..., "parameters": {...}}',
                    )
                )
            return None
        return docs[0]


def get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _at(data: Any, path: JsonPath) -> Any:
    """The value at `path` (through lists too), None when there is none."""
    for part in path:
        in_dict = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if not (in_dict or in_list):
            return None
        data = data[part]
    return data


def _relative(path: str, root: str) -> str | None:
    """`path` relative to `root` in POSIX form (both resolved), None when not inside it: by
    their text where it says so, for it is asked per file (Path.relative_to costs more)."""
    prefix = root if root.endswith(os.sep) else root + os.sep
    if path.startswith(prefix) and len(path) > len(prefix):
        rel = path[len(prefix) :]
        return rel if os.sep == "/" else rel.replace(os.sep, "/")
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return None


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _own_folder(name: str) -> bool:
    parts = PurePosixPath(os.path.normpath(name)).parts
    return bool(parts) and parts[0] == _OWN_FOLDER


def _listing(extensions: frozenset[str]) -> str:
    return " ".join(sorted(extensions))


def _unique(refs: list[FileRef]) -> list[FileRef]:
    return list({r.path: r for r in refs}.values())
