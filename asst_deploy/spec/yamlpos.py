"""The one place that reads YAML: plain values plus the line and column of every value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from asst_deploy.errors import Location, Problem

try:  # libyaml's composer is several times faster; fall back where it is not built
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

JsonPath = tuple[str | int, ...]


@dataclass
class Document:
    """One YAML document: its data and where each value (and each mapping key) sits."""

    file: str
    data: Any
    positions: dict[JsonPath, Location] = field(default_factory=dict)
    key_positions: dict[JsonPath, Location] = field(default_factory=dict)

    def where(self, path: JsonPath, *, key: bool = False) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        table = self.key_positions if key else self.positions
        path = tuple(path)
        while path:
            if path in table:
                return table[path]
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), Location(self.file, 1, 1))


class _Builder:
    """Turns composed YAML nodes into plain values, recording positions on the way."""

    def __init__(self, doc: Document, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems
        self.scalars = yaml.constructor.SafeConstructor()
        self.active: set[int] = set()  # ids of the collection nodes being built

    def loc(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.doc.file, mark.line + 1, mark.column + 1)

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.doc.positions[path] = self.loc(node)
        if isinstance(node, yaml.CollectionNode):
            if id(node) in self.active:  # `&a [*a]` would otherwise recurse forever
                self.problems.append(
                    Problem(self.loc(node), "a YAML alias refers to itself", "remove the cycle")
                )
                return None
            self.active.add(id(node))
            try:
                return self.build_collection(node, path)
            finally:
                self.active.discard(id(node))
        value = self.scalars.construct_object(node)
        if hasattr(value, "isoformat"):  # dates and timestamps: keep the text the user wrote
            value = node.value
        return value

    def build_collection(self, node: yaml.CollectionNode, path: JsonPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(
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
                    first = self.doc.key_positions[(*path, key)]
                    self.problems.append(
                        Problem(
                            self.loc(key_node),
                            f"duplicate key '{key}'",
                            f"first defined at line {first.line}; keep only one",
                        )
                    )
                    continue
                self.doc.key_positions[(*path, key)] = self.loc(key_node)
                result[key] = self.build(value_node, (*path, key))
            self.doc.positions.pop((*path, "<key>"), None)
            return result
        return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]


def _yaml_problem(file: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    what = getattr(exc, "problem", None) or str(exc)
    return Problem(Location(file, line, col), f"invalid YAML: {what}", "fix the syntax")


def parse(text: str, file: str, problems: list[Problem]) -> list[Document]:
    """Every document in `text`; syntax errors and duplicate keys go to `problems`."""
    docs: list[Document] = []
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            # an empty document (a trailing `---`, or one holding only comments) is null
            if node is None or node.tag == "tag:yaml.org,2002:null":
                continue
            doc = Document(file, None)
            doc.data = _Builder(doc, problems).build(node, ())
            docs.append(doc)
    except yaml.YAMLError as exc:
        problems.append(_yaml_problem(file, exc))
    return docs


def parse_file(path: Path, display: str, problems: list[Problem]) -> list[Document]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.append(Problem(Location(display), "not a UTF-8 text file", "save it as UTF-8"))
        return []
    except OSError as exc:
        problems.append(Problem(Location(display), f"cannot read: {exc.strerror}"))
        return []
    return parse(text, display, problems)
