"""Bind a saved plan to what was reviewed, and check the binding before it is applied.

The pull-request job writes binding.json beside plan.json: the pull request's head
commit, the commit that was planned (the test merge), the git tree of the project
directory, the directory and the environment. The apply job applies the plan only
when the merged commit has that same tree in that directory: the specs on the default
branch are the specs of the reviewed plan, nothing merged in between.
Usage (stdlib only):
  python plan_binding.py write BINDING PLAN KEY=VALUE...   prints has-changes true/false
  python plan_binding.py check BINDING PLAN KEY=VALUE...   exit 1 with the reasons
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FIELDS = ("head_sha", "sha", "tree", "directory", "env", "pr")
# what must be the same at apply time as at plan time, and how to say it is not
CHECKED = {
    "directory": "the plan is for project directory {planned!r}, this job applies {now!r}",
    "env": "the plan is for environment {planned!r}, this job applies {now!r}",
    "tree": "the specs in {directory!r} on this commit (tree {now}) are not the ones planned "
    "(tree {planned}): something else was merged after the pull request's plan",
}


class BindingError(Exception):
    pass


def _plan(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BindingError(f"{path}: not a readable plan ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("actions"), list):
        raise BindingError(f"{path}: not an asst-deploy plan (no list of actions)")
    return data


def write(binding: Path, plan: Path, values: dict[str, str]) -> bool:
    """Write the binding; True when the plan has changes."""
    missing = [f for f in FIELDS if f not in values]
    if missing:
        raise BindingError(f"missing {', '.join(missing)}")
    changes = bool(_plan(plan)["actions"])
    record = {**{f: values[f] for f in FIELDS}, "has_changes": changes}
    binding.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return changes


def check(binding: Path, plan: Path, now: dict[str, str]) -> list[str]:
    """Why the saved plan is not the one to apply here (empty: it is)."""
    try:
        planned = json.loads(binding.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{binding}: not a readable binding ({exc})"]
    _plan(plan)
    reasons = []
    for field, message in CHECKED.items():
        if planned.get(field) != now.get(field):
            reasons.append(
                message.format(
                    planned=planned.get(field), now=now.get(field), directory=now.get("directory")
                )
            )
    return reasons


def main(argv: list[str]) -> int:
    command, binding, plan, *pairs = argv
    values = dict(p.split("=", 1) for p in pairs)
    try:
        if command == "write":
            print("true" if write(Path(binding), Path(plan), values) else "false")
            return 0
        reasons = check(Path(binding), Path(plan), values)
    except BindingError as exc:
        print(f"::error::{exc}")
        return 1
    for reason in reasons:
        print(f"::error::not applied: {reason}")
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
