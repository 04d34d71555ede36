"""The validate report names its project even when the project has errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from asst_deploy.cli import cli
from asst_deploy.spec.validate import validate


def test_the_json_report_of_an_invalid_project_names_the_project(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": "project: shop\ndefaults: {model: gpt-4o-mini}\n"
            "environments: {dev: {}}\n",
            "assistants/a.yaml": "kind: assistant\nkey: a\ntemprature: 1\n",
        }
    )
    assert validate(root).name == "shop"
    result = CliRunner().invoke(cli, ["validate", str(root), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["valid"], report["project"]) == (False, "shop")
    assert report["environments"] == ["(base)", "dev"]


def test_a_project_file_without_a_usable_name_reports_null(
    make_project: Callable[[dict[str, str]], Path],
) -> None:
    root = make_project({"asst-deploy.yaml": "project: [not, a, name]\n"})
    result = CliRunner().invoke(cli, ["validate", str(root), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["project"] is None
