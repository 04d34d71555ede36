"""The SDK's type packages load lazily in the CLI's process, and still behave as the SDK
wrote them: every name, `import *`, `dir()`, the same objects as an eager import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Each probe runs in a fresh interpreter: the finder acts only on the first import.
LAZY = "from asst_deploy.generations.sdk import sdk_types\nsdk_types.install()\n"
EAGER = ""


def probe(preamble: str, body: str) -> dict[str, object]:
    script = (
        "import json, sys\n"
        + preamble
        + "import openai\n"
        + body
        + "\nout['modules'] = sum(m.startswith('openai') for m in sys.modules)"
        + "\nprint(json.dumps(out))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return report


@pytest.mark.e2e  # fresh interpreters, in subprocesses
def test_a_command_loads_only_the_types_its_resources_use() -> None:
    body = "c = openai.OpenAI(api_key='sk-x'); c.files; c.vector_stores\nout = {}"
    lazy, eager = probe(LAZY, body), probe(EAGER, body)
    assert isinstance(lazy["modules"], int) and isinstance(eager["modules"], int)
    assert eager["modules"] > 500  # the SDK as it loads itself
    assert lazy["modules"] < eager["modules"] / 3


NAMES = """
import openai.types as t
from openai.types.beta import Assistant
star: dict = {}
exec('from openai.types import *', star)
star = sorted(k for k in star if not k.startswith('_'))
out = {
    'file_object': t.FileObject is t.file_object.FileObject,
    'shared': t.shared.Metadata is t.shared.metadata.Metadata,
    'assistant': Assistant.__module__,
    'star': star,
    'dir': sorted(dir(t)),
    'responses': sorted(dir(openai.types.responses)),
}
try:
    t.NoSuchName
except AttributeError as exc:
    out['missing'] = str(exc)
"""


@pytest.mark.e2e  # fresh interpreters, in subprocesses
def test_every_name_is_there_as_with_the_eager_sdk() -> None:
    lazy, eager = probe(LAZY, NAMES), probe(EAGER, NAMES)
    for report in (lazy, eager):
        assert report["file_object"] is True and report["shared"] is True
        assert report["assistant"] == "openai.types.beta.assistant"
        assert "no attribute 'NoSuchName'" in str(report["missing"])
    for key in ("star", "dir", "responses"):
        assert lazy[key] == eager[key], key
    assert "FileObject" in lazy["star"]  # type: ignore[operator]


def test_a_process_that_imported_openai_first_keeps_the_eager_sdk() -> None:
    report = probe("", "import asst_deploy.generations.sdk\nout = {}")
    assert isinstance(report["modules"], int) and report["modules"] > 500


@pytest.mark.parametrize("name", ["FileObject", "file_list_params", "shared", "VectorStore"])
def test_a_name_is_loaded_from_its_own_submodule(name: str) -> None:
    report = probe(LAZY, f"from openai.types import {name}\nout = {{}}")
    assert isinstance(report["modules"], int) and report["modules"] < 250


def test_a_library_import_leaves_the_import_machinery_alone() -> None:
    # asst_deploy.runtime runs inside users' applications: no finder of ours joins theirs
    script = (
        "import sys\nbefore = list(sys.meta_path)\n"
        "import asst_deploy.runtime, asst_deploy.engine.targets, asst_deploy.replay.plugin\n"
        "print(sys.meta_path == before)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_the_cli_installs_the_lazy_types() -> None:
    script = (
        "import sys\nfrom asst_deploy.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(any(type(f).__module__ == 'asst_deploy.generations.sdk.sdk_types' for f in sys.meta_path))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
