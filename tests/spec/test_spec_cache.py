"""The project's cache of parsed and checked spec files (.asst-deploy/spec-cache)."""

from __future__ import annotations

import functools
import json
import marshal
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import asst_deploy
from asst_deploy import jsonpos, reader, speccache, yamlpos
from asst_deploy.errors import SpecError
from asst_deploy.spec import checks, schemacheck
from asst_deploy.spec.loader import load_project
from asst_deploy.spec.validate import validate
from tests.spec.test_invalid_specs import CASES, Case, materialize

ENVIRONMENTS = (None, "dev", "prod")


def write_project(root: Path, assistants: int = 3) -> None:
    """A project that uses what the cache holds: YAML and JSON files, defaults merged into
    each environment, an override, interpolation and a function's JSON Schema."""
    for folder in ("assistants", "functions", "prompts"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "asst-deploy.yaml").write_text(
        textwrap.dedent(
            """\
            project: cached
            vars: {company: Example}
            defaults: {model: gpt-4o-mini, metadata: {team: core}}
            targets:
              dev: {type: sandbox, db: .asst-deploy/dev.db}
              prod: {type: sandbox, db: .asst-deploy/prod.db}
            environments:
              dev: {target: dev, vars: {company: Example dev}}
              prod:
                target: prod
                defaults: {model: gpt-4o}
                overrides: {assistants: {a0: {temperature: 0.2, metadata: {tier: gold}}}}
            """
        )
    )
    for i in range(assistants):
        function = {
            "name": f"lookup_{i}",
            "description": "Look up for ${company}.",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
        }
        (root / "functions" / f"a{i}.json").write_text(json.dumps(function, indent=2))
        (root / "prompts" / f"a{i}.md").write_text(f"You are {i} of ${{company}}.\n")
        (root / "assistants" / f"a{i}.yaml").write_text(
            f"kind: assistant\nkey: a{i}\nname: Assistant {i} of ${{company}}\n"
            f"instructions:\n  file: prompts/a{i}.md\n"
            f"tools:\n  - type: code_interpreter\n  - type: function\n    file: functions/a{i}.json\n"
            f"metadata: {{owner: team-{i}}}\n"
        )


def load_all(root: Path) -> list[Any]:
    return [load_project(root, env) for env in ENVIRONMENTS]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files parsed from their text (not served by the cache), by display name."""
    seen: list[str] = []

    def counting(original: Any) -> Any:
        @functools.wraps(original)  # its name too: the cache knows a parser by it
        def counted(text: str, file: str, problems: Any) -> Any:
            seen.append(file)
            return original(text, file, problems)

        return counted

    monkeypatch.setattr(yamlpos, "parse", counting(yamlpos.parse))
    monkeypatch.setitem(reader._BY_SUFFIX, ".json", counting(jsonpos.parse))
    return seen


@pytest.fixture
def metaschema_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The JSON Schemas checked against the metaschema by jsonschema."""
    seen: list[str] = []
    original = checks._schema_findings

    def counted(text: str) -> Any:
        seen.append(text)
        return original(text)

    monkeypatch.setattr(checks, "_schema_findings", counted)
    return seen


def cache_file(root: Path) -> Path:
    return root / speccache.FOLDER / speccache.FILE


def stored(root: Path) -> dict[bytes, bytes]:
    return speccache.Cache(root)._read()


def test_a_cached_load_equals_a_fresh_one(
    tmp_path: Path, parses: list[str], metaschema_checks: list[str]
) -> None:
    write_project(tmp_path)
    fresh = load_all(tmp_path)
    assert len(parses) == 7  # the project file and 2 per assistant; then the cache serves
    assert stored(tmp_path), "the first load fills the cache"
    parses.clear()
    metaschema_checks.clear()
    cached = load_all(tmp_path)
    assert parses == []  # every file came from the cache, and
    assert metaschema_checks == []  # no function's JSON Schema met jsonschema again
    assert cached == fresh
    prod = cached[2]
    assert prod.assistants[0].metadata == {"owner": "team-0", "team": "core", "tier": "gold"}
    assert prod.assistants[0].location == fresh[2].assistants[0].location
    assert str(prod.assistants[1].location) == f"{tmp_path}/assistants/a1.yaml:2:6"


