"""requirements/lock.txt, the exact versions CI and the README's install command use: it
pins everything the dev extra resolves to, within pyproject.toml's ranges, and .ci/run,
the CI workflow and the README install from it; .ci/run-latest (the newest-versions
canary) ignores it and reports the drift. A dependency added to or changed in
pyproject.toml without `bash .ci/lock` fails here."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCK_PATH = "requirements/lock.txt"
LOCK = REPO / LOCK_PATH
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
# the install of the project itself, constrained by the lock
LOCKED_INSTALL = f'pip install --quiet -e ".[dev]" -c {LOCK_PATH}'
README_INSTALL = f'.venv/bin/pip install -e ".[dev]" -c {LOCK_PATH}'


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def pins(text: str) -> dict[str, Version]:
    """{canonical name: version} of a lock; every line not a comment must be name==version."""
    found: dict[str, Version] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{LOCK_PATH}:{number}: not an exact pin (name==version): {line!r}"
        name = canonicalize_name(match.group(1))
        assert name not in found, f"{LOCK_PATH}:{number}: {name} pinned twice"
        found[name] = Version(match.group(2))
    return found


def declared(project: dict[str, Any]) -> list[Requirement]:
    """The project's dependencies and those of its test and dev extras (every extra the
    dev install brings), less the extra's reference to the project itself."""
    optional = project.get("optional-dependencies", {})
    texts = [*project["dependencies"], *optional.get("test", []), *optional.get("dev", [])]
    own = canonicalize_name(project["name"])
    return [r for r in map(Requirement, texts) if canonicalize_name(r.name) != own]


def stale(project: dict[str, Any], lock: dict[str, Version]) -> list[str]:
    """What in pyproject.toml the lock does not satisfy: a requirement it does not pin, or
    pins outside the requirement's range."""
    problems = []
    for requirement in declared(project):
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": "dev"}):
            continue  # not installed on this Python or platform
        name = canonicalize_name(requirement.name)
        if name not in lock:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(lock[name], prereleases=True):
            problems.append(f"{requirement}: the lock has {name}=={lock[name]}")
    return problems


def dev_environment() -> dict[str, str]:
    """{canonical name: installed version} of every distribution `asst-deploy[dev]` pulls
    in, transitive ones included, read from the installed packages' metadata."""
    own = canonicalize_name(pyproject()["name"])
    found: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(own, frozenset({"dev"}))]
    done: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            pytest.skip(f"{name} is not installed: this is not the dev environment")
        if name != own:
            found[name] = distribution.version
        for text in distribution.requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return found


def ci_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / ".ci" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def script_lines(text: str) -> list[str]:
    """A script's commands: its lines less comments and blank lines."""
    return [line.strip() for line in text.splitlines() if line.strip() and line.strip()[0] != "#"]


def test_the_lock_is_exact_pins_made_by_the_lock_script() -> None:
    text = LOCK.read_text(encoding="utf-8")
    lock = pins(text)
    assert len(lock) > 20, "the lock holds the whole dev environment, transitive ones too"
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header and "`bash .ci/lock`" in "\n".join(header), "the header says how to update"
    assert canonicalize_name(pyproject()["name"]) not in lock, "the project is not pinned"
    lock_script = (REPO / ".ci" / "lock").read_text(encoding="utf-8")
    assert f'lock="{LOCK_PATH}"' in lock_script
    assert "pip freeze --exclude-editable" in lock_script
    installs = [line for line in script_lines(lock_script) if "-m pip install" in line]
    assert installs and all(" -c " not in line for line in installs), (
        "a new lock comes from pyproject.toml's ranges, never from the lock before it"
    )


def test_the_lock_pins_every_requirement_within_its_range() -> None:
    assert stale(pyproject(), pins(LOCK.read_text(encoding="utf-8"))) == [], (
        "requirements/lock.txt is stale: run `bash .ci/lock`"
    )


def test_a_requirement_added_or_raised_without_relocking_is_caught() -> None:
    project = pyproject()
    lock = pins(LOCK.read_text(encoding="utf-8"))
    added = {**project, "dependencies": [*project["dependencies"], "newly-added>=1.0"]}
    assert stale(added, lock) == ["newly-added>=1.0 is not in the lock"]
    beyond = f"openai>{lock['openai']}"
    raised = {**project, "dependencies": [*project["dependencies"][1:], beyond]}
    assert stale(raised, lock) == [f"{beyond}: the lock has openai=={lock['openai']}"]
    dev = project["optional-dependencies"]["dev"]
    extra = {**project, "optional-dependencies": {"dev": [*dev, "another-tool"]}}
    assert "another-tool is not in the lock" in stale(extra, lock)


