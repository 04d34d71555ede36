"""Print a composite action as a workflow, so actionlint checks the action's steps too.

actionlint lints workflows; a composite action's steps (expressions, contexts, step
keys) it sees only through a workflow. The action's inputs become workflow_call inputs,
its steps one job's steps. Usage: python .ci/action_as_workflow.py ACTION_YML > FILE
"""

import sys
from pathlib import Path

import yaml

action = yaml.safe_load(Path(sys.argv[1]).read_text(encoding="utf-8"))
assert action["runs"]["using"] == "composite", "only composite actions have steps to lint"
workflow = {
    "name": f"{action['name']} (action steps, for actionlint)",
    "on": {
        "workflow_call": {
            "inputs": {
                name: {
                    "type": "string",
                    "required": False,
                    "description": spec.get("description", ""),
                }
                for name, spec in (action.get("inputs") or {}).items()
            }
        }
    },
    "permissions": {"contents": "read"},
    "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
}
yaml.safe_dump(workflow, sys.stdout, sort_keys=False, width=1000)