def test_a_warm_run_writes_nothing(tmp_path: Path) -> None:
    write_project(tmp_path)
    validate(tmp_path)
    before = cache_file(tmp_path).stat()
    assert validate(tmp_path).valid
    after = cache_file(tmp_path).stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_an_edit_is_read_afresh(tmp_path: Path, parses: list[str]) -> None:
    write_project(tmp_path)
    load_all(tmp_path)
    spec = tmp_path / "assistants" / "a1.yaml"
    spec.write_text(spec.read_text().replace("Assistant 1", "Renamed"))
    parses.clear()
    project = load_project(tmp_path, "dev")
    assert parses == [f"{tmp_path}/assistants/a1.yaml"]
    assert project.assistants[1].name == "Renamed of Example dev"
    # an edit back to what the cache holds reads from it again
    spec.write_text(spec.read_text().replace("Renamed", "Assistant 1"))
    parses.clear()
    assert load_project(tmp_path, "dev").assistants[1].name == "Assistant 1 of Example dev"
    assert parses == []


def test_an_edit_that_breaks_a_cached_file_is_located_as_a_fresh_read(tmp_path: Path) -> None:
    write_project(tmp_path)
    load_all(tmp_path)
    (tmp_path / "functions" / "a2.json").write_text('{"name": "x",\n "parameters": 5}\n')
    spec = tmp_path / "assistants" / "a0.yaml"
    spec.write_text(spec.read_text().replace("metadata:", "temperature: 9\nmetadata:"))
    with pytest.raises(SpecError) as warm:
        load_project(tmp_path, "dev")
    shutil.rmtree(tmp_path / speccache.FOLDER)
    with pytest.raises(SpecError) as cold:
        load_project(tmp_path, "dev")
    assert [str(p) for p in warm.value.problems] == [str(p) for p in cold.value.problems]
    assert any(":2:16: 'parameters' must be" in str(p) for p in warm.value.problems)
    assert any("a0.yaml:10:14:" in str(p) for p in warm.value.problems)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_invalid_case_reports_the_same_problem_from_a_warm_cache(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache warmed by the valid variant of each data-driven invalid case, then the
    case itself: its one problem, word for word and at its place (tests/spec/invalid)."""
    fixed = materialize(case, tmp_path / "fixed", fixed=True)
    monkeypatch.chdir(fixed)
    validate(".", case.env)
    broken = materialize(case, tmp_path / "broken")
    if (fixed / speccache.FOLDER / speccache.FILE).exists():
        (broken / speccache.FOLDER).mkdir(exist_ok=True)
        shutil.copy(fixed / speccache.FOLDER / speccache.FILE, broken / speccache.FOLDER)
    monkeypatch.chdir(broken)
    assert [str(p) for p in validate(".", case.env).problems] == case.expected


def test_a_damaged_cache_file_is_ignored_and_written_again(
    tmp_path: Path, parses: list[str]
) -> None:
    write_project(tmp_path)
    expected = load_all(tmp_path)
    for damage in (b"", b"garbage", cache_file(tmp_path).read_bytes()[:-100]):
        cache_file(tmp_path).write_bytes(damage)
        parses.clear()
        assert load_all(tmp_path) == expected
        assert len(parses) == 7  # all read afresh
        assert stored(tmp_path), "and the cache was written again"


def test_a_damaged_entry_is_ignored_and_written_again(tmp_path: Path, parses: list[str]) -> None:
    write_project(tmp_path)
    expected = load_all(tmp_path)
    cache = speccache.Cache(tmp_path)
    entries = cache._read()
    spoilt = {k: b"\xff not marshal" for k in entries}
    body = marshal.dumps((cache.stamp, spoilt))
    cache_file(tmp_path).write_bytes(speccache._MAGIC + speccache._checksum(body) + body)
    parses.clear()
    assert load_all(tmp_path) == expected
    assert len(parses) == 7
    assert _decoded(stored(tmp_path)) == _decoded(entries)


def _decoded(entries: dict[bytes, bytes]) -> dict[bytes, Any]:
    return {k: marshal.loads(v) for k, v in entries.items()}


def test_an_entry_of_the_wrong_shape_is_a_miss(tmp_path: Path, parses: list[str]) -> None:
    write_project(tmp_path)
    expected = load_all(tmp_path)
    cache = speccache.Cache(tmp_path)
    entries = cache._read()
    odd = {k: marshal.dumps([("only one",)]) for k in entries}
    body = marshal.dumps((cache.stamp, odd))
    cache_file(tmp_path).write_bytes(speccache._MAGIC + speccache._checksum(body) + body)
    parses.clear()
    assert load_all(tmp_path) == expected
    assert len(parses) == 7


def test_another_version_of_asst_deploy_does_not_reuse_entries(
    tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path)
    load_all(tmp_path)
    monkeypatch.setattr(asst_deploy, "__version__", asst_deploy.__version__ + ".post1")
    parses.clear()
    load_all(tmp_path)
    assert len(parses) == 7
    parses.clear()
    load_all(tmp_path)  # its own entries, written by the run before
    assert parses == []


def test_another_schema_does_not_reuse_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path)
    load_all(tmp_path)
    checked: list[str] = []
    original = schemacheck._known_valid

    def counted(kind: str, data: Any) -> bool:
        checked.append(kind)
        return original(kind, data)

    monkeypatch.setattr(schemacheck, "_known_valid", counted)
    load_all(tmp_path)
    assert checked == []  # every file's check came from the cache
    monkeypatch.setattr(schemacheck, "_digest", lambda: "another schema")
    load_all(tmp_path)
    assert sorted(set(checked)) == ["assistant", "function", "project_file"]


def test_without_a_writable_folder_it_runs_without_the_cache(
    tmp_path: Path, parses: list[str]
) -> None:
    write_project(tmp_path)
    (tmp_path / speccache.FOLDER).write_text("a file where the folder would be")
    expected = load_all(tmp_path)
    parses.clear()
    assert load_all(tmp_path) == expected
    assert len(parses) == 21  # every file, in every load
    assert (tmp_path / speccache.FOLDER).read_text() == "a file where the folder would be"


_WRITER = """
import sys
from pathlib import Path
from asst_deploy.spec.loader import load_project

root, me = Path(sys.argv[1]), sys.argv[2]
spec, draft = root / "assistants" / f"{me}.yaml", root / f".{me}.draft"
for i in range(25):  # a new name each time: each load adds an entry and writes the file
    draft.write_text(f"kind: assistant\\nkey: {me}\\nname: {me} {i}\\n")
    draft.replace(spec)  # the other writer never reads half of it
    names = [a.name for a in load_project(root, "dev").assistants if a.key == me]
    assert names == [f"{me} {i}"], names
"""


def test_concurrent_writers_leave_a_readable_cache(tmp_path: Path) -> None:
    write_project(tmp_path)
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), name])
        for name in ("w1", "w2")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert stored(tmp_path), "the last writer's file is whole"
    assert list((tmp_path / speccache.FOLDER).glob("*.tmp")) == []
    project = load_project(tmp_path, "dev")
    assert {a.name for a in project.assistants if a.key in ("w1", "w2")} == {"w1 24", "w2 24"}


def test_a_cache_file_made_elsewhere_is_never_trusted(
    tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a pull request can commit .asst-deploy/spec-cache: its entries, sealed with another
    # machine's key, could call an invalid spec valid
    write_project(tmp_path / "project")
    root = tmp_path / "project"
    load_all(root)
    made_here = cache_file(root).read_bytes()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
    speccache.machine_key.cache_clear()
    try:
        assert speccache.machine_key() is not None
        parses.clear()
        load_all(root)
        assert len(parses) == 7, "every file read afresh"
        assert cache_file(root).read_bytes() != made_here, "and sealed with this key"
        key = (tmp_path / "elsewhere" / "asst-deploy" / speccache.KEY_FILE).stat()
        assert key.st_mode & 0o077 == 0, "the key is the user's alone"
    finally:
        speccache.machine_key.cache_clear()


def test_without_a_machine_key_there_is_no_cache(
    tmp_path: Path, parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    speccache.machine_key.cache_clear()
    try:
        for _ in range(2):
            parses.clear()
            load_all(tmp_path)
            assert len(parses) == 7 * len(ENVIRONMENTS), "each load reads every file"
        assert not cache_file(tmp_path).exists()
    finally:
        speccache.machine_key.cache_clear()
