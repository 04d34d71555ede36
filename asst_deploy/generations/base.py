"""What every API generation declares: its name, what it refuses, the kinds it holds, and
where its adapter and conversation driver live."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.types import Json

FieldPath = tuple[str | int, ...]  # a path in an assistant spec, e.g. ("tools", 2)
# stands for the overrides of the environment being checked, in a Refusal's fix
OVERRIDES = "{overrides}"


@dataclass(frozen=True)
class Refusal:
    """One field of an assistant spec an API cannot hold: where, why, and what to do."""

    path: FieldPath
    reason: str  # why the API cannot hold it
    fix: str  # what to do, e.g. the environment override that removes it

    def advice(self, environment: str | None) -> str:
        """What to do, in the words of `environment` (None: the base, which has none)."""
        where = (
            f"the overrides of environment '{environment}'"
            if environment is not None
            else "an environment's overrides"
        )
        return self.fix.replace(OVERRIDES, where)

    @property
    def label(self) -> str:
        """The field as a reader writes it: tools[2], tool_resources.file_search."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
        return text


@dataclass(frozen=True)
class ApiGeneration:
    """One API generation a target can name (`api:` of a target)."""

    name: str
    description: str  # one line, for the schema and `validate --matrix`
    refusals: Callable[[AssistantSpec], list[Refusal]]
    # the resource kinds it holds, by name (asst_deploy/kinds orders them)
    kinds: tuple[str, ...]
    # "module:Class" of its backend adapter and of its conversation driver: imported on
    # first use, as each imports the openai SDK
    adapter: str
    driver: str
    # the model names it serves by default (the sandbox's list, and what validate expects)
    models: tuple[str, ...]
    # None when api.openai.com serves it; else why not (a target without base_url fails)
    not_on_openai: str | None = None
    # what a plan for this API does not deploy of the project, and why (plan prints it)
    plan_notes: Callable[[Project], list[str]] = lambda project: []
    # the spec document kinds (asst_deploy/spec/documents) it has no place for, and why: a
    # document of one is a validate error on its targets, naming the generations that hold it
    refused_documents: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # its targets serve the Responses API too: graded expectations (rubric:, similar:) are
    # called through a conversation's own target without naming a grader endpoint
    serves_responses: bool = False


def remove_field(key: str, field: str) -> str:
    """The advice to drop a top-level field in an environment's overrides."""
    return f"remove it in {OVERRIDES} (assistants: {key}: {{{field}: null}})"


def remove_tool(key: str, tool: str) -> str:
    """The advice to drop one tool: an override replaces the whole tools list."""
    return (
        f"leave the {tool} tool out of the tools list in {OVERRIDES} "
        f"(assistants: {key}: {{tools: [...]}})"
    )


def top_level(
    spec: AssistantSpec, reasons: Mapping[str, str], *, fix: Callable[[str], str] | None = None
) -> Iterator[Refusal]:
    """A refusal for each field of `reasons` that the spec sets."""
    for field, reason in reasons.items():
        if getattr(spec, field) not in (None, (), {}):
            yield Refusal((field,), reason, fix(field) if fix else remove_field(spec.key, field))


def tool_refusals(
    spec: AssistantSpec,
    refused: Mapping[str, str],
    checks: Mapping[str, Callable[[Mapping[str, Json]], Iterator[tuple[FieldPath, str, str]]]],
) -> Iterator[Refusal]:
    """Refusals of whole tools (`refused`: type -> reason) and of parts of tools (`checks`:
    type -> a function yielding (path inside the tool, reason, fix) for what it refuses)."""
    for i, tool in enumerate(spec.tools):
        kind = str(tool.get("type"))
        if kind in refused:
            yield Refusal(("tools", i), refused[kind], remove_tool(spec.key, kind))
        elif kind in checks:
            for sub, reason, fix in checks[kind](tool):
                yield Refusal(("tools", i, *sub), reason, fix)
