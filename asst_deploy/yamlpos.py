"""The one place that reads YAML: plain values plus the line and column of every value."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from asst_deploy import speccache
from asst_deploy.errors import Location, Problem

try:  # libyaml's composer is several times faster; fall back where it is not built
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

JsonPath = tuple[str | int, ...]

# Hostile input must fail fast and small. An alias names a node built elsewhere, so a
# kilobyte of nested aliases can stand for billions of values ("billion laughs"): what
# aliases add is counted before it is built. Nesting is bounded because every reader
# after this one (JSON Schema checks, interpolation, merging) walks documents recursively.
MAX_ALIAS_EXPANSION = 100_000  # values that aliases may add to one document
MAX_DEPTH = 64  # mappings and lists inside one another
# plain documents (cassettes) hold API responses, which hold a spec's deepest values
# (function parameters) some levels further down
MAX_PLAIN_DEPTH = 2 * MAX_DEPTH
SURROGATE = re.compile(r"[\ud800-\udfff]")


REFUSED: Any = object()  # a value over a limit (reported): left out of its mapping


class LimitError(yaml.MarkedYAMLError):
    """A document over one of the reading limits (a YAMLError, so YAML handlers catch it)."""


Tables = tuple[dict[JsonPath, Location], dict[JsonPath, Location]]


class Document:
    """One YAML document: its data and where each value (and each mapping key) sits.

    Reading a valid file records only the positions of its top-level fields (where a
    resource is defined); `locate` finds the others by reading the file's text once more,
    the first time something asks (an error to point at). Values merged in from another
    document (`graft`) keep that document's positions."""

    def __init__(
        self,
        file: str,
        data: Any,
        *,
        locate: Callable[[], Tables] | None = None,
        shallow: Tables | None = None,
    ) -> None:
        self.file = file
        self.data = data
        self._locate = locate
        self._tables: Tables | None = None if locate is not None else ({}, {})
        self._grafts: list[tuple[JsonPath, Document, JsonPath]] = []
        self._shallow = shallow  # the top-level positions, known while _tables is None
        self._content: tuple[Any, bytes] | None = None  # (data, key): see `content`

    @property
    def content(self) -> bytes | None:
        """The cache key of the file content `data` was read from, while `data` is still that
        value (None once it holds another, or outside a speccache session)."""
        known = self._content
        return known[1] if known is not None and known[0] is self.data else None

    def read_from(self, content: bytes) -> None:
        self._content = (self.data, content)

    @property
    def positions(self) -> dict[JsonPath, Location]:
        return self._materialized()[0]

    @property
    def key_positions(self) -> dict[JsonPath, Location]:
        return self._materialized()[1]

    def copy(self, data: Any) -> Document:
        """The same document holding `data` (a copy of its own), with tables of its own."""
        twin = Document(self.file, data, locate=self._locate)
        if self._tables is not None:
            twin._tables = (dict(self._tables[0]), dict(self._tables[1]))
            twin._locate = None
        twin._grafts = list(self._grafts)
        twin._shallow = self._shallow
        twin._content = self._content
        return twin

    def graft(self, at: JsonPath, source: Document, source_path: JsonPath) -> None:
        """The value at `at` now comes from `source` at `source_path`: so do its positions."""
        self._grafts.append((tuple(at), source, tuple(source_path)))

    def _materialized(self) -> Tables:
        if self._tables is None:
            assert self._locate is not None
            positions, keys = self._locate()
            self._tables = (dict(positions), dict(keys))
        grafts, self._grafts = self._grafts, []
        for at, source, source_path in grafts:
            prefix = len(source_path)
            for dest, table in zip(self._tables, source._materialized(), strict=True):
                for p in [p for p in dest if p[: len(at)] == at]:
                    del dest[p]
                for p, loc in table.items():
                    if p[:prefix] == source_path:
                        dest[(*at, *p[prefix:])] = loc
        return self._tables

    def where(self, path: JsonPath, *, key: bool = False) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        if self._tables is None and self._shallow is not None and len(path) <= 1:
            for at, source, source_path in reversed(self._grafts):
                if path[: len(at)] == at:
                    return source.where((*source_path, *path[len(at) :]), key=key)
            positions, key_positions = self._shallow  # answered without reading again
        else:
            positions, key_positions = self._materialized()
        table = key_positions if key else positions
        while path:
            if path in table:
                return table[path]
            if path in positions:
                return positions[path]
            path = path[:-1]
        return positions.get((), Location(self.file, 1, 1))


class _Redo(Exception):
    """A problem found while building without positions: build again, with them."""


