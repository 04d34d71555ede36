"""A small runner for the example workflow: runs its jobs' shell steps, and those of the
composite action it uses, with bash the way GitHub Actions does, on this machine.

Only what the two files use is understood: `${{ }}` with context paths, string literals,
==, !=, &&, ||, !, parentheses and format(); anything else fails loudly, so an edit to
the workflow that this runner cannot follow breaks the test instead of being skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "asst-deploy-example.yml"
ACTION = REPO / ".github" / "actions" / "asst-deploy"
LOCAL_ACTION = "./.github/actions/asst-deploy"
# what GitHub runs for `shell: bash` (https://docs.github.com/actions/reference/workflow-syntax-for-github-actions#jobsjob_idstepsshell)
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
# `uses:` steps the runner stands in for: the workspace is already checked out, and the
# tests run on the Python that runs them
STOOD_IN = ("actions/checkout@", "actions/setup-python@")
# `uses:` steps the runner carries out itself: the artifact goes to the fake GitHub's
# state, where the fake `gh` finds it again
UPLOAD_ARTIFACT = "actions/upload-artifact@v4"
GIT_USER = ["git", "-c", "user.name=asst-deploy tests", "-c", "user.email=tests@example.invalid"]
SERVER_URL = "https://github.com"

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[\w-]+)*))"
)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as True
    if True in data:
        data["on"] = data.pop(True)
    return data


class Contexts:
    """Values of context paths ("inputs.mode", "github.event_name", ...)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)

    def lookup(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        if name.startswith(("steps.", "secrets.")):  # unset outputs and secrets are ""
            return ""
        raise AssertionError(f"the runner does not know the expression context {name!r}")

    def evaluate(self, expression: str) -> Any:
        """Evaluate one expression (without ${{ }}) by translating it to Python."""
        python: list[str] = []
        position = 0
        while position < len(expression):
            if not expression[position:].strip():
                break
            token = _TOKEN.match(expression, position)
            if token is None:
                raise AssertionError(f"cannot read expression {expression!r} at {position}")
            position = token.end()
            if token["string"]:
                python.append(repr(token["string"][1:-1].replace("''", "'")))
            elif token["op"]:
                python.append(
                    {"&&": " and ", "||": " or ", "!": " not "}.get(token["op"], token["op"])
                )
            elif token["name"] in ("format", "true", "false"):
                python.append({"true": "True", "false": "False"}.get(token["name"], "_format"))
            else:
                python.append(repr(self.lookup(token["name"])))
        source = "".join(python)

        def _format(template: str, *args: object) -> str:
            return template.format(*args)

        return eval(source, {"__builtins__": {}, "_format": _format})

    def substitute(self, text: str) -> str:
        return _EXPRESSION.sub(lambda m: str(self.evaluate(m.group(1))), text)

    def condition(self, expression: str | None) -> bool:
        if expression is None:
            return True
        match = _EXPRESSION.fullmatch(expression.strip())
        return bool(self.evaluate(match.group(1) if match else expression))


@dataclass
class Step:
    name: str
    code: int | None  # None: skipped (its `if:` was false) or stood in for
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Job:
    steps: list[Step]
    summary: str

    @property
    def ok(self) -> bool:
        return all(s.code in (0, None) for s in self.steps)

    def step(self, name: str) -> Step:
        matches = [s for s in self.steps if s.name == name]
        assert len(matches) == 1, (name, [s.name for s in self.steps])
        return matches[0]

    @property
    def log(self) -> str:
        return "\n".join(f"## {s.name} ({s.code})\n{s.stdout}{s.stderr}" for s in self.steps)


@dataclass
class Runner:
    """Runs jobs of the example workflow in `workspace` (a checkout), with `bin_dir` first
    on PATH (the fake `gh` and `python`) and `secrets` as the repository's secrets."""

    workspace: Path
    temp: Path
    bin_dir: Path
    secrets: dict[str, str]
    extra_env: dict[str, str] = field(default_factory=dict)
    workflow: dict[str, Any] = field(default_factory=lambda: load(WORKFLOW))
    runs: int = 0  # workflow runs so far; the next run's id is 1000 + runs

    @property
    def state_file(self) -> Path:
        return Path(self.extra_env["FAKE_GH_STATE"])

    def state(self) -> dict[str, Any]:
        if self.state_file.exists():
            return dict(json.loads(self.state_file.read_text()))
        return {"comments": [], "next": 100, "pulls": {}, "artifacts": []}

    def save_state(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state))

    def head(self) -> str:
        """The commit checked out in the workspace (a git repository)."""
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=self.workspace,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def merge(self, number: int, head_sha: str) -> None:
        """Pull request `number` (head commit `head_sha`) was merged as the workspace's HEAD."""
        state = self.state()
        pull = {"number": number, "merged_at": "2026-12-01T12:00:00Z", "head": {"sha": head_sha}}
        state.setdefault("pulls", {})[self.head()] = [pull]
        self.save_state(state)

    def github(self, event: str, head_sha: str | None = None) -> dict[str, str]:
        values = {
            "github.event_name": event,
            "github.sha": self.head(),
            "github.run_id": str(1000 + self.runs),
            "github.repository": "acme/assistants",
            "github.event.repository.default_branch": "main",
            "github.token": self.extra_env.get("FAKE_GITHUB_TOKEN", "ghs_fakeJobToken0123456789"),
            "github.workspace": str(self.workspace),
            "github.action_path": str(ACTION),
        }
        if event == "pull_request":
            values["github.ref"] = "refs/pull/7/merge"
            values["github.event.pull_request.number"] = "7"
            # the runner checks out the test merge (HEAD); the pull request's head differs
            values["github.event.pull_request.head.sha"] = head_sha or "7" * 40
        else:
            values["github.ref"] = "refs/heads/main"
        values.update({f"secrets.{k}": v for k, v in self.secrets.items()})
        return values

    def job_runs(self, name: str, event: str) -> bool:
        job = self.workflow["jobs"][name]
        return Contexts(self.github(event)).condition(job.get("if"))

    def run_job(self, name: str, event: str, head_sha: str | None = None) -> Job:
        """Run job `name` as a new workflow run of `event`; `head_sha`: the pull
        request's head commit (pull_request events)."""
        job = self.workflow["jobs"][name]
        contexts = Contexts(self.github(event, head_sha))
        self.runs += 1
        assert contexts.condition(job.get("if")), f"job {name} does not run on {event}"
        summary = self.temp / f"summary-{name}.md"
        summary.write_text("")
        env = {k: contexts.substitute(str(v)) for k, v in (job.get("env") or {}).items()}
        steps: list[Step] = []
        for step in job["steps"]:
            uses = step.get("uses", "")
            if uses == LOCAL_ACTION:
                with_ = {
                    k: contexts.substitute(str(v)) for k, v in (step.get("with") or {}).items()
                }
                self.run_action(with_, contexts, env, summary, steps)
            elif uses.startswith(STOOD_IN):
                steps.append(Step(uses, None))
            elif "run" in step:
                self.run_script(step, contexts, env, summary, steps)
            else:
                raise AssertionError(f"the runner cannot run step {step!r}")
            if steps and steps[-1].code not in (0, None):
                break
        return Job(steps, summary.read_text())

    def run_action(
        self,
        with_: dict[str, str],
        outer: Contexts,
        env: dict[str, str],
        summary: Path,
        steps: list[Step],
    ) -> None:
        action = load(ACTION / "action.yml")
        declared = action["inputs"]
        unknown = set(with_) - set(declared)
        assert not unknown, f"inputs the action does not declare: {unknown}"
        contexts = Contexts(outer.values)
        for input_name, spec in declared.items():
            value = with_.get(input_name, outer.substitute(str(spec.get("default", ""))))
            contexts.values[f"inputs.{input_name}"] = value
        assert action["runs"]["using"] == "composite"
        for step in action["runs"]["steps"]:
            if step.get("uses") == UPLOAD_ARTIFACT:
                self.upload_artifact(step, contexts, steps)
                continue
            if "uses" in step:
                assert step["uses"].startswith(STOOD_IN), step["uses"]
                steps.append(Step(step["uses"], None))
                continue
            self.run_script(step, contexts, env, summary, steps)
            if steps[-1].code not in (0, None):
                return

    def upload_artifact(self, step: dict[str, Any], contexts: Contexts, steps: list[Step]) -> None:
        """actions/upload-artifact: the files of `path` under `name`, for this run."""
        name = step.get("name", step["uses"])
        if not contexts.condition(step.get("if")):
            steps.append(Step(name, None))
            return
        with_ = {k: contexts.substitute(str(v)) for k, v in step["with"].items()}
        assert set(with_) <= {"name", "path", "if-no-files-found", "overwrite", "retention-days"}
        source = Path(with_["path"])
        if not source.is_dir() or not any(source.iterdir()):
            assert with_.get("if-no-files-found") == "error", with_
            steps.append(Step(name, 1, stderr=f"No files were found with the path: {source}"))
            return
        run_id = int(contexts.lookup("github.run_id"))
        state = self.state()
        stored = self.temp / "artifacts" / f"{run_id}-{with_['name']}"
        if stored.exists():
            assert with_.get("overwrite") == "true", "an artifact of that name exists in this run"
            shutil.rmtree(stored)
            state["artifacts"] = [
                a
                for a in state["artifacts"]
                if (a["name"], a["workflow_run"]["id"]) != (with_["name"], run_id)
            ]
        shutil.copytree(source, stored)
        state["artifacts"].append(
            {
                "name": with_["name"],
                "expired": False,
                "created_at": f"2026-12-01T10:{len(state['artifacts']):02d}:00Z",
                "workflow_run": {
                    "id": run_id,
                    "head_sha": contexts.lookup("github.event.pull_request.head.sha"),
                },
                "stored": str(stored),
            }
        )
        self.save_state(state)
        steps.append(Step(name, 0, stdout=f"Artifact {with_['name']} uploaded"))

    def run_script(
        self,
        step: dict[str, Any],
        contexts: Contexts,
        env: dict[str, str],
        summary: Path,
        steps: list[Step],
    ) -> None:
        name = step.get("name", step["run"].splitlines()[0])
        if not contexts.condition(step.get("if")):
            steps.append(Step(name, None))
            return
        assert step.get("shell", "bash") == "bash", step
        output_file = self.temp / f"output-{len(steps)}"
        output_file.write_text("")
        script = self.temp / f"step-{len(steps)}.sh"
        script.write_text(contexts.substitute(step["run"]))
        step_env = {k: contexts.substitute(str(v)) for k, v in (step.get("env") or {}).items()}
        full_env = {
            "PATH": os.pathsep.join(
                [str(self.bin_dir), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
            ),
            "HOME": str(self.temp),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_REPOSITORY": contexts.lookup("github.repository"),
            "GITHUB_SERVER_URL": SERVER_URL,
            "GITHUB_SHA": contexts.lookup("github.sha"),
            "GITHUB_RUN_ID": contexts.lookup("github.run_id"),
            "GITHUB_EVENT_NAME": contexts.lookup("github.event_name"),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output_file),
            "RUNNER_TEMP": str(self.temp),
            # the fake pip "installs" this checkout: its asst-deploy is the one that runs
            "PYTHONPATH": str(REPO),
            **self.extra_env,
            **env,
            **step_env,
        }
        result = subprocess.run(
            [*BASH, str(script)],
            cwd=self.workspace,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        outputs = dict(
            line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
        )
        if "id" in step:
            for key, value in outputs.items():
                contexts.values[f"steps.{step['id']}.outputs.{key}"] = value
        steps.append(Step(name, result.returncode, result.stdout, result.stderr, outputs))


FAKE_GH = '''\
#!{python}
"""A stand-in for the GitHub CLI over a fake GitHub kept in a JSON file ($FAKE_GH_STATE):
a pull request's comments, merged pull requests by merge commit, artifacts by run.
Records every call ($FAKE_GH_LOG). Understands exactly the calls the action makes; the
--jq filters it stands in for are checked against real jq in test_workflow_files."""
import json, os, re, shutil, sys

args = sys.argv[1:]
state_file = os.environ["FAKE_GH_STATE"]
state = json.load(open(state_file)) if os.path.exists(state_file) else {{}}
state = {{"comments": [], "next": 100, "pulls": {{}}, "artifacts": [], **state}}
record = {{"args": args, "token": os.environ.get("GH_TOKEN", "")}}
path = next((a for a in args[1:] if a.startswith("repos/")), "")
code = 0
if os.environ.get("FAKE_GH_FAIL"):
    print("HTTP 403: Resource not accessible by integration", file=sys.stderr)
    code = 1
elif args[:2] == ["run", "download"]:
    run_id, name = int(args[2]), args[args.index("--name") + 1]
    target = args[args.index("--dir") + 1]
    found = [a for a in state["artifacts"] if a["name"] == name and a["workflow_run"]["id"] == run_id]
    if found:
        shutil.copytree(found[0]["stored"], target, dirs_exist_ok=True)
    else:
        print(f"no artifact matches {{name}}", file=sys.stderr)
        code = 1
elif args[:1] == ["api"] and re.search(r"/commits/[0-9a-f]+/pulls$", path):
    # [.[] | select(.merged_at != null)] | first | "\\(.number) \\(.head.sha)"
    sha = path.split("/")[-2]
    merged = [p for p in state["pulls"].get(sha, []) if p["merged_at"]]
    print(f"{{merged[0]['number']}} {{merged[0]['head']['sha']}}" if merged else "null null")
elif args[:1] == ["api"] and "/actions/artifacts?name=" in path:
    # select not expired, of the head commit; the newest one's run id
    name = path.split("?name=", 1)[1]
    head = re.search(r'head_sha == "([0-9a-f]+)"', args[args.index("--jq") + 1]).group(1)
    found = [a for a in state["artifacts"] if a["name"] == name and not a["expired"]
             and a["workflow_run"]["head_sha"] == head]
    if found:
        print(max(found, key=lambda a: a["created_at"])["workflow_run"]["id"])
elif args[:1] == ["api"] and "--method" not in args:
    marker = re.search(r'startswith\\("(.*?)"\\)', args[args.index("--jq") + 1]).group(1)
    for comment in state["comments"]:
        if comment["body"].startswith(marker):
            print(comment["id"])
elif args[:1] == ["api"]:
    method = args[args.index("--method") + 1]
    field = args[args.index("-F") + 1]
    assert field.startswith("body=@"), field
    body = open(field[len("body=@"):]).read()
    record["body"] = body
    if method == "POST":
        state["comments"].append({{"id": state["next"], "body": body}})
        state["next"] += 1
    else:
        comment_id = int(path.rsplit("/", 1)[1])
        for comment in state["comments"]:
            if comment["id"] == comment_id:
                comment["body"] = body
else:
    code = 2
json.dump(state, open(state_file, "w"))
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(record) + "\\n")
sys.exit(code)
'''

FAKE_PYTHON = """\
#!/bin/sh
# stands in for `python -m pip install ...` (records the arguments, installs nothing);
# the action's own scripts run on the Python that runs the tests
if [ "$1 $2" = "-m pip" ]; then
  printf '%s\\n' "$*" >> "$FAKE_PYTHON_LOG"
else
  exec {python} "$@"
fi
"""


def make_bin(directory: Path) -> Path:
    """A directory with the fake `gh` and `python` to put first on PATH."""
    directory.mkdir(parents=True, exist_ok=True)
    fakes = {"gh": FAKE_GH, "python": FAKE_PYTHON}
    for name, template in fakes.items():
        text = template.format(python=sys.executable)
        path = directory / name
        path.write_text(textwrap.dedent(text))
        path.chmod(0o755)
    return directory


def gh_calls(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]