def test_the_lock_is_exactly_the_installed_dev_environment() -> None:
    # transitive dependencies too: what asst-deploy[dev] pulls in here is what the lock
    # pins, no more, no less (.ci/run installs from the lock, so there they are equal)
    lock = pins(LOCK.read_text(encoding="utf-8"))
    installed = dev_environment()
    moved = {n: v for n, v in installed.items() if n in lock and Version(v) != lock[n]}
    if moved:
        pytest.skip(f"not installed from the lock (.ci/run-latest, or by hand): {moved}")
    missing = sorted(installed.keys() - lock.keys())
    unused = sorted(lock.keys() - installed.keys())
    assert (missing, unused) == ([], []), "requirements/lock.txt is stale: run `bash .ci/lock`"


def test_ci_and_the_readme_install_from_the_lock() -> None:
    run = script_lines((REPO / ".ci" / "run").read_text(encoding="utf-8"))
    installs = [line for line in run if "pip install" in line]
    assert [line for line in installs if "--upgrade pip" not in line] == [
        f'"$venv/bin/python" -m {LOCKED_INSTALL}'
    ]
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    steps = [str(step.get("run", "")).strip() for step in ci["jobs"]["test"]["steps"]]
    assert [s for s in steps if "pip install" in s] == [
        f'python -m pip install -e ".[dev]" -c {LOCK_PATH}'
    ]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"^```sh\n(.*?)^```$", readme, re.M | re.S)
    assert first_block and f"python3 -m venv .venv && {README_INSTALL} && " in first_block[1]


def test_the_canary_installs_the_newest_versions_and_reports_the_drift() -> None:
    latest = script_lines((REPO / ".ci" / "run-latest").read_text(encoding="utf-8"))
    installs = [line for line in latest if "pip install" in line]
    assert installs and all(" -c " not in line for line in installs)
    assert any('--upgrade --upgrade-strategy eager -e ".[dev]"' in line for line in installs)
    assert f"python .ci/lock_drift.py {LOCK_PATH}" in latest


@pytest.mark.parametrize("script", ["run", "run-latest", "run-min"])
def test_the_ci_scripts_fail_when_pytest_runs_no_test(script: str) -> None:
    # pytest exits 5 on collecting no test: under set -e that fails the script; the
    # default suite, then the end-to-end one, are its last commands and not guarded
    lines = script_lines((REPO / ".ci" / script).read_text(encoding="utf-8"))
    assert lines[0] == "set -euo pipefail"
    runs = [line for line in lines if line.startswith("python -m pytest")]
    assert runs == ["python -m pytest -q -n 2", "python -m pytest -q -n 2 -m e2e"]
    assert lines[-1] == runs[-1]
    assert not any("|| true" in line or "set +e" in line for line in lines)


def test_the_canary_runs_nightly_and_when_the_lock_changes() -> None:
    workflow = yaml.safe_load(
        (REPO / ".github" / "workflows" / "latest-versions.yml").read_text(encoding="utf-8")
    )
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert on["schedule"][0]["cron"]
    for event in ("push", "pull_request"):
        assert LOCK_PATH in on[event]["paths"] and "pyproject.toml" in on[event]["paths"]
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert [s["run"] for s in job["steps"] if "run" in s] == ["bash .ci/run-latest"]
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    assert set(ci["jobs"]) == {"test", "minimum-versions"}
    assert "bash .ci/run-min" in [s.get("run") for s in ci["jobs"]["minimum-versions"]["steps"]]


def test_the_drift_report_names_package_locked_and_installed_version() -> None:
    drift = ci_module("lock_drift")
    locked = drift.pins(["# header", "openai==3.57.0", "PyYAML==6.0.4", "gone==1.0"])
    installed = drift.pins(["openai==3.60.0", "pyyaml==6.0.4", "new_one==2.0", "-e /x"])
    rows = drift.drift(locked, installed)
    assert rows == [("gone", "1.0", "-"), ("new_one", "-", "2.0"), ("openai", "3.57.0", "3.60.0")]
    assert drift.table(rows).splitlines()[0].split() == ["package", "locked", "installed"]
    assert "| openai | 3.57.0 | 3.60.0 |" in drift.markdown(rows, LOCK_PATH)
    assert drift.drift(locked, locked) == []
    assert drift.markdown([], LOCK_PATH).startswith("No drift")
