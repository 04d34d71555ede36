"""A release as a user gets it: `python -m build` makes the wheel and the sdist, the wheel
installs with pipx (the install page's own block) and into a fresh virtual environment,
and either install runs `asst-deploy --version` and the quick start; scriv makes and
collects the changelog's fragments (the releasing page's blocks). Installing reaches the
package index for the dependencies, at the locked versions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import asst_deploy
from tests.docs.doc_blocks import DOCS, README, REPO, Block, blocks, make_project

pytestmark = pytest.mark.e2e  # builds and installs: slow, and reaches the package index

VERSION = asst_deploy.__version__
LOCK = REPO / "requirements" / "lock.txt"
IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "site", "dist", "build", "*.egg-info", "__pycache__",
    ".*_cache", ".asst-deploy", "node_modules",
)  # fmt: skip


def page_block(page: str, command: str) -> Block:
    """The block of a page with a line that starts with `command`."""
    (block,) = [
        b for b in blocks(DOCS / page) if any(s.startswith(command) for s in b.body.splitlines())
    ]
    assert block.not_run, f"{block.where} runs in tests/test_readme.py, not here"
    return block


def run(script: str, cwd: Path, extra: dict[str, str]) -> str:
    first = [extra.pop("PREPEND")] if "PREPEND" in extra else []
    path = os.pathsep.join([*first, str(Path(sys.executable).parent)])
    environment = {**os.environ, **extra, "PATH": f"{path}{os.pathsep}{os.environ['PATH']}"}
    environment.pop("CI", None)
    environment["NO_COLOR"] = "1"
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (
        f"{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout


def quick_start() -> str:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (script,) = [b.body for b in blocks(README) if b.language == "sh" and b.body in section]
    return script


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository, where the install page's pipx block has run: the wheel
    and sdist built into dist/, the wheel installed with pipx into pipx/ and bin/."""
    root = tmp_path_factory.mktemp("release")
    copy = root / "asst-deploy"
    shutil.copytree(REPO, copy, ignore=IGNORE)
    block = page_block("tutorial/install.md", "pipx install")
    run(
        block.body,
        copy,
        {
            "PIPX_HOME": str(root / "pipx"),
            "PIPX_BIN_DIR": str(root / "bin"),
            "PIPX_MAN_DIR": str(root / "man"),
            "PIP_CONSTRAINT": str(LOCK),  # the locked versions, as CI installs
        },
    )
    return copy


def test_build_makes_the_wheel_and_the_sdist_of_this_version(checkout: Path) -> None:
    wheel = checkout / "dist" / f"asst_deploy-{VERSION}-py3-none-any.whl"
    sdist = checkout / "dist" / f"asst_deploy-{VERSION}.tar.gz"
    assert {p.name for p in (checkout / "dist").iterdir()} == {sdist.name, wheel.name}
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"asst_deploy-{VERSION}.dist-info/METADATA").decode()
        names = archive.namelist()
    assert re.search(rf"^Version: {re.escape(VERSION)}$", metadata, re.M)
    assert "asst_deploy/cli/__init__.py" in names
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "asst_deploy/__init__.py"} <= members


def test_the_pipx_install_runs_the_version_and_the_quick_start(
    checkout: Path, tmp_path: Path
) -> None:
    bin_dir = checkout.parent / "bin"
    version = run("asst-deploy --version", tmp_path, {"PREPEND": str(bin_dir)})
    assert version.strip() == f"asst-deploy, version {VERSION}"
    project = make_project(tmp_path / "project")
    out = run(quick_start(), project, {"PREPEND": str(bin_dir)})
    assert "5 passed" in out
    # the command ran from pipx's environment, not from this one
    where = run("command -v asst-deploy", tmp_path, {"PREPEND": str(bin_dir)})
    assert where.strip() == str(bin_dir / "asst-deploy")


def test_a_fresh_venv_installs_the_wheel_and_runs_the_readme(
    checkout: Path, tmp_path: Path
) -> None:
    wheel = next((checkout / "dist").glob("*.whl"))
    venv = tmp_path / "venv"
    run(f"python3 -m venv {venv}", tmp_path, {})
    run(f'{venv}/bin/pip install --quiet "{wheel}[test]" -c {LOCK}', tmp_path, {})
    version = run(f"{venv}/bin/asst-deploy --version", tmp_path, {})
    assert version.strip() == f"asst-deploy, version {VERSION}"
    # the README's commands, with .venv/bin this fresh environment's
    project = tmp_path / "project"
    shutil.copytree(REPO / "specs", project / "specs", ignore=IGNORE)
    (project / ".venv").symlink_to(venv)
    (install, *_rest) = [b.body for b in blocks(README) if b.language == "sh"]
    main_job = install.split(" && ", 2)[2]
    assert main_job.startswith(".venv/bin/asst-deploy apply specs/")
    assert "No changes." in run(main_job, project, {"PREPEND": str(venv / "bin")})
    assert "5 passed" in run(quick_start(), project, {"PREPEND": str(venv / "bin")})


def test_scriv_makes_and_collects_the_changelog(checkout: Path) -> None:
    work = checkout.parent / "changelog"
    shutil.copytree(checkout, work, ignore=shutil.ignore_patterns("dist"))
    fragments = sorted(p for p in (work / "changelog.d").glob("*.md") if p.name != "README.md")
    entries = [re.search(r"^- (.{20})", p.read_text(), re.M) for p in fragments]
    home = {"HOME": str(checkout.parent), "GIT_CONFIG_NOSYSTEM": "1"}
    run(page_block("contributing/releasing.md", "scriv create").body, work, dict(home))
    made = sorted(p for p in (work / "changelog.d").glob("*.md") if p.name != "README.md")
    assert len(made) == len(fragments) + 1
    run(page_block("contributing/releasing.md", "scriv collect").body, work, dict(home))
    changelog = (work / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(VERSION)} — \d{{4}}-\d\d-\d\d$", changelog, re.M)
    for entry in entries:
        assert entry is not None and entry.group(1) in changelog
    assert [p.name for p in (work / "changelog.d").iterdir()] == ["README.md"]
