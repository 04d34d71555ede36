"""Import and export logic in the core (asst_deploy.engine.importing, asst_deploy.engine.export.write), not the CLI."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from asst_deploy import identity
from asst_deploy.backend import Backend
from asst_deploy.desired import Target
from asst_deploy.engine.export import Export, write
from asst_deploy.engine.importing import import_object
from asst_deploy.errors import AsstDeployError
from asst_deploy.spec.loader import load_project


def test_import_object_tags_it_and_refuses_a_second_time(
    backend: Backend, client: openai.OpenAI, project_dir: Path
) -> None:
    project = load_project(project_dir)
    made = client.beta.assistants.create(model="gpt-4o-mini", name="helper")
    import_object(backend, project, "assistant", made.id, "helper")
    tagged = client.beta.assistants.retrieve(made.id).metadata or {}
    assert tagged[identity.PROJECT_KEY] == "feat" and tagged[identity.SPEC_KEY] == "helper"
    with pytest.raises(AsstDeployError, match="already managed by this project"):
        import_object(backend, project, "assistant", made.id, "other")
    with pytest.raises(AsstDeployError, match="invalid key"):
        import_object(backend, project, "assistant", made.id, "Bad Key")


def test_write_refuses_missing_ids_and_clashes(tmp_path: Path) -> None:
    target = Target("sandbox", "sandbox", db=tmp_path / "state.db")
    with pytest.raises(AsstDeployError, match="not found on target 'sandbox': asst_x"):
        write(Export(missing=["asst_x"]), tmp_path / "out", "p", target, force=False)
    assert not (tmp_path / "out").exists()
    write(
        Export(files={"assistants/a.yaml": "key: a\n"}), tmp_path / "out", "p", target, force=False
    )
    assert (tmp_path / "out/assistants/a.yaml").read_text() == "key: a\n"
    assert "project: p" in (tmp_path / "out/asst-deploy.yaml").read_text()
    again = Export(files={"assistants/a.yaml": "key: b\n"})
    with pytest.raises(AsstDeployError, match="would overwrite 1 file"):
        write(again, tmp_path / "out", "p", target, force=False)
    write(again, tmp_path / "out", "p", target, force=True)
    assert (tmp_path / "out/assistants/a.yaml").read_text() == "key: b\n"