class _Builder:
    """Turns composed YAML nodes into plain values, recording positions on the way (only
    the top-level ones unless `record`: then the first problem raises _Redo, as problems
    need positions)."""

    def __init__(
        self, doc: Document, problems: list[Problem], escapes: bool, record: bool = True
    ) -> None:
        self.doc = doc
        self.problems = problems
        self.escapes = escapes
        self.record = record
        if record:
            self.positions, self.key_positions = doc.positions, doc.key_positions
        else:  # a lean build records into the document's top-level tables
            assert doc._shallow is not None
            self.positions, self.key_positions = doc._shallow
        self.scalars = yaml.constructor.SafeConstructor()
        self.active: set[int] = set()  # ids of the collection nodes being built
        self.built: set[int] = set()  # ids of the collection nodes built once already
        self.sizes: dict[int, int] = {}
        self.expanded = 0  # values added by aliases so far
        self.in_alias = 0  # > 0 while building a node a second time (through an alias)

    def loc(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.doc.file, mark.line + 1, mark.column + 1)

    def add(self, problem: Problem) -> None:
        if not self.record:
            raise _Redo
        self.problems.append(problem)

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        if self.record or len(path) <= 1:
            self.positions[path] = self.loc(node)
        if isinstance(node, yaml.CollectionNode):
            if len(path) > MAX_DEPTH:
                self.add(Problem(self.loc(node), *DEPTH_PROBLEM))
                return REFUSED
            if id(node) in self.active:  # `&a [*a]` would otherwise recurse forever
                self.add(Problem(self.loc(node), *CYCLE_PROBLEM))
                return REFUSED
            again = id(node) in self.built
            if again and not self.in_alias:
                if self.expanded > MAX_ALIAS_EXPANSION:
                    return REFUSED  # reported once, at the first alias over the limit
                self.expanded += _size(node, self.sizes)
                if self.expanded > MAX_ALIAS_EXPANSION:
                    self.add(Problem(self.loc(node), *_ALIAS_PROBLEM))
                    return REFUSED
            self.built.add(id(node))
            self.active.add(id(node))
            self.in_alias += again
            try:
                return self.build_collection(node, path)
            finally:
                self.active.discard(id(node))
                self.in_alias -= again
        if node.tag == _STR:  # most scalars: the constructor would give node.value itself
            if self.escapes and SURROGATE.search(node.value):
                self.add(Problem(self.loc(node), *SURROGATE_PROBLEM))
            return node.value
        try:
            value = self.scalars.construct_object(node)
        except ValueError as exc:  # an integer of over 4300 digits, a date like 2026-13-01
            what = "a number of more than 4300 digits" if "digits" in str(exc) else str(exc)
            self.add(Problem(self.loc(node), f"invalid value: {what}", "quote it, or shorten it"))
            return REFUSED
        if hasattr(value, "isoformat"):  # dates and timestamps: keep the text the user wrote
            value = node.value
        elif isinstance(value, float) and not math.isfinite(value):
            self.add(
                Problem(
                    self.loc(node),
                    f"'{node.value}' is not a finite number",
                    "the API takes JSON numbers: NaN and infinity are not allowed",
                )
            )
            return REFUSED
        elif self.escapes and isinstance(value, str) and SURROGATE.search(value):
            self.add(Problem(self.loc(node), *SURROGATE_PROBLEM))
        return value

    def build_collection(self, node: yaml.CollectionNode, path: JsonPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.add(
                        Problem(
                            self.loc(key_node),
                            "YAML merge keys (<<) are not supported",
                            "write the fields out, or use environments and defaults",
                        )
                    )
                    continue
                key = self.build(key_node, (*path, "<key>"))
                if not isinstance(key, str):
                    key = str(key)
                if key in result:
                    if not self.record:
                        raise _Redo
                    first = self.key_positions[(*path, key)]
                    self.add(
                        Problem(
                            self.loc(key_node),
                            f"duplicate key '{key}'",
                            f"first defined at line {first.line}; keep only one",
                        )
                    )
                    continue
                if self.record or not path:
                    self.key_positions[(*path, key)] = self.loc(key_node)
                value = self.build(value_node, (*path, key))
                if value is not REFUSED:
                    result[key] = value
            self.positions.pop((*path, "<key>"), None)
            return result
        # a refused item stays a null: dropping it would shift the later items' positions
        items = [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return [None if item is REFUSED else item for item in items]


DEPTH_PROBLEM = (
    f"values are nested more than {MAX_DEPTH} levels deep",
    "flatten the structure",
)
_ALIAS_PROBLEM = (
    f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} values",
    "write the values out, or use fewer aliases of this anchor",
)
CYCLE_PROBLEM = ("a YAML alias refers to itself", "remove the cycle")
SURROGATE_PROBLEM = (
    "the text holds a lone surrogate escape (\\ud800-\\udfff), which is not valid Unicode",
    "write the character itself, or a surrogate pair in JSON",
)


def _children(node: yaml.CollectionNode) -> Iterator[yaml.Node]:
    """The nodes a sequence or mapping holds (a mapping's keys and values)."""
    for item in node.value:
        yield from item if isinstance(item, tuple) else (item,)


def _size(node: yaml.Node, sizes: dict[int, int], depth: int = 0) -> int:
    """How many values `node` stands for with its aliases expanded (memoised per node, so
    linear in the nodes written; the nesting bound keeps the recursion shallow)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # provisional: a cycle counts once (it is refused elsewhere)
    total = 1
    if isinstance(node, yaml.CollectionNode) and depth <= MAX_PLAIN_DEPTH:
        total += sum(_size(child, sizes, depth + 1) for child in _children(node))
    sizes[id(node)] = total
    return total


_STR, _SEQ, _MAP = (f"tag:yaml.org,2002:{t}" for t in ("str", "seq", "map"))
_MERGE = "tag:yaml.org,2002:merge"
_Scalar = yaml.ScalarNode
_PLAIN_DEPTH_PROBLEM = f"values are nested more than {MAX_PLAIN_DEPTH} levels deep"


class _Plain:
    """Plain values from composed nodes in one walk, within the reading limits (nesting,
    cycles, what aliases add). Strings, lists and mappings (nearly all of a cassette) are
    built here; any other value (a number, a date, a set, a mapping with merge keys) is
    left to the loader's own constructor, so the result is what yaml.safe_load gives."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.built: dict[int, Any] = {}  # id of a collection node -> its value (aliases share)
        self.seen: set[int] = set()  # ids of the collection nodes met, built here or not
        self.active: set[int] = set()  # ids of the collection nodes being built or walked
        self.sizes: dict[int, int] = {}
        self.expanded = 0

    def enter(self, node: yaml.CollectionNode, depth: int) -> bool:
        """Raise LimitError for a cycle, aliases over the limit or nesting too deep; True
        when `node` was met before (an alias: what it adds is counted, not walked again)."""
        key = id(node)
        if key in self.active:
            raise LimitError(problem=CYCLE_PROBLEM[0], problem_mark=node.start_mark)
        if key in self.seen:
            self.expanded += _size(node, self.sizes)
            if self.expanded > MAX_ALIAS_EXPANSION:
                raise LimitError(problem=_ALIAS_PROBLEM[0], problem_mark=node.start_mark)
            return True
        if depth > MAX_PLAIN_DEPTH:
            raise LimitError(problem=_PLAIN_DEPTH_PROBLEM, problem_mark=node.start_mark)
        self.seen.add(key)
        return False

    def value(self, node: yaml.Node, depth: int) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return node.value if node.tag == _STR else self.loader.construct_object(node)
        assert isinstance(node, yaml.CollectionNode)
        key = id(node)
        if self.enter(node, depth):  # shared, as safe_load shares it
            built = self.built.get(key)
            return self.loader.construct_object(node, deep=True) if built is None else built
        self.active.add(key)
        result: Any
        # a string (most of a cassette's values, nearly all its keys) is taken where it is met:
        # a call of value() for each cost more than building the rest
        if node.tag == _SEQ and isinstance(node, yaml.SequenceNode):
            result = [
                item.value
                if item.tag == _STR and type(item) is _Scalar
                else self.value(item, depth + 1)
                for item in node.value
            ]
        elif node.tag == _MAP and not any(k.tag == _MERGE for k, _ in node.value):
            result = {}
            for key_node, value_node in node.value:
                name = (
                    key_node.value
                    if key_node.tag == _STR and type(key_node) is _Scalar
                    else self.value(key_node, depth + 1)
                )
                try:
                    result[name] = (
                        value_node.value
                        if value_node.tag == _STR and type(value_node) is _Scalar
                        else self.value(value_node, depth + 1)
                    )
                except TypeError:  # a list or mapping as a key: safe_load's own error
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        "found unhashable key",
                        key_node.start_mark,
                    ) from None
        else:
            self.walk(node, depth)
            result = self.loader.construct_object(node, deep=True)
        self.active.discard(key)
        self.built[key] = result
        return result

    def walk(self, node: yaml.CollectionNode, depth: int) -> None:
        """The limits over the nodes under `node`, which the loader's constructor builds."""
        stack = [(child, depth + 1, False) for child in _children(node)]
        while stack:
            current, level, leaving = stack.pop()
            if leaving:
                self.active.discard(id(current))
            elif isinstance(current, yaml.CollectionNode) and not self.enter(current, level):
                self.active.add(id(current))
                stack.append((current, level, True))
                stack.extend((child, level + 1, False) for child in _children(current))


