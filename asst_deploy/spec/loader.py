"""Load a project: read every spec file once, apply an environment, check, build the model."""

from __future__ import annotations

import copy
import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asst_deploy import limits
from asst_deploy.errors import Location, Problem, SpecError
from asst_deploy.spec import checks, interpolate, schemacheck
from asst_deploy.spec.model import (
    AssistantSpec,
    FileRef,
    Project,
    Target,
    VectorStoreFile,
    VectorStoreSpec,
)
from asst_deploy.spec.yamlpos import Document, JsonPath, parse_file

PROJECT_FILE = "asst-deploy.yaml"
DEFAULT_INCLUDE = ("assistants/**/*.yaml", "vector_stores/**/*.yaml")
CONVERSATION_SUFFIX = ".conv.yaml"
SANDBOX_DB = ".asst-deploy/sandbox.db"
BUILTIN_TARGET = "sandbox"
_GLOB_CHARS = frozenset("*?[")
_RESOURCE_SECTIONS = {"assistant": "assistants", "vector_store": "vector_stores"}


def find_root(path: str | Path) -> Path:
    """The project directory for `path` (a directory, or its asst-deploy.yaml)."""
    path = Path(path)
    if path.name == PROJECT_FILE:
        path = path.parent
    if not (path / PROJECT_FILE).is_file():
        raise SpecError(
            [
                Problem(
                    Location(str(path)),
                    f"no {PROJECT_FILE} here",
                    "run in a project directory or pass its path (see README: spec format)",
                )
            ]
        )
    return path


def environment_names(path: str | Path) -> tuple[str, ...]:
    """The environments a project declares (empty when the file cannot be read)."""
    problems: list[Problem] = []
    docs = parse_file(find_root(path) / PROJECT_FILE, PROJECT_FILE, problems)
    envs = docs[0].data.get("environments") if docs and isinstance(docs[0].data, dict) else None
    return tuple(sorted(envs)) if isinstance(envs, dict) else ()


def load_project(
    path: str | Path = ".", env: str | None = None, target: str | None = None
) -> Project:
    """The validated desired state of one environment; SpecError lists every problem."""
    return _Loader(find_root(path), env, target).load()


def _merge(
    base: Document, over: Any, over_doc: Document, over_path: tuple[Any, ...], at: JsonPath
) -> None:
    """Deep-merge `over` into base.data at `at` (mappings merge, anything else replaces,
    null removes), carrying the overlay's positions along so errors point at it."""
    target = base.data
    for part in at[:-1]:
        target = target[part]
    key = at[-1] if at else None
    current = target.get(key) if key is not None else target
    if isinstance(over, dict) and isinstance(current, dict):
        for k, v in over.items():
            _merge(base, v, over_doc, (*over_path, k), (*at, k))
        return
    assert key is not None
    if over is None:
        target.pop(key, None)
        return
    target[key] = copy.deepcopy(over)
    prefix = len(over_path)
    for table_name in ("positions", "key_positions"):
        source, dest = getattr(over_doc, table_name), getattr(base, table_name)
        for p in [p for p in dest if p[: len(at)] == at]:
            del dest[p]
        for p, loc in source.items():
            if p[:prefix] == over_path:
                dest[(*at, *p[prefix:])] = loc


@dataclass
class _Resource:
    kind: str
    key: str
    doc: Document  # merged with defaults and the environment's overrides


