"""`kind: environment` and `kind: skill` documents: what they build, and the located errors
validate gives for what the data-driven cases (invalid/environment-*, skill-*) do not show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from asst_deploy.desired import EnvironmentSkill
from asst_deploy.errors import SpecError
from asst_deploy.kinds import skill
from asst_deploy.secretref import SecretRef
from asst_deploy.spec.loader import load_project

Make = Callable[[dict[str, str]], Path]
PROJECT = """\
project: demo
defaults:
  model: gpt-5.4-mini
targets:
  here: {type: sandbox, api: {api}}
default_target: here
"""
MANIFEST = "---\nname: report-writer\ndescription: Writes the daily report.\n---\nRun it.\n"
SKILL = {
    "skills/report-writer.yaml": "kind: skill\nkey: report-writer\npath: skills/report-writer\n",
    "skills/report-writer/SKILL.md": MANIFEST,
    "skills/report-writer/scripts/report.py": "print(1)\n",
}


def problems(root: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_project(root)
    return [str(p).removeprefix(f"{root}/") for p in caught.value.problems]


def project(make: Make, files: dict[str, str], api: str = "agents") -> Path:
    return make({"asst-deploy.yaml": PROJECT.replace("{api}", api), **files})


def test_an_environment_builds_its_record(make_project: Make) -> None:
    root = project(
        make_project,
        {
            **SKILL,
            "environments/analysis.yaml": """\
            kind: environment
            key: analysis
            packages: {python: [pandas==2.3.3]}
            files: [data/sales.csv]
            skills: [report-writer, {skill_id: skill_abc, version: latest}]
            setup_commands: [{command: make, cwd: /workspace/app}]
            env: {REGION: eu, TOKEN: {from_env: WAREHOUSE_TOKEN}}
            """,
            "data/sales.csv": "a\n1\n",
        },
    )
    loaded = load_project(root)
    (env,) = loaded.environment_specs
    assert env.packages == {"npm": (), "python": ("pandas==2.3.3",), "system": ()}
    assert env.network == {}  # none given: the kind deploys access: disabled
    assert [f.path for f in env.files] == ["data/sales.csv"]
    assert "data/sales.csv" in {f.path for f in loaded.files}  # uploaded with the rest
    assert env.skills == (
        EnvironmentSkill(key="report-writer"),
        EnvironmentSkill(skill_id="skill_abc", version="latest"),
    )
    assert env.setup_commands == ({"command": "make", "cwd": "/workspace/app"},)
    assert env.env["REGION"] == "eu"
    assert env.env["TOKEN"] == SecretRef(
        "WAREHOUSE_TOKEN", "environment_template/environment/analysis/env/TOKEN"
    )
    (found,) = loaded.skills
    assert (found.path, found.name, found.description) == (
        "skills/report-writer",
        "report-writer",
        "Writes the daily report.",
    )
    assert found.content == skill.content_hash(skill.folder_files(root / "skills/report-writer"))


def test_an_assistant_runs_in_the_environment_it_names(make_project: Make) -> None:
    root = project(
        make_project,
        {
            "environments/analysis.yaml": "kind: environment\nkey: analysis\n",
            "assistants/analyst.yaml": "kind: assistant\nkey: analyst\nenvironment: analysis\n",
        },
    )
    (assistant,) = load_project(root).assistants
    assert assistant.environment == "analysis"


@pytest.mark.parametrize("api", ["assistants", "responses"])
def test_environment_is_refused_on_other_generations_where_it_is_written(
    make_project: Make, api: str
) -> None:
    root = project(
        make_project,
        {
            "environments/analysis.yaml": "kind: environment\nkey: analysis\n",
            "assistants/analyst.yaml": "kind: assistant\nkey: analyst\nenvironment: analysis\n",
        },
        api,
    )
    found = problems(root)
    assert len(found) == 2
    assert found[0].startswith(
        f"assistants/analyst.yaml:3:14: target 'here' (api {api}) cannot hold environment:"
    )
    assert "api agents" in found[0]
    assert found[1].startswith(
        f"environments/analysis.yaml:1:7: target 'here' (api {api}) cannot hold environment "
        "'analysis'"
    )


def test_code_interpreter_files_beside_an_environment(make_project: Make) -> None:
    root = project(
        make_project,
        {
            "environments/analysis.yaml": "kind: environment\nkey: analysis\n",
            "assistants/analyst.yaml": """\
            kind: assistant
            key: analyst
            environment: analysis
            tools: [{type: code_interpreter}]
            tool_resources: {code_interpreter: {files: [data/a.csv]}}
            """,
            "data/a.csv": "a\n",
        },
    )
    (problem,) = problems(root)
    assert problem.startswith("assistants/analyst.yaml:5:44: code_interpreter files beside")
    assert "list them in environment 'analysis''s files" in problem


def test_an_excluded_environment_cannot_be_named(make_project: Make) -> None:
    root = make_project(
        {
            "asst-deploy.yaml": PROJECT.replace("{api}", "agents")
            + "environments:\n  lean:\n    exclude: {environments: [analysis]}\n",
            "environments/analysis.yaml": "kind: environment\nkey: analysis\n",
            "assistants/analyst.yaml": "kind: assistant\nkey: analyst\nenvironment: analysis\n",
        }
    )
    with pytest.raises(SpecError) as caught:
        load_project(root, "lean")
    (problem,) = caught.value.problems
    assert "environment 'analysis' is excluded from this environment" in problem.message
    assert str(problem.location) == f"{root}/assistants/analyst.yaml:3:14"


def test_a_key_in_a_setup_command_is_refused_and_not_echoed(make_project: Make) -> None:
    key = "sk-proj-" + "a1B2c3D4e5F6g7H8"
    root = project(
        make_project,
        {
            "environments/analysis.yaml": f"""\
            kind: environment
            key: analysis
            setup_commands:
              - command: echo ready
              - command: "curl -H 'Authorization: Bearer {key}' https://api.example.com"
            """
        },
    )
    (problem,) = problems(root)
    assert problem.startswith("environments/analysis.yaml:5:14: setup command 1 holds")
    assert key not in problem


def test_a_wildcard_blocked_domain(make_project: Make) -> None:
    root = project(
        make_project,
        {
            "environments/analysis.yaml": """\
            kind: environment
            key: analysis
            network: {access: restricted, blocked_domains: [ads.example.com, "*.tracker.io"]}
            """
        },
    )
    (problem,) = problems(root)
    assert problem.startswith("environments/analysis.yaml:3:66: blocked domain '*.tracker.io'")


def test_a_name_too_long_for_the_digests_of_the_secrets(make_project: Make) -> None:
    env = "\n".join(
        f"  SECRET_NUMBER_{i:02}: {{from_env: VARIABLE_NUMBER_{i:02}}}" for i in range(5)
    )
    root = project(
        make_project,
        {"environments/analysis.yaml": f"kind: environment\nkey: analysis\nenv:\n{env}\n"},
    )
    (problem,) = problems(root)
    assert problem.startswith("environments/analysis.yaml:4:3: environment 'analysis' would need")
    assert "the API takes 256" in problem


def test_skill_folders_are_checked(make_project: Make, tmp_path: Path) -> None:
    long = "x" * (skill.DESCRIPTION_MAX - 20)
    files = {
        "skills/a.yaml": "kind: skill\nkey: a\npath: ../outside\n",
        "skills/b.yaml": "kind: skill\nkey: b\npath: skills/b\n",
        "skills/b/SKILL.md": f"---\nname: b\ndescription: {long}\n---\n",
        "skills/c.yaml": "kind: skill\nkey: c\npath: skills/c\n",
        "skills/c/SKILL.md": "no front matter\n",
        "skills/d.yaml": "kind: skill\nkey: d\npath: skills/d/SKILL.md\n",
        "skills/d/SKILL.md": MANIFEST,
    }
    root = project(make_project, files)
    (root.parent / "outside").mkdir(exist_ok=True)
    found = problems(root)
    assert found == [
        "skills/a.yaml:3:7: '../outside' is outside the project directory (move it in)",
        f"skills/b.yaml:3:7: the description in skills/b/SKILL.md has {len(long)} characters; "
        f"this one may have {skill.DESCRIPTION_MAX - skill.tag_room('demo', 'b', 'skills/b')}: "
        "asst-deploy ends it with the skill's identity tag within the service's 1024 "
        "(shorten the description)",
        "skills/c.yaml:3:7: skills/c/SKILL.md: SKILL.md must start with YAML front matter "
        "between '---' lines (fix its front matter)",
        "skills/d.yaml:3:7: skill folder not a folder: 'skills/d/SKILL.md' (name a folder "
        "holding SKILL.md, relative to the project directory)",
    ]


def test_a_skill_of_too_many_files(make_project: Make) -> None:
    files = {f"skills/big/part{i:03}.md": "x\n" for i in range(skill.FILES_MAX)}
    root = project(
        make_project,
        {
            **files,
            "skills/big.yaml": "kind: skill\nkey: big\npath: skills/big\n",
            "skills/big/SKILL.md": MANIFEST,
        },
    )
    (problem,) = problems(root)
    assert problem.startswith(
        f"skills/big.yaml:3:7: the skill folder 'skills/big' holds {skill.FILES_MAX + 1} files"
    )


def test_hidden_files_are_not_uploaded(tmp_path: Path) -> None:
    for rel in ("SKILL.md", "a/b.py", ".git/config", "a/.DS_Store", "__pycache__/x.pyc"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(MANIFEST if rel == "SKILL.md" else "x")
    assert [rel for rel, _ in skill.folder_files(tmp_path)] == ["SKILL.md", "a/b.py"]
    before = skill.content_hash(skill.folder_files(tmp_path))
    (tmp_path / ".git/config").write_text("changed")
    assert skill.content_hash(skill.folder_files(tmp_path)) == before
    (tmp_path / "a/b.py").write_text("changed")
    assert skill.content_hash(skill.folder_files(tmp_path)) != before


def test_yaml_in_a_skill_folder_is_the_skills_content_not_a_spec(make_project: Make) -> None:
    root = project(
        make_project,
        {
            **SKILL,
            "skills/report-writer/config.yaml": "columns: [day, amount]\n",
            "skills/report-writer/templates/report.yaml": "title: Daily report\n",
            # a YAML file beside the skill folders is still a spec
            "skills/notes.yaml": "columns: [day]\n",
        },
    )
    (problem,) = problems(root)
    assert problem.startswith("skills/notes.yaml:1:1: "), problem
    (root / "skills/notes.yaml").unlink()
    (found,) = load_project(root).records["skill"]
    assert found.key == "report-writer"
    # an explicit include reads what it names, skill folders too
    (root / "asst-deploy.yaml").write_text(
        PROJECT.replace("{api}", "agents") + "include: ['skills/**/*.yaml']\n"
    )
    assert any(p.startswith("skills/report-writer/config.yaml:") for p in problems(root))
