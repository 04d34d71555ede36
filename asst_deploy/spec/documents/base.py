"""What a spec document kind declares: its `kind:`, its section, its schema, how it builds.

"Document kind" is the spec side's word (a YAML document's `kind:`); the engine's
"resource kind" (asst_deploy/kinds) is what exists remotely. One document kind may become
several resource kinds (an assistant spec becomes an agent and its template on agents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asst_deploy.spec.schema import closed_object

if TYPE_CHECKING:
    from asst_deploy.spec.build import Builder
    from asst_deploy.yamlpos import Document


@dataclass(frozen=True)
class Context:
    """What building one document may consult beyond the document itself."""

    variables: Mapping[str, str]
    # document kind -> the keys of its documents this environment deploys, and -> the keys
    # its `exclude:` takes out (none when the loader keeps excluded documents)
    declared: Mapping[str, frozenset[str]]
    excluded: Mapping[str, frozenset[str]]
    # the target this environment deploys to, and every target the project file names
    # (an `adopt:` of target -> id adopts only on its own target)
    target: str = ""
    targets: frozenset[str] = frozenset()
    # document kind -> what other documents may name inside its documents, as
    # "<key>/<part>" (a vault's credentials: "crm/crm-mcp"); see DocumentKind.parts
    parts: Mapping[str, frozenset[str]] = field(default_factory=dict)


def _nothing(original: Document, rest: Document) -> None:
    return None


def _no_parts(data: Any) -> Iterable[str]:
    return ()


@dataclass(frozen=True)
class DocumentKind:
    name: str  # what a document's `kind:` says
    # the plural that names it in an environment's `overrides:` and `exclude:`, and its
    # default include folder
    section: str
    fields: Mapping[str, Any]  # JSON Schema properties besides kind and key
    build: Callable[[Builder, Document, Context], Any]  # its record, or None (problems added)
    # the project's and the environment's `defaults:` fill the fields it leaves unset
    takes_defaults: bool = False
    # its records are what a target's API generation may refuse fields of (generations/)
    refusable: bool = False
    # what of a document the schema refused the semantic checks should still see, so
    # that one mistake is not reported twice
    after_prune: Callable[[Document, Document], None] = field(default=_nothing)
    # the parts of a document (its data, not yet checked) other documents may name, as
    # "<key>/<part>": the loader gathers them into Context.parts
    parts: Callable[[Any], Iterable[str]] = field(default=_no_parts)
    # a folder holding a file of this name is a document's content (a skill's folder, with
    # its SKILL.md), never specs: the default include folders skip the YAML inside it
    content_marker: str | None = None

    @property
    def schema(self) -> dict[str, Any]:
        return closed_object(
            {"kind": {"const": self.name}, "key": {"$ref": "#/$defs/key"}, **self.fields},
            ("kind", "key"),
        )

    @property
    def include(self) -> str:
        return f"{self.section}/**/*.yaml"
