"""What a script may do before anything runs: attachments inside the project, and code it
calls (`call:`, `predicate:`) only from the project's own modules or those it allows."""

from __future__ import annotations

from pathlib import Path

from asst_deploy.conversation.script import Conversation
from asst_deploy.desired import Project
from asst_deploy.errors import AsstDeployError


class UnsafeScript(AsstDeployError):
    """A script reaches outside its project."""


def check_conversation(conversation: Conversation, project: Project) -> None:
    """Before anything runs: attachments inside the project, and callables (`call:`,
    `predicate:`) only from the project's own modules or those it allows."""
    root = project.root.resolve()
    for turn in conversation.turns:
        for attachment in turn.attachments:
            full = (root / attachment.file).resolve()
            if not full.is_relative_to(root):
                raise UnsafeScript(
                    f"{attachment.location or turn.location}: attachment '{attachment.file}' "
                    f"is outside the project directory (it resolves to {full}); move the file "
                    "into the project"
                )
        calls = [
            (stub.value, turn.location) for stub in turn.functions.values() if stub.kind == "call"
        ]
        for expectation in turn.expect:
            if expectation.kind == "predicate":
                values = (
                    [expectation.value] if isinstance(expectation.value, str) else expectation.value
                )
                calls += [(value, expectation.location) for value in values]
        for target, location in calls:
            refused = refused_module(target, root, project.allow_modules)
            if refused:
                raise UnsafeScript(f"{location}: {refused}")


def refused_module(target: str, root: Path, allowed: tuple[str, ...]) -> str | None:
    """Why `module:function` may not be called (None when it may). Scripts run code like a
    conftest.py does; what they may import is the project's own modules (found under its
    directory, outside any site-packages) and the modules the project file allows."""
    import importlib.util

    module = target.partition(":")[0]
    if any(module == name or module.startswith(name + ".") for name in allowed):
        return None
    top = module.split(".")[0]
    try:
        found = importlib.util.find_spec(top)  # the top package only: nothing is imported
    except (ImportError, ValueError):
        found = None
    places = []
    if found is not None:
        places = [found.origin] if found.origin else list(found.submodule_search_locations or ())
    for place in places:
        if place in (None, "built-in", "frozen"):
            continue
        resolved = Path(place).resolve()
        if resolved.is_relative_to(root) and not {"site-packages", "dist-packages"} & set(
            resolved.relative_to(root).parts
        ):
            return None
    where = "cannot be found" if found is None else "is not part of the project"
    return (
        f"'{target}': module '{module}' {where}; a script may call functions of the "
        "project's own modules, or of modules listed in asst-deploy.yaml under "
        "`replay: {allow_modules: [...]}`"
    )
