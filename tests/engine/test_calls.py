"""Minimal calls: a no-change plan lists collections page by page, never one GET per object."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

from asst_deploy.sandbox.server import SandboxServer

from .conftest import Deployer, write_project

N = 120


def test_no_change_plan_costs_list_pages_not_retrieves(
    tmp_path: Path, server: SandboxServer, deployer: Deployer
) -> None:
    docs = "".join(
        f"---\nkind: assistant\nkey: bot-{i:03d}\nname: Bot {i}\nmodel: gpt-4o-mini\n"
        for i in range(N)
    )
    project = {
        "asst-deploy.yaml": "project: many\n",
        "assistants/bots.yaml": docs,
        "vector_stores/a.yaml": "kind: vector_store\nkey: a\nfiles: [k/a.md]\n",
        "vector_stores/b.yaml": "kind: vector_store\nkey: b\nfiles: [k/b.md]\n",
        "k/a.md": "a\n",
        "k/b.md": "b\n",
    }
    many = Deployer(write_project(tmp_path / "many", project), deployer.backend)
    many.apply()
    start = server.log.total
    plan = many.plan()
    assert plan.empty
    # by path, ids replaced: the log's `route` is None for every request (sandbox bug)
    requests = Counter(
        f"{e.method} " + re.sub(r"/vs_\w+", "/{vector_store_id}", e.path)
        for e in server.log.since(start)
    )
    assert requests == {
        "GET /v1/assistants": math.ceil(N / 100),
        "GET /v1/vector_stores": 1,
        "GET /v1/files": 1,
        "GET /v1/vector_stores/{vector_store_id}/files": 2,
    }
