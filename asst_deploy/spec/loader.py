"""Load a project: read every spec file once, apply an environment, check, build the model."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asst_deploy import generations, models, speccache
from asst_deploy.desired import (
    AssistantSpec,
    Grader,
    Project,
    Target,
)
from asst_deploy.errors import Location, Problem, SpecError
from asst_deploy.reader import parse_file
from asst_deploy.spec import documents, interpolate, schemacheck, shutdowns
from asst_deploy.spec import rules as rules_checks
from asst_deploy.spec.build import Builder, get
from asst_deploy.spec.documents import DOCUMENTS, Context, assistant, start_hint
from asst_deploy.types import TargetType
from asst_deploy.yamlpos import Document, JsonPath, shared_memo, shared_reads

PROJECT_FILE = "asst-deploy.yaml"
CONVERSATION_SUFFIX = ".conv.yaml"
SANDBOX_DB = ".asst-deploy/sandbox.db"
BUILTIN_TARGET = "sandbox"


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
    return project_info(path)[1]


def project_info(path: str | Path) -> tuple[str | None, tuple[str, ...]]:
    """The project's name (None when unknown) and its environments, read without checks."""
    problems: list[Problem] = []
    docs = parse_file(find_root(path) / PROJECT_FILE, PROJECT_FILE, problems)
    data = docs[0].data if len(docs) == 1 and isinstance(docs[0].data, dict) else {}
    name, envs = data.get("project"), data.get("environments")
    return (
        name if isinstance(name, str) else None,
        tuple(sorted(envs)) if isinstance(envs, dict) else (),
    )


def load_project(
    path: str | Path = ".", env: str | None = None, target: str | None = None
) -> Project:
    """The validated desired state of one environment; SpecError lists every problem,
    also every field the target's API cannot hold (see asst_deploy/generations)."""
    return _Loader(find_root(path), env, target).load()


def load_unchecked(path: str | Path, env: str | None) -> tuple[Project, frozenset[str]]:
    """One environment as `validate --matrix` sees it: every assistant, also those the
    environment excludes (their keys are returned too), not checked against the target's
    API. SpecError lists the other problems."""
    loader = _Loader(find_root(path), env, None, check_api=False, keep_excluded=True)
    project = loader.load()
    return project, frozenset(loader.excluded.get(assistant.DOCUMENT.section, ()))


def environment_targets(path: str | Path) -> dict[str, Target]:
    """The target of every environment the project file declares, read from it alone (the
    environments' specs are not loaded; a problem there is left to their own load)."""
    root = find_root(path)
    docs = parse_file(root / PROJECT_FILE, PROJECT_FILE, [])
    data = docs[0].data if len(docs) == 1 and isinstance(docs[0].data, dict) else {}
    envs = data.get("environments")
    if not isinstance(envs, dict):
        return {}
    return {
        str(name): _Loader(root, str(name)).target(
            docs[0], env if isinstance(env, dict) else {}, check=False
        )
        for name, env in envs.items()
    }


def named_target(
    path: str | Path, env: str | None = None, target: str | None = None
) -> Target | None:
    """The target one environment (or `target`) deploys to, read from the project file
    alone, as the load will choose it; None when the file or the choice has a problem
    (the load reports it)."""
    problems: list[Problem] = []
    try:
        root = find_root(path)
    except SpecError:
        return None
    docs = parse_file(root / PROJECT_FILE, PROJECT_FILE, problems)
    if problems or len(docs) != 1 or not isinstance(docs[0].data, dict):
        return None
    envs = docs[0].data.get("environments")
    env_data: Any = envs.get(env) if env is not None and isinstance(envs, dict) else {}
    if not isinstance(env_data, dict):
        return None
    loader = _Loader(root, env, target)
    chosen = loader.target(docs[0], env_data)
    return None if loader.problems else chosen


