"""Environment overlays: defaults precedence, deep-merged overrides, null removal, locations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from asst_deploy.desired import AssistantSpec
from asst_deploy.errors import SpecError
from asst_deploy.spec.loader import load_project

PROJECT = """
    project: demo
    defaults:
      model: gpt-4o-mini
      temperature: 0.1
      metadata: {team: platform, tier: gold}
    environments:
      dev: {}
      prod:
        defaults:
          model: gpt-4o
          metadata: {team: search}
        overrides:
          assistants:
            a:
              top_p: 0.9
              metadata: {owner: prod-team, note: null}
              tools: [{type: code_interpreter}]
            b:
              temperature: null
              tool_resources:
                file_search: {vector_stores: [prod-docs]}
          vector_stores:
            docs:
              name: Docs (prod)
"""

FILES = {
    "asst-deploy.yaml": PROJECT,
    "assistants/a.yaml": """
        kind: assistant
        key: a
        metadata: {owner: me, note: hello}
        tools: [{type: file_search}, {type: function, function: {name: f}}]
    """,
    "assistants/b.yaml": """
        kind: assistant
        key: b
        model: o3-mini
        temperature: 1.5
        tools: [{type: file_search}]
        tool_resources:
          file_search: {vector_stores: [docs]}
    """,
    "vector_stores/docs.yaml": "kind: vector_store\nkey: docs\nname: Docs\nfiles: [k/a.md]\n",
    "vector_stores/prod-docs.yaml": "kind: vector_store\nkey: prod-docs\nfiles: [k/a.md]\n",
    "k/a.md": "# A\n",
}


@pytest.fixture
def root(make_project: Callable[[dict[str, str]], Path]) -> Path:
    return make_project(FILES)


def assistants(root: Path, env: str | None) -> dict[str, AssistantSpec]:
    return {a.key: a for a in load_project(root, env).assistants}


def test_project_defaults_fill_fields_an_assistant_leaves_unset(root: Path) -> None:
    a, b = assistants(root, None).values()
    assert (a.model, a.temperature) == ("gpt-4o-mini", 0.1)
    assert (b.model, b.temperature) == ("o3-mini", 1.5)  # its own values win
    assert a.metadata == {"owner": "me", "note": "hello", "team": "platform", "tier": "gold"}
    assert assistants(root, "dev") == assistants(root, None)


def test_environment_defaults_win_over_project_defaults(root: Path) -> None:
    a = assistants(root, "prod")["a"]
    assert a.model == "gpt-4o"
    assert a.temperature == 0.1  # not in the environment's defaults: the project's applies
    assert a.metadata["team"] == "search"
    assert a.metadata["tier"] == "gold"


def test_overrides_deep_merge_mappings_replace_lists_and_null_removes(root: Path) -> None:
    prod = assistants(root, "prod")
    a, b = prod["a"], prod["b"]
    assert a.top_p == 0.9
    assert a.metadata == {"owner": "prod-team", "team": "search", "tier": "gold"}
    assert a.tools == ({"type": "code_interpreter"},)
    assert b.temperature is None  # removed by null; no default refills it
    assert b.vector_stores == ("prod-docs",)
    (docs,) = [s for s in load_project(root, "prod").vector_stores if s.key == "docs"]
    assert docs.name == "Docs (prod)"


def test_the_base_is_untouched_by_an_environment(root: Path) -> None:
    load_project(root, "prod")
    a = assistants(root, None)["a"]
    assert a.top_p is None
    assert len(a.tools) == 2


def test_errors_inside_an_override_point_at_the_project_file(root: Path) -> None:
    text = (root / "asst-deploy.yaml").read_text()
    (root / "asst-deploy.yaml").write_text(
        text.replace("top_p: 0.9", "top_p: 9").replace("owner: prod-team", "owner: 7")
    )
    with pytest.raises(SpecError) as info:
        load_project(root, "prod")
    assert [str(p) for p in info.value.problems] == [
        f"{root}/asst-deploy.yaml:15:18: 'top_p' is 9; it must be between 0 and 1",
        f"{root}/asst-deploy.yaml:16:29: 'owner' must be a string, not an integer",
    ]
    load_project(root, None)  # the base does not use the broken override


def test_a_deep_override_error_in_a_file_reference_points_at_the_override(root: Path) -> None:
    text = (root / "asst-deploy.yaml").read_text()
    (root / "asst-deploy.yaml").write_text(text.replace("[prod-docs]", "[prod-doc]"))
    with pytest.raises(SpecError) as info:
        load_project(root, "prod")
    assert [str(p) for p in info.value.problems] == [
        f"{root}/asst-deploy.yaml:21:43: unknown vector store 'prod-doc' "
        "(did you mean 'prod-docs'?)"
    ]
