"""Print pip constraints pinning every lower bound in pyproject.toml (name==minimum).

CI installs with them (.ci/run-min) so each `>=` the project declares is a version it
was tested with. Usage: python .ci/min_constraints.py [EXTRA ...] > constraints.txt
(the project's dependencies, plus those of each EXTRA named, default: test dev).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# name[extras] then the specifiers; the environment marker (after ;) plays no part
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)")


def lower_bounds(requirements: list[str]) -> dict[str, str]:
    """{name: minimum} for the requirements that have a `>=` or `==` bound."""
    found: dict[str, str] = {}
    for requirement in requirements:
        match = _REQUIREMENT.match(requirement)
        if match is None:
            raise SystemExit(f"cannot read requirement {requirement!r} in {PYPROJECT}")
        name = match.group(1).lower().replace("_", "-")
        for specifier in match.group(2).split(","):
            specifier = specifier.strip()
            for operator in (">=", "=="):
                if specifier.startswith(operator):
                    found[name] = specifier[len(operator) :].strip()
    return found


def constraints(extras: list[str]) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"pyproject.toml has no extra {extra!r}")
        # an extra may name the project itself (asst-deploy[test]); its own bounds count
        requirements += [r for r in optional[extra] if not r.startswith(project["name"])]
    return [f"{name}=={version}" for name, version in sorted(lower_bounds(requirements).items())]


if __name__ == "__main__":
    print("\n".join(constraints(sys.argv[1:] or ["test", "dev"])))