class _Overlay:
    """A resource's document with an environment's defaults and overrides merged in. Its
    data copies the file's top level only, and a mapping below it before merging changes
    it: the file's own data serves every environment, and the values an environment left
    as they were stay the same objects (schemacheck.check checks only the others)."""

    def __init__(self, source: Document) -> None:
        self.doc = source.copy(dict(source.data))
        self.owned: dict[int, Any] = {id(self.doc.data): self.doc.data}  # id -> mapping

    def merge(
        self, over: Any, over_doc: Document, over_path: tuple[Any, ...], at: JsonPath
    ) -> None:
        """Deep-merge `over` at `at` (mappings merge, anything else replaces, null removes),
        carrying the overlay's positions along so errors point at it."""
        target = self.doc.data
        for part in at[:-1]:
            child = target[part]
            if id(child) not in self.owned:
                child = target[part] = dict(child)
                self.owned[id(child)] = child
            target = child
        key = at[-1] if at else None
        current = target.get(key) if key is not None else target
        if isinstance(over, dict) and isinstance(current, dict):
            for k, v in over.items():
                self.merge(v, over_doc, (*over_path, k), (*at, k))
            return
        assert key is not None
        if over is None:
            target.pop(key, None)
            return
        target[key] = _copy(over)
        self.doc.graft(at, over_doc, over_path)


@dataclass
class _Resource:
    kind: str
    key: str
    doc: Document  # merged with defaults and the environment's overrides
    source: Document | None = None  # the file's own, when `doc` is merged from it


