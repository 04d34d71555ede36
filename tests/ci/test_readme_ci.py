"""The README's sections on CI, pre-commit and editors: every command block runs, in
order, in a copy of the example project, and the configuration blocks are valid."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ("CI setup", "pre-commit", "Editor support")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)


def section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def blocks(language: str) -> list[str]:
    return [
        body
        for title in SECTIONS
        for lang, body in BLOCK.findall(section(title))
        if lang == language
    ]


@pytest.mark.skipif(
    importlib.util.find_spec("asst_deploy.cli.test") is None,
    reason="`asst-deploy test` (the replay harness of issue 5) is not in this checkout yet",
)
def test_every_shell_block_runs(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns(".asst-deploy")
    )
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "NO_COLOR": "1",
    }
    scripts = blocks("sh")
    assert len(scripts) == 5
    for script in scripts:
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
    assert (tmp_path / "plan.md").read_text().startswith("### asst-deploy plan")
    assert json.loads((tmp_path / "plan.json").read_text())["summary"] == {
        "add": 0,
        "change": 0,
        "destroy": 0,
    }
    # the modeline's relative path, seen from a spec file, names the schema just written
    (modeline,) = [
        line for b in blocks("yaml") for line in b.splitlines() if "yaml-language-server" in line
    ]
    relative = modeline.split("$schema=", 1)[1]
    schema = (tmp_path / "specs" / "assistants" / relative).resolve()
    assert json.loads(schema.read_text())["$schema"].startswith("https://json-schema.org/")
    assert (tmp_path / "specs" / ".asst-deploy" / "conversation.schema.json").is_file()
    settings = json.loads(blocks("json")[0])["yaml.schemas"]
    for schema_path, globs in settings.items():
        assert (tmp_path / schema_path).is_file()
        for pattern in globs:
            assert list(tmp_path.glob(pattern)), pattern


def test_the_pre_commit_config_block_is_valid(tmp_path: Path) -> None:
    from pre_commit.clientlib import load_config

    (config,) = [b for b in blocks("yaml") if b.startswith("repos:")]
    path = tmp_path / ".pre-commit-config.yaml"
    path.write_text(config)
    loaded = load_config(str(path))
    hook_ids = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for h in loaded["repos"][0]["hooks"]} == hook_ids


def test_the_documented_action_inputs_exist() -> None:
    inputs = yaml.safe_load((REPO / ".github/actions/asst-deploy/action.yml").read_text())["inputs"]
    documented = re.search(r"^Inputs: (.*?)\n\n", section("CI setup"), re.M | re.S)
    assert documented
    named = set(re.findall(r"`([a-z][\w-]*)`", documented.group(1)))
    assert set(inputs) <= named, set(inputs) - named