def load_plain(text: str) -> Any:
    """The one document in `text` as plain values, like yaml.safe_load, within the same
    limits as `parse`: LimitError (a YAMLError with a line and column) past them."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _Plain(loader).value(node, 0)
    finally:
        loader.dispose()


def _yaml_problem(file: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    what = getattr(exc, "problem", None) or str(exc)
    return Problem(Location(file, line, col), f"invalid YAML: {what}", "fix the syntax")


def parse(text: str, file: str, problems: list[Problem]) -> list[Document]:
    """Every document in `text`; syntax errors and duplicate keys go to `problems`. A valid
    document is built without positions (its Document finds them when asked)."""
    docs: list[Document] = []
    # a lone surrogate can only come from an escape sequence (a file read as UTF-8 has none)
    escapes = "\\u" in text or "\\U" in text
    every = functools.cache(functools.partial(_locate, text, file, escapes))
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            # an empty document (a trailing `---`, or one holding only comments) is null
            if node is None or node.tag == "tag:yaml.org,2002:null":
                continue
            locate = functools.partial(_nth, every, index)
            doc = Document(file, None, locate=locate, shallow=({}, {}))
            try:
                doc.data = _Builder(doc, problems, escapes, record=False).build(node, ())
            except _Redo:
                doc = Document(file, None)
                doc.data = _Builder(doc, problems, escapes).build(node, ())
            if doc.data is not REFUSED:
                docs.append(doc)
    except yaml.YAMLError as exc:
        problems.append(_yaml_problem(file, exc))
    return docs


def _locate(text: str, file: str, escapes: bool) -> list[Tables]:
    """The positions of every document of `text`, read again (once for all of them)."""
    found: list[Tables] = []
    for node in yaml.compose_all(text, Loader=_Loader):
        doc = Document(file, None)
        if node is not None:
            _Builder(doc, [], escapes).build(node, ())
        found.append((doc.positions, doc.key_positions))
    return found


def _nth(every: Callable[[], list[Tables]], index: int) -> Tables:
    return every()[index]


@dataclasses.dataclass
class _Reads:
    """What one shared_reads() block remembers: parsed files, resolved paths, memos."""

    files: dict[tuple[Path, str], tuple[list[Document], list[Problem]]] = dataclasses.field(
        default_factory=dict
    )
    resolved: dict[str, str] = dataclasses.field(default_factory=dict)
    memos: dict[str, dict[Any, Any]] = dataclasses.field(default_factory=dict)


# The block open in this thread or task, if any: a context variable, so that threads of an
# application server loading projects side by side never share (or clear) each other's.
_reads: contextvars.ContextVar[_Reads | None] = contextvars.ContextVar(
    "asst_deploy_shared_reads", default=None
)


def shared_memo(name: str) -> dict[Any, Any] | None:
    """A memo that lives as long as the outermost shared_reads() block (None outside it),
    for results that depend only on the files and on their key: the files do not change
    while one command reads them."""
    reads = _reads.get()
    return None if reads is None else reads.memos.setdefault(name, {})


def resolve(path: Path) -> Path:
    """`path.resolve()`, asked of the file system once per path inside shared_reads()."""
    if _reads.get() is None:
        return path.resolve()
    return Path(resolve_text(os.fspath(path)))


def resolve_text(path: str) -> str:
    """What `Path(path).resolve()` names, as text; inside shared_reads() the file system is
    asked once per path, and of a name that is no link only that: it resolves where its
    folder does, whose answer serves every file in it."""
    reads = _reads.get()
    if reads is None:
        return str(Path(path).resolve())
    found = reads.resolved.get(path)
    if found is None:
        head, name = os.path.split(path)
        if head and name not in ("", ".", "..") and not os.path.islink(path):
            found = os.path.join(resolve_text(head), name)
        else:
            found = str(Path(path).resolve())
        reads.resolved[path] = found
    return found


def read_bytes(path: Path) -> bytes:
    """The bytes of a file (os.read: a fifth of the time Path.read_bytes takes for a
    small file, which is what specs are read from by the thousand)."""
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(handle, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(handle)
    return b"".join(chunks)


def decode(raw: bytes) -> str:
    """UTF-8 `raw` as a file read as text gives it (newlines as \\n); UnicodeDecodeError."""
    text = raw.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


@contextlib.contextmanager
def shared_reads() -> Iterator[None]:
    """Within this block each file is read and parsed once, however many environments are
    loaded (they are overlays on the same documents); callers get their own Document."""
    if _reads.get() is not None:  # nested: the outer block's reads serve
        yield
        return
    token = _reads.set(_Reads())
    try:
        yield
    finally:
        _reads.reset(token)


Parser = Callable[[str, str, list[Problem]], list[Document]]


def parse_file(
    path: Path,
    display: str,
    problems: list[Problem],
    by_suffix: Mapping[str, Parser] | None = None,
) -> list[Document]:
    """The documents of a file: YAML, or the parser `by_suffix` names for its suffix (see
    asst_deploy.reader, which gives `.json` files strict JSON)."""
    by_suffix = by_suffix or {}
    reads = _reads.get()
    if reads is None:
        return _parse_file(path, display, problems, by_suffix)
    entry = reads.files.get((path, display))
    if entry is None:
        found: list[Problem] = []
        entry = reads.files[(path, display)] = (
            _parse_file(path, display, found, by_suffix),
            found,
        )
    problems.extend(entry[1])
    # the data is shared (loaders copy before they change it); the tables are the caller's
    return [d.copy(d.data) for d in entry[0]]


def _parse_file(
    path: Path, display: str, problems: list[Problem], by_suffix: Mapping[str, Parser]
) -> list[Document]:
    try:
        raw = read_bytes(path)
        text = decode(raw)
    except UnicodeDecodeError:
        problems.append(Problem(Location(display), "not a UTF-8 text file", "save it as UTF-8"))
        return []
    except OSError as exc:
        problems.append(Problem(Location(display), f"cannot read: {exc.strerror}"))
        return []
    parser = by_suffix.get(path.suffix.lower(), parse)
    if speccache.active() is None:
        return parser(text, display, problems)
    content = speccache.key("parsed", parser.__module__, parser.__qualname__, raw)
    docs = _cached(speccache.get(content), content, text, display, parser)
    if docs is not None:
        return docs
    found: list[Problem] = []
    docs = parser(text, display, found)
    problems.extend(found)
    if not found:  # a file with a problem is read afresh each time: its errors stay exact
        speccache.put(content, [(d.data, _flat(d._shallow)) for d in docs])
    for index, doc in enumerate(docs):
        doc.read_from(content + index.to_bytes(4, "little"))
    return docs


FlatTables = tuple[tuple[tuple[JsonPath, int, int], ...], tuple[tuple[JsonPath, int, int], ...]]


def _flat(tables: Tables | None) -> FlatTables | None:
    """Position tables as plain data (the file's name goes in again when read back)."""
    if tables is None:
        return None
    positions, keys = tables
    return (
        tuple((p, loc.line, loc.column) for p, loc in positions.items()),
        tuple((p, loc.line, loc.column) for p, loc in keys.items()),
    )


def _cached(
    entry: Any, content: bytes, text: str, display: str, parser: Parser
) -> list[Document] | None:
    """The documents a cache entry holds, each finding the positions it lacks by parsing
    `text` again as a fresh read would; None when there is no entry or it is not one."""
    if not isinstance(entry, list):
        return None
    again = _Again(parser, text, display)
    docs: list[Document] = []
    try:
        for index, (data, flat) in enumerate(entry):
            shallow = None
            if flat is not None:
                positions, keys = flat
                shallow = (
                    {p: Location(display, line, column) for p, line, column in positions},
                    {p: Location(display, line, column) for p, line, column in keys},
                )
            doc = Document(display, data, locate=functools.partial(again, index), shallow=shallow)
            doc.read_from(content + index.to_bytes(4, "little"))
            docs.append(doc)
    except (TypeError, ValueError):
        return None
    return docs


class _Again:
    """The positions of the documents of a file served by the cache: its text parsed
    again as a fresh read would, once, when something first asks (an error to point at)."""

    def __init__(self, parser: Parser, text: str, display: str) -> None:
        self.parser, self.text, self.display = parser, text, display
        self.docs: list[Document] | None = None

    def __call__(self, index: int) -> Tables:
        if self.docs is None:
            self.docs = self.parser(self.text, self.display, [])
        doc = self.docs[index]
        return doc.positions, doc.key_positions