@dataclass
class _Loader:
    root: Path
    env: str | None
    target_name: str | None = None
    check_api: bool = True  # refuse what the target's API cannot hold
    keep_excluded: bool = False  # keep the resources the environment excludes
    problems: list[Problem] = field(default_factory=list)
    excluded: dict[str, list[str]] = field(default_factory=dict)  # section -> keys

    def __post_init__(self) -> None:
        self.build = Builder(self.root, self.problems)
        self.error = self.build.error
        self.display = self.build.display

    # ---- reading -----------------------------------------------------------------

    def load(self) -> Project:
        # one load reads a file once (another's block serves when one is open), and the
        # files read before parse and pass their checks from the project's cache
        with shared_reads(), speccache.session(self.root):
            return self.read()

    def read(self) -> Project:
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
        resources = self.exclude(pdoc, env_data, resources)
        valid = []
        for r in resources:
            if schemacheck.check(r.doc, r.kind, self.problems, source=r.source):
                valid.append(r)
            elif (rest := schemacheck.prune(r.doc, r.kind)) is not None:
                # the semantic checks run on what the schema accepts, so that every problem
                # shows at once; its record is never used (there are problems already)
                DOCUMENTS[r.kind].after_prune(r.doc, rest)
                valid.append(_Resource(r.kind, r.key, rest))
        for r in valid:
            self.build.interpolate(r.doc, variables)
        declared = data.get("targets")
        context = Context(
            variables=variables,
            declared={n: frozenset(r.key for r in resources if r.kind == n) for n in DOCUMENTS},
            excluded={
                n: frozenset(() if self.keep_excluded else self.excluded.get(d.section, ()))
                for n, d in DOCUMENTS.items()
            },
            target=target.name,
            targets=frozenset({BUILTIN_TARGET, *(declared if isinstance(declared, dict) else ())}),
            parts={
                n: frozenset(p for r in resources if r.kind == n for p in d.parts(r.doc.data))
                for n, d in DOCUMENTS.items()
            },
        )
        built = {
            kn: [(kind.build(self.build, r.doc, context), r.doc) for r in valid if r.kind == kn]
            for kn, kind in DOCUMENTS.items()
        }
        for kn, kind in DOCUMENTS.items():
            if not self.check_api:
                break
            for record, doc in built[kn]:
                if record is None or not self.check_api_documents(target, kn, record.key, doc):
                    continue
                if kind.refusable:
                    self.check_api_fields(target, record, doc)
        grader = self.grader(pdoc, target)
        if self.problems:
            raise SpecError(self.problems)
        project = Project(
            name=name,
            root=self.root,
            environment=self.env,
            target=target,
            records={
                kn: tuple(sorted((r for r, _ in built[kn] if r is not None), key=lambda r: r.key))
                for kn in DOCUMENTS
            },
            environments=tuple(sorted(envs)),
            allow_modules=tuple((data.get("replay") or {}).get("allow_modules") or ()),
            grader=grader,
            prices=_prices(data),
            excluded={
                kn: frozenset(self.excluded.get(d.section, ())) for kn, d in DOCUMENTS.items()
            },
        )
        if self.check_api and shutdowns.applies(target):
            warned, refused = shutdowns.check(shutdowns.uses(project), shutdowns.today())
            if refused:
                raise SpecError(refused)
            shutdowns.warn(warned)
        return project

    def variables(self, pdoc: Document, env_data: dict[str, Any], name: str) -> dict[str, str]:
        result = {"project": name, "env": self.env or ""}
        where: dict[str, JsonPath] = {}
        sources = (("vars",), ("environments", str(self.env), "vars"))
        for path, source in zip(
            sources, (pdoc.data.get("vars"), env_data.get("vars")), strict=True
        ):
            if isinstance(source, dict):
                result.update({k: _text(v) for k, v in source.items()})
                where.update({k: (*path, k) for k in source})

        def report(variable: str, message: str, hint: str) -> None:
            self.error(pdoc, where.get(variable, ("vars",)), message, hint)

        return interpolate.resolve(result, report)

    def target(self, pdoc: Document, env_data: dict[str, Any], check: bool = True) -> Target:
        """The target `env_data` (an environment's) names; `check`: and a problem for what
        is wrong with any declared target (a load checks them once, not per lookup)."""
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
        for name, declared_spec in targets.items() if check else ():  # each, not only the chosen
            api = generations.API_GENERATIONS.get(
                str(declared_spec.get("api", generations.DEFAULT_API))
            )
            if (
                declared_spec.get("type") == "openai"
                and not declared_spec.get("base_url")
                and api is not None
                and api.not_on_openai
            ):
                # without a base_url the SDK's own endpoint, api.openai.com, is meant
                self.error(
                    pdoc,
                    ("targets", name),
                    f"target '{name}' (api {api.name}) needs a base_url: {api.not_on_openai}",
                    "add 'base_url: https://...' of a compatible endpoint, or set 'api:' to "
                    + " or ".join(
                        n for n, a in generations.API_GENERATIONS.items() if not a.not_on_openai
                    ),
                )
        for name, declared_spec in targets.items() if check else ():
            if declared_spec.get("type") == "sandbox":
                self.check_sandbox_files(pdoc, name, declared_spec)
        spec = targets[chosen]
        db = spec.get("db", SANDBOX_DB) if spec.get("type") == "sandbox" else None
        rules = spec.get("rules") if spec.get("type") == "sandbox" else None
        return Target(
            name=chosen,
            type=TargetType(spec.get("type", TargetType.SANDBOX)),
            api=str(spec.get("api", generations.DEFAULT_API)),
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
            models=tuple(spec["models"]) if isinstance(spec.get("models"), list) else None,
        )

    def grader(self, pdoc: Document, target: Target) -> Grader:
        """The project file's replay.grader; its endpoint a target whose Responses API can
        grade (the sandbox serves it whatever its api)."""
        replay = pdoc.data.get("replay")
        raw = replay.get("grader") if isinstance(replay, dict) else None
        if not isinstance(raw, dict):
            return Grader()
        model = raw.get("model")
        embedding = raw.get("embedding_model")
        endpoint = raw.get("endpoint")
        found: Target | None = None
        if isinstance(endpoint, str) and endpoint != target.name:
            declared = pdoc.data.get("targets")
            names = [BUILTIN_TARGET, *(declared if isinstance(declared, dict) else ())]
            where: JsonPath = ("replay", "grader", "endpoint")
            if endpoint not in names:
                self.error(
                    pdoc,
                    where,
                    f"the grader's endpoint '{endpoint}' is not a target of the project",
                    schemacheck.suggest(endpoint, names),
                )
            else:
                found = _Loader(self.root, self.env, endpoint).target(pdoc, {}, check=False)
        elif isinstance(endpoint, str):
            found = target
        serves = generations.API_GENERATIONS.get(found.api) if found is not None else None
        if (
            found is not None
            and found.type != TargetType.SANDBOX
            and not (serves is not None and serves.serves_responses)
        ):
            self.error(
                pdoc,
                ("replay", "grader", "endpoint"),
                f"the grader's endpoint '{found.name}' is a target of api {found.api}: "
                "graders are called through the Responses API",
                "name a target of api responses (or the sandbox, which serves it whatever its api)",
            )
        return Grader(
            model=model if isinstance(model, str) else models.DEFAULT_GRADER_MODEL,
            embedding_model=(
                embedding if isinstance(embedding, str) else models.DEFAULT_EMBEDDING_MODEL
            ),
            target=found,
            location=pdoc.where(("replay", "grader", "model")) if isinstance(model, str) else None,
        )

    def check_sandbox_files(self, pdoc: Document, name: str, spec: dict[str, Any]) -> None:
        """A sandbox's state file and rules file live in the project; the rules parse."""
        db, rules = spec.get("db"), spec.get("rules")
        shared = spec.get("db_outside_project") is True  # said explicitly, never implied
        if isinstance(db, str) and not shared and not self.build.inside(self.root / db):
            self.error(
                pdoc,
                ("targets", name, "db"),
                f"sandbox db '{db}' is outside the project directory",
                f"give a path inside the project, e.g. {SANDBOX_DB}",
            )
        if not isinstance(rules, str):
            return
        where: JsonPath = ("targets", name, "rules")
        if not self.build.inside(self.root / rules):
            self.error(
                pdoc,
                where,
                f"sandbox rules file '{rules}' is outside the project directory",
                "move it into the project and give its relative path",
            )
        elif not (self.root / rules).is_file():
            self.error(
                pdoc,
                where,
                f"sandbox rules file '{rules}' does not exist",
                "give a path relative to the project directory",
            )
        else:
            # the same file for every environment a command loads: checked once
            memo = shared_memo("sandbox rules")
            found = memo.get((self.root, rules)) if memo is not None else None
            if found is None:
                found = []
                rules_checks.check(self.root / rules, self.display(Path(rules)), found)
                if memo is not None:
                    memo[(self.root, rules)] = found
            self.problems.extend(found)

    def resources(self, pdoc: Document) -> list[_Resource]:
        include = pdoc.data.get("include")
        # without `include:`, each document kind's own folder (assistants/**/*.yaml, ...)
        default = [DOCUMENTS[name].include for name in documents.names()]
        patterns = include if isinstance(include, list) else default
        files: set[Path] = set()
        for i, pattern in enumerate(patterns):
            if not isinstance(pattern, str):
                continue
            if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
                self.error(
                    pdoc,
                    ("include", i),
                    f"include pattern '{pattern}' reaches outside the project directory",
                    "patterns are relative to the project directory",
                )
                continue
            matched, outside = self.matches(pattern)
            if outside:  # a symlink, to a file or a folder, that leads out of the project
                self.error(
                    pdoc,
                    ("include", i),
                    f"include pattern '{pattern}' matches '{outside[0]}', which resolves "
                    "outside the project directory",
                    "replace the symlink by the file itself",
                )
                matched -= set(outside)
            if not matched and not outside and isinstance(include, list):
                self.error(
                    pdoc,
                    ("include", i),
                    f"include pattern '{pattern}' matches no file",
                    "fix the pattern or remove it",
                )
            files |= matched
        if not isinstance(include, list):
            files = {rel for rel in files if not self.in_content(rel)}
        # every environment reads the same files: sorted and named once
        memo = shared_memo("spec files")
        listing = memo.get((self.root, frozenset(files))) if memo is not None else None
        if listing is None:
            listing = [(self.root / rel, self.display(rel)) for rel in sorted(files)]
            if memo is not None:
                memo[(self.root, frozenset(files))] = listing
        found: list[_Resource] = []
        first: dict[tuple[str, str], Document] = {}
        for full, display in listing:
            for doc in parse_file(full, display, self.problems):
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

    def in_content(self, rel: Path) -> bool:
        """Whether `rel` lies in a folder that is a document's content (see
        DocumentKind.content_marker), under the project directory."""
        # asked of every spec file in every environment, and the answer is its folder's:
        # each folder is looked at once (per command, inside shared_reads())
        memo = shared_memo("content folders")
        return self._content_folder(os.path.dirname(rel), {} if memo is None else memo)

    def _content_folder(self, folder: str, memo: dict[Any, bool]) -> bool:
        """Whether `folder` (relative, "" for the project's) or a folder above it below the
        project directory holds a content marker."""
        if not folder:
            return False
        found = memo.get((self.root, folder))
        if found is None:
            markers = [d.content_marker for d in DOCUMENTS.values() if d.content_marker]
            found = any(
                (self.root / folder / marker).is_file() for marker in markers
            ) or self._content_folder(os.path.dirname(folder), memo)
            memo[(self.root, folder)] = found
        return found

    def matches(self, pattern: str) -> tuple[set[Path], list[Path]]:
        """The spec files an include pattern matches, and those of them that resolve outside
        the project (found once for every environment a command loads)."""
        memo = shared_memo("include patterns")
        found = memo.get((self.root, pattern)) if memo is not None else None
        if found is None:
            matched = {
                Path(p)
                for p in glob.glob(pattern, root_dir=self.root, recursive=True)
                if not p.endswith(CONVERSATION_SUFFIX)
                and os.path.basename(p) != PROJECT_FILE
                and os.path.isfile(os.path.join(self.root, p))
            }
            outside = sorted(p for p in matched if not self.build.inside(self.root / p))
            found = (frozenset(matched), tuple(outside))
            if memo is not None:
                memo[(self.root, pattern)] = found
        return set(found[0]), list(found[1])

    def resource(self, doc: Document) -> _Resource | None:
        data = doc.data
        if not isinstance(data, dict):
            self.error(
                doc, (), "a spec document must be a mapping", f"start it with {start_hint()}"
            )
            return None
        kind = data.get("kind")
        if kind not in DOCUMENTS:
            if "kind" not in data:
                self.error(doc, (), "missing required key 'kind'", f"add {start_hint()}")
            else:
                self.error(
                    doc,
                    ("kind",),
                    f"unknown kind {kind!r}",
                    schemacheck.suggest(str(kind), documents.names()),
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
        overlay = _Overlay(r.doc)
        doc = overlay.doc
        if DOCUMENTS[r.kind].takes_defaults:
            # the environment's defaults win over the project's: they are applied first
            bases: tuple[tuple[Any, ...], ...] = (
                ("environments", self.env, "defaults"),
                ("defaults",),
            )
            for base in bases:
                defaults = get(pdoc.data, base)
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
                                overlay.merge(mv, pdoc, (*base, k, mk), (k, mk))
                    elif k not in doc.data:
                        overlay.merge(v, pdoc, (*base, k), (k,))
        section = DOCUMENTS[r.kind].section
        override = get(env_data, ("overrides", section, r.key))
        if isinstance(override, dict):
            overlay.merge(
                {k: v for k, v in override.items() if k not in ("kind", "key")},
                pdoc,
                ("environments", self.env, "overrides", section, r.key),
                (),
            )
        return _Resource(r.kind, r.key, doc, r.doc)

    def exclude(
        self, pdoc: Document, env_data: dict[str, Any], resources: list[_Resource]
    ) -> list[_Resource]:
        """The resources without those the environment's `exclude:` names (an unknown key
        is an error: a typo would deploy what was meant to stay out)."""
        exclude = env_data.get("exclude")
        if not isinstance(exclude, dict):
            return resources
        for kind in documents.names():
            section = DOCUMENTS[kind].section
            known = [r.key for r in resources if r.kind == kind]
            keys = exclude.get(section)
            for i, key in enumerate(keys if isinstance(keys, list) else []):
                if isinstance(key, str) and key not in known:
                    self.error(
                        pdoc,
                        ("environments", str(self.env), "exclude", section, i),
                        f"environment '{self.env}' excludes unknown {kind} '{key}'",
                        schemacheck.suggest(key, known) if known else f"no {kind} has that key",
                    )
            self.excluded[section] = [k for k in keys or () if k in known]
        if self.keep_excluded:
            return resources
        return [
            r for r in resources if r.key not in self.excluded.get(DOCUMENTS[r.kind].section, ())
        ]

    def check_api_documents(self, target: Target, kind: str, key: str, doc: Document) -> bool:
        """Whether the target's API holds documents of `kind`; else a located error."""
        api = generations.API_GENERATIONS.get(target.api)
        if api is None or kind not in api.refused_documents:
            return True
        holders = [
            g.name for g in generations.API_GENERATIONS.values() if kind not in g.refused_documents
        ]
        section = DOCUMENTS[kind].section
        fix = f"exclude it from this environment (exclude: {{{section}: [{key}]}})"
        self.problems.append(
            Problem(
                self.build.where(doc, ("kind",)),
                f"target '{target.name}' (api {api.name}) cannot hold {kind} '{key}': "
                f"{api.refused_documents[kind]}",
                fix
                + (f" and deploy it to a target of api {' or '.join(holders)}" if holders else ""),
            )
        )
        return False

    def check_api_fields(self, target: Target, spec: AssistantSpec, doc: Document) -> None:
        """A located error for every field of `spec` the target's API cannot hold."""
        api = generations.API_GENERATIONS.get(target.api)
        if api is None:  # an unknown api: the schema's error says so already
            return
        for refusal in api.refusals(spec):
            others = " or ".join(n for n in generations.holders(spec, refusal) if n != api.name)
            elsewhere = (
                ""
                if not others
                else f", or deploy {spec.key} to a target of api {others}"
                if self.env is None
                else f", or exclude {spec.key} from environment '{self.env}' "
                f"(exclude: {{assistants: [{spec.key}]}}) and deploy it to a target of api {others}"
            )
            self.problems.append(
                Problem(
                    self.build.where(doc, refusal.path),
                    f"target '{target.name}' (api {api.name}) cannot hold {refusal.label}: "
                    f"{refusal.reason}",
                    refusal.advice(self.env) + elsewhere,
                )
            )

    # ---- building ----------------------------------------------------------------

    def check_override_keys(self, pdoc: Document, resources: list[_Resource]) -> None:
        overrides = get(pdoc.data, ("environments", self.env, "overrides"))
        if self.env is None or not isinstance(overrides, dict):
            return
        for kind in documents.names():
            section = DOCUMENTS[kind].section
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


def _prices(data: dict[str, Any]) -> dict[str, models.Price]:
    """replay.prices as Price records (a cached input costs what an input does unless said)."""
    replay = data.get("replay")
    raw = replay.get("prices") if isinstance(replay, dict) else None
    if not isinstance(raw, dict):
        return {}
    return {
        str(name): models.Price(
            float(p["input"]),
            float(p["cached_input"] if "cached_input" in p else p["input"]),
            float(p["output"]),
        )
        for name, p in raw.items()
        if isinstance(p, dict)
    }


def _copy(value: Any) -> Any:
    """A deep copy of parsed data: copy.deepcopy's result at a fraction of its cost, since
    the readers build trees (an alias is built again, never shared) of plain values."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
