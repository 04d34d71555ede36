"""Files reach a vector store in one file batch, with per-file attributes, safe to retry."""

from __future__ import annotations

from pathlib import Path

from asst_deploy.errors import AsstDeployError
from asst_deploy.sandbox.faults import FaultConfig, FaultRule
from asst_deploy.sandbox.server import SandboxServer

from .conftest import Deployer, assert_no_duplicates, write_project

STORE = """kind: vector_store
key: docs
files:
  - {path: k/a.md, attributes: {lang: en}}
  - {path: k/b.md, attributes: {lang: fr, rev: 2}}
  - k/c.md
"""
PROJECT = {
    "asst-deploy.yaml": "project: batches\n",
    "vector_stores/docs.yaml": STORE,
    "k/a.md": "# a\n",
    "k/b.md": "# b\n",
    "k/c.md": "# c\n",
}


def _attributes(deployer: Deployer) -> list[dict[str, object]]:
    state = deployer.backend.read_state()
    (store,) = state.of("vector_store")
    return sorted((dict(f.get("attributes") or {}) for f in store.files), key=len)


def test_three_files_one_batch(tmp_path: Path, server: SandboxServer, deployer: Deployer) -> None:
    batches = Deployer(write_project(tmp_path / "p", PROJECT), deployer.backend)
    start = server.log.total
    batches.apply()
    writes = [f"{e.method} {e.path}" for e in server.log.since(start) if e.method == "POST"]
    assert sum("/file_batches" in w for w in writes) == 1, writes
    assert not any(w.endswith("/files") and "/vector_stores/" in w for w in writes), writes
    assert _attributes(batches) == [{}, {"lang": "en"}, {"lang": "fr", "rev": 2}]
    assert batches.plan().empty


def test_a_batch_that_committed_and_answered_500_is_safe_to_send_again(
    tmp_path: Path, server: SandboxServer, deployer: Deployer
) -> None:
    batches = Deployer(write_project(tmp_path / "p", PROJECT), deployer.backend)
    server.faults = FaultConfig(
        seed=1, rules=[FaultRule(method="POST", path="*/file_batches", rate_commit_then_fail=1.0)]
    )
    try:
        batches.apply()
    except AsstDeployError as exc:
        assert "file" in str(exc)
    finally:
        faults = server.log.faults()
        server.faults = FaultConfig()
    assert faults["commit_then_fail"] >= 2, faults  # committed, answered 500, sent again
    batches.apply()
    assert batches.plan().empty
    assert _attributes(batches) == [{}, {"lang": "en"}, {"lang": "fr", "rev": 2}]
    assert_no_duplicates(batches.backend.read_state())