@dataclass
class _Loader:
    root: Path
    env: str | None
    target_name: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def error(
        self, doc: Document, path: JsonPath, message: str, hint: str = "", key: bool = False
    ) -> None:
        self.problems.append(Problem(doc.where(path, key=key), message, hint))

    def display(self, path: Path) -> str:
        return str(self.root / path) if self.root != Path(".") else str(path)

    # ---- reading -----------------------------------------------------------------

    def load(self) -> Project:
        project_file = self.root / PROJECT_FILE
        docs = parse_file(project_file, str(project_file), self.problems)
        if len(docs) != 1 or not isinstance(docs[0].data, dict):
            if not self.problems:
                self.problems.append(
                    Problem(
                        Location(str(project_file), 1, 1),
                        "the project file must be one YAML mapping",
                        "start it with 'project: NAME'",
                    )
                )
            raise SpecError(self.problems)
        pdoc = docs[0]
        schemacheck.check(pdoc, "project_file", self.problems)
        data: dict[str, Any] = pdoc.data
        raw_envs = data.get("environments")
        envs: dict[str, Any] = raw_envs if isinstance(raw_envs, dict) else {}
        env_data: dict[str, Any] = {}
        if self.env is not None:
            if self.env not in envs:
                self.problems.append(
                    Problem(
                        pdoc.where(("environments",), key=True),
                        f"unknown environment '{self.env}'",
                        schemacheck.suggest(self.env, list(envs))
                        if envs
                        else "declare it under 'environments:'",
                    )
                )
            elif isinstance(envs[self.env], dict):
                env_data = envs[self.env]
        raw_name = data.get("project")
        name = raw_name if isinstance(raw_name, str) else "project"
        variables = self.variables(pdoc, env_data, name)
        target = self.target(pdoc, env_data)
        resources = self.resources(pdoc)
        resources = [self.apply_environment(pdoc, env_data, r) for r in resources]
        self.check_override_keys(pdoc, resources)
        valid = [r for r in resources if schemacheck.check(r.doc, r.kind, self.problems)]
        for r in valid:
            self.interpolate(r.doc, variables)
        store_keys = {r.key for r in resources if r.kind == "vector_store"}
        assistants = [
            self.assistant(r.doc, store_keys, variables) for r in valid if r.kind == "assistant"
        ]
        stores = [self.vector_store(r.doc) for r in valid if r.kind == "vector_store"]
        if self.problems:
            raise SpecError(self.problems)
        return Project(
            name=name,
            root=self.root,
            environment=self.env,
            target=target,
            assistants=tuple(sorted((a for a in assistants if a), key=lambda a: a.key)),
            vector_stores=tuple(sorted((s for s in stores if s), key=lambda s: s.key)),
            environments=tuple(sorted(envs)),
        )

    def variables(self, pdoc: Document, env_data: dict[str, Any], name: str) -> dict[str, str]:
        result = {"project": name, "env": self.env or ""}
        for source in (pdoc.data.get("vars"), env_data.get("vars")):
            if isinstance(source, dict):
                result.update({k: _text(v) for k, v in source.items()})
        return result

    def interpolate(self, doc: Document, variables: dict[str, str]) -> None:
        """Substitute `${var}` in every string of `doc`, reporting bad references in it."""

        def substitute(text: str, path: tuple[Any, ...]) -> str:
            return self.substitute(text, variables, doc, path)

        doc.data = interpolate.walk(doc.data, (), substitute)

    def substitute(
        self, text: str, variables: dict[str, str], doc: Document, path: JsonPath
    ) -> str:
        def report(message: str, hint: str, offset: int) -> None:
            self.error(doc, path, message, hint)

        return interpolate.substitute(text, variables, report)

    def target(self, pdoc: Document, env_data: dict[str, Any]) -> Target:
        declared = pdoc.data.get("targets") if isinstance(pdoc.data.get("targets"), dict) else {}
        targets: dict[str, dict[str, Any]] = {BUILTIN_TARGET: {"type": "sandbox"}}
        targets.update({k: v for k, v in declared.items() if isinstance(v, dict)})
        chosen = (
            self.target_name
            or env_data.get("target")
            or pdoc.data.get("default_target")
            or BUILTIN_TARGET
        )
        if not isinstance(chosen, str) or chosen not in targets:
            where: JsonPath = (
                ("environments", str(self.env), "target")
                if env_data.get("target")
                else ("default_target",)
            )
            self.error(
                pdoc,
                where,
                f"unknown target {chosen!r}",
                schemacheck.suggest(str(chosen), list(targets)),
            )
            chosen = BUILTIN_TARGET
        for name, declared_spec in targets.items():  # every target, not only the chosen one
            if declared_spec.get("type") == "openai" and not declared_spec.get("base_url"):
                self.error(
                    pdoc,
                    ("targets", name),
                    f"target '{name}' needs a base_url",
                    "add 'base_url: https://...'",
                )
        spec = targets[chosen]
        db = spec.get("db", SANDBOX_DB) if spec.get("type") == "sandbox" else None
        rules = spec.get("rules") if spec.get("type") == "sandbox" else None
        if isinstance(rules, str) and not (self.root / rules).is_file():
            self.error(
                pdoc,
                ("targets", chosen, "rules"),
                f"sandbox rules file '{rules}' does not exist",
                "give a path relative to the project directory",
            )
        return Target(
            name=chosen,
            type=str(spec.get("type", "sandbox")),
            base_url=spec.get("base_url"),
            api_key_env=spec.get(
                "api_key_env", "OPENAI_API_KEY" if spec.get("type") == "openai" else None
            ),
            organization=spec.get("organization"),
            project=spec.get("project"),
            timeout=spec.get("timeout"),
            max_retries=spec.get("max_retries"),
            db=self.root / db if isinstance(db, str) else None,
            rules=self.root / rules if isinstance(rules, str) else None,
        )

    def resources(self, pdoc: Document) -> list[_Resource]:
        include = pdoc.data.get("include")
        patterns = include if isinstance(include, list) else list(DEFAULT_INCLUDE)
        files: set[Path] = set()
        for i, pattern in enumerate(patterns):
            if not isinstance(pattern, str):
                continue
            matched = {
                Path(p)
                for p in glob.glob(pattern, root_dir=self.root, recursive=True)
                if not p.endswith(CONVERSATION_SUFFIX)
                and Path(p).name != PROJECT_FILE
                and (self.root / p).is_file()
            }
            if not matched and isinstance(include, list):
                self.error(
                    pdoc,
                    ("include", i),
                    f"include pattern '{pattern}' matches no file",
                    "fix the pattern or remove it",
                )
            files |= matched
        found: list[_Resource] = []
        first: dict[tuple[str, str], Document] = {}
        for rel in sorted(files):
            for doc in parse_file(self.root / rel, self.display(rel), self.problems):
                resource = self.resource(doc)
                if resource is None:
                    continue
                previous = first.setdefault((resource.kind, resource.key), doc)
                if previous is not doc:
                    where = previous.where(("key",))
                    self.error(
                        doc,
                        ("key",),
                        f"duplicate {resource.kind} key '{resource.key}'",
                        f"first defined at {where}; keys must be unique in the project",
                    )
                    continue
                found.append(resource)
        return found

    def resource(self, doc: Document) -> _Resource | None:
        data = doc.data
        if not isinstance(data, dict):
            self.error(
                doc,
                (),
                "a spec document must be a mapping",
                "start it with 'kind: assistant' or 'kind: vector_store'",
            )
            return None
        kind = data.get("kind")
        if kind not in schemacheck.schema.RESOURCE_KINDS:
            if "kind" not in data:
                self.error(
                    doc,
                    (),
                    "missing required key 'kind'",
                    "add 'kind: assistant' or 'kind: vector_store'",
                )
            else:
                self.error(
                    doc,
                    ("kind",),
                    f"unknown kind {kind!r}",
                    schemacheck.suggest(str(kind), list(schemacheck.schema.RESOURCE_KINDS)),
                )
            return None
        key = data.get("key")
        if not isinstance(key, str):
            schemacheck.check(doc, kind, self.problems)
            return None
        return _Resource(kind, key, doc)

    def apply_environment(
        self, pdoc: Document, env_data: dict[str, Any], r: _Resource
    ) -> _Resource:
        """Defaults fill fields a resource leaves unset; overrides replace any field."""
        doc = Document(
            r.doc.file, copy.deepcopy(r.doc.data), dict(r.doc.positions), dict(r.doc.key_positions)
        )
        if r.kind == "assistant":
            # the environment's defaults win over the project's: they are applied first
            bases: tuple[tuple[Any, ...], ...] = (
                ("environments", self.env, "defaults"),
                ("defaults",),
            )
            for base in bases:
                defaults = _get(pdoc.data, base)
                if not isinstance(defaults, dict):
                    continue
                for k, v in defaults.items():
                    if (
                        k == "metadata"
                        and isinstance(v, dict)
                        and isinstance(doc.data.get(k), dict)
                    ):
                        for mk, mv in v.items():
                            if mk not in doc.data[k]:
                                _merge(doc, mv, pdoc, (*base, k, mk), (k, mk))
                    elif k not in doc.data:
                        _merge(doc, v, pdoc, (*base, k), (k,))
        section = _RESOURCE_SECTIONS[r.kind]
        override = _get(env_data, ("overrides", section, r.key))
        if isinstance(override, dict):
            _merge(
                doc,
                {k: v for k, v in override.items() if k not in ("kind", "key")},
                pdoc,
                ("environments", self.env, "overrides", section, r.key),
                (),
            )
        return _Resource(r.kind, r.key, doc)

    # ---- building ----------------------------------------------------------------

    def check_override_keys(self, pdoc: Document, resources: list[_Resource]) -> None:
        overrides = _get(pdoc.data, ("environments", self.env, "overrides"))
        if self.env is None or not isinstance(overrides, dict):
            return
        for kind, section in _RESOURCE_SECTIONS.items():
            known = [r.key for r in resources if r.kind == kind]
            for key, override in (overrides.get(section) or {}).items():
                for fixed in ("kind", "key"):
                    if isinstance(override, dict) and fixed in override:
                        self.error(
                            pdoc,
                            ("environments", self.env, "overrides", section, key, fixed),
                            f"an override cannot change '{fixed}'",
                            "it is the resource's identity; remove it from the override",
                            key=True,
                        )
                if key not in known:
                    self.error(
                        pdoc,
                        ("environments", self.env, "overrides", section, key),
                        f"environment '{self.env}' overrides unknown {kind} '{key}'",
                        schemacheck.suggest(key, known) if known else f"no {kind} has that key",
                        key=True,
                    )

    def assistant(
        self, doc: Document, store_keys: set[str], variables: dict[str, str]
    ) -> AssistantSpec | None:
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
                    doc, ("tool_resources", "code_interpreter", "files", i), pattern
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
            if key not in store_keys:
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
            protect=bool(data.get("protect", False)),
            adopt=data.get("adopt"),
        )

    def tool(
        self, doc: Document, index: int, tool: dict[str, Any], variables: dict[str, str]
    ) -> dict[str, Any] | None:
        if tool.get("type") != "function":
            return dict(tool)
        path: JsonPath = ("tools", index)
        fpath: JsonPath
        if "file" in tool:
            fdoc = self.read_json(doc, (*path, "file"), tool["file"])
            if fdoc is None:
                return None
            if not schemacheck.check(fdoc, "function", self.problems):
                return None
            self.interpolate(fdoc, variables)
            function, fpath = fdoc.data, ()
        else:
            fdoc, function, fpath = doc, tool.get("function") or {}, (*path, "function")
        self.check_json_schema(
            fdoc, (*fpath, "parameters"), function.get("parameters"), bool(function.get("strict"))
        )
        return {"type": "function", "function": function}

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
        findings = list(checks.json_schema_findings(value))
        if strict and not findings:
            findings = list(checks.strict_findings(value))
        for sub, message, hint in findings:
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
                for ref in self.files(doc, ("files", i), pattern)
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
            adopt=data.get("adopt"),
        )

    # ---- files -------------------------------------------------------------------

    def files(self, doc: Document, path: JsonPath, pattern: str) -> list[FileRef]:
        """The files a path or glob names, relative to the project directory."""
        if _GLOB_CHARS & set(pattern):
            names = sorted(glob.glob(pattern, root_dir=self.root, recursive=True))
            names = [n for n in names if (self.root / n).is_file()]
            if not names:
                self.error(
                    doc,
                    path,
                    f"glob '{pattern}' matches no file",
                    "paths are relative to the project directory",
                )
        else:
            names = [pattern]
        refs = [ref for name in names if (ref := self.file_ref(doc, path, name))]
        return refs

    def file_ref(self, doc: Document, path: JsonPath, name: str) -> FileRef | None:
        full = (self.root / name).resolve()
        try:
            rel = full.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            self.error(
                doc,
                path,
                f"'{name}' is outside the project directory",
                "move the file into the project",
            )
            return None
        try:
            size = full.stat().st_size
        except OSError:
            self.error(
                doc,
                path,
                f"file not found: '{name}'",
                "paths are relative to the project directory",
            )
            return None
        if not full.is_file():
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
        return FileRef(rel, full, size)

    def text_or_file(self, doc: Document, path: JsonPath, variables: dict[str, str]) -> str | None:
        value = _get(doc.data, path)
        if not isinstance(value, dict):
            return value if isinstance(value, str) else None
        ref = self.file_ref(doc, (*path, "file"), value["file"])
        if ref is None:
            return None
        try:
            text = ref.abs_path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.error(
                doc, (*path, "file"), f"'{value['file']}' is not UTF-8 text", "save it as UTF-8"
            )
            return None
        display = self.display(Path(ref.path))

        def report(message: str, hint: str, offset: int) -> None:
            line = text.count("\n", 0, offset) + 1
            column = offset - (text.rfind("\n", 0, offset) + 1) + 1
            self.problems.append(Problem(Location(display, line, column), message, hint))

        return interpolate.substitute(text, variables, report)

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


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unique(refs: list[FileRef]) -> list[FileRef]:
    return list({r.path: r for r in refs}.values())
