"""Golden renders: hand-built actions to exact text, Markdown and JSON; JSON round trip."""

from __future__ import annotations

import json

import pytest

from asst_deploy.engine import planfile, render
from asst_deploy.errors import AsstDeployError
from asst_deploy.plan import (
    FORMAT_VERSION,
    Create,
    Delete,
    FieldChange,
    Keep,
    Lookalike,
    Plan,
    Replace,
    Update,
)

PLAN = Plan(
    project="demo",
    environment="prod",
    target="sandbox",
    actions=(
        Create("file", "k/a.md", after={"path": "k/a.md", "sha": "1" * 16, "bytes": 12}),
        Replace(
            "vector_store",
            "kb",
            "vs_1",
            "f" * 16,
            before={"chunking_strategy": "x"},
            after={"chunking_strategy": "y"},
            changes=(FieldChange("chunking_strategy", {"type": "auto"}, {"type": "static"}),),
            reason="chunking_strategy cannot be changed in place",
        ),
        Update(
            "assistant",
            "bot",
            "asst_1",
            "e" * 16,
            before={},
            after={},
            changes=(
                FieldChange("instructions", "Be brief.\nBe kind.", "Be brief.\nBe very kind."),
                FieldChange("temperature", 1.0, 0.2),
            ),
            drift=True,
        ),
        Create(
            "assistant", "new", after={"name": "New", "model": "gpt-4o", "tools": [], "top_p": 1.0}
        ),
        Delete("assistant", "old", "asst_2", "d" * 16, before={"name": "Old"}),
    ),
    kept=(Keep("assistant", "legacy", "asst_3"),),
    refused=(
        "vector_store 'vault': replacing it (to change chunking_strategy) is refused: it is protected",
    ),
    files={"k/a.md": "1" * 16},
)

TEXT = """\
Project demo, environment prod, target sandbox.

asst-deploy will perform the following actions:

  + file k/a.md  upload, 12 bytes

-/+ vector_store kb (vs_1)  must be replaced: chunking_strategy cannot be changed in place
      chunking_strategy: {"type": "auto"} -> {"type": "static"}

  ~ assistant bot (asst_1)  (drift: edited outside asst-deploy since the last apply)
      instructions:
        --- before
        +++ after
        @@ -1,2 +1,2 @@
         Be brief.
        -Be kind.
        +Be very kind.
      temperature: 1.0 -> 0.2

  + assistant new
      model = "gpt-4o"
      name = "New"
      top_p = 1.0

  - assistant old (asst_2)

Kept (managed, no longer in the specs; --prune deletes them):
    assistant legacy (asst_3)

Refused (protected):
    vector_store 'vault': replacing it (to change chunking_strategy) is refused: it is protected

Plan: 3 to add, 1 to change, 2 to destroy.
"""

MARKDOWN = """\
### asst-deploy plan: `demo` `prod` on `sandbox`

**Plan: 3 to add, 1 to change, 2 to destroy.**

| | kind | key | changes |
|---|---|---|---|
| `+` create | file | `k/a.md` |  |
| `-/+` replace | vector_store | `kb` | `chunking_strategy` |
| `~` update | assistant | `bot` | `instructions`, `temperature` (drift) |
| `+` create | assistant | `new` |  |
| `-` delete | assistant | `old` |  |

<details><summary>Details</summary>

```diff
+   file k/a.md  upload, 12 bytes
-/+ vector_store kb (vs_1)  must be replaced: chunking_strategy cannot be changed in place
      chunking_strategy: {"type": "auto"} -> {"type": "static"}
!   assistant bot (asst_1)  (drift: edited outside asst-deploy since the last apply)
      instructions:
        --- before
        +++ after
        @@ -1,2 +1,2 @@
         Be brief.
-        Be kind.
+        Be very kind.
      temperature: 1.0 -> 0.2
+   assistant new
      model = "gpt-4o"
      name = "New"
      top_p = 1.0
-   assistant old (asst_2)
```
</details>

Kept (no longer in the specs; `--prune` deletes them): assistant `legacy`

**Refused (protected):**
- vector_store 'vault': replacing it (to change chunking_strategy) is refused: it is protected
"""


def test_text() -> None:
    assert render.text(PLAN) == TEXT


def test_text_colours_only_through_the_style() -> None:
    styled = render.text(PLAN, lambda text, colour: f"<{colour}>{text}</>" if colour else text)
    assert "<green>  +</> file k/a.md" in styled
    assert "<magenta>-/+</> vector_store kb" in styled
    assert "<red>Refused (protected):</>" in styled


def test_empty_plan_text() -> None:
    empty = Plan(project="demo", environment=None, target="sandbox")
    assert render.text(empty) == (
        "Project demo, target sandbox.\n\nNo changes. The remote side matches the specs.\n"
    )
    assert render.markdown(empty) == (
        "### asst-deploy plan: `demo` on `sandbox`\n\n"
        "No changes. The remote side matches the specs.\n"
    )


def test_markdown() -> None:
    assert render.markdown(PLAN) == MARKDOWN


def test_markdown_diff_markers_are_in_column_0() -> None:
    # GitHub's diff highlighting reads only the first character of a line
    details = MARKDOWN.split("```diff\n")[1].split("```")[0].splitlines()
    marked = [line for line in details if line[:1] in "+-!"]
    assert len(marked) == 7  # five titles and the two changed lines of the instructions
    assert all(line[:1] == " " for line in details if line not in marked)
    assert "~" not in "".join(line[:1] for line in details)


def test_json() -> None:
    data = json.loads(render.to_json(PLAN))
    assert data["format_version"] == FORMAT_VERSION == 1
    assert data["summary"] == {"add": 3, "change": 1, "destroy": 2}
    assert data["actions"][2] == {
        "action": "update",
        "kind": "assistant",
        "key": "bot",
        "remote_id": "asst_1",
        "fingerprint": "e" * 16,
        "before": {},
        "after": {},
        "changes": [
            {
                "field": "instructions",
                "before": "Be brief.\nBe kind.",
                "after": "Be brief.\nBe very kind.",
            },
            {"field": "temperature", "before": 1.0, "after": 0.2},
        ],
        "drift": True,
        "adopt": False,
        "refresh": False,
    }
    assert data["kept"] == [{"kind": "assistant", "key": "legacy", "remote_id": "asst_3"}]
    assert data["files"] == {"k/a.md": "1" * 16}
    assert list(data) == [
        "format_version",
        "project",
        "environment",
        "target",
        "summary",
        "actions",
        "kept",
        "refused",
        "files",
        "endpoint",
        "api",
        "lease_generation",
        "prune",
        "only",
        "mode",
        "replace",
        "lookalikes",
        "next_runs",  # plan --json's own: a saved plan has none
    ]


def test_json_round_trip() -> None:
    assert planfile.from_json(json.loads(render.to_json(PLAN))) == PLAN


def test_lookalikes_are_one_line_each_and_survive_a_round_trip() -> None:
    plan = Plan(
        "demo",
        None,
        "sandbox",
        lookalikes=(Lookalike("agent", "faq", "agent_9"), Lookalike("file", "k/a.md", "file-9")),
    )
    text = render.text(plan)
    assert text.splitlines()[2:6] == [
        "No changes. The remote side matches the specs.",
        render.LOOKALIKES + ":",
        "    agent faq (agent_9)",
        "    file k/a.md (file-9)",
    ]
    assert "agent `faq` (agent_9), file `k/a.md` (file-9)" in render.markdown(plan)
    assert planfile.from_json(json.loads(render.to_json(plan))) == plan
    damaged = plan.to_json() | {"lookalikes": [{"kind": "agent"}]}
    with pytest.raises(AsstDeployError, match=r"lookalikes\[0\]: expected an object"):
        planfile.from_json(damaged)


def test_unknown_format_version_is_refused() -> None:
    data = PLAN.to_json() | {"format_version": 99}
    with pytest.raises(
        AsstDeployError, match="format_version 99; this asst-deploy reads version 1"
    ):
        planfile.from_json(data)


def test_next_runs_are_worded_alike_in_text_and_markdown() -> None:
    from asst_deploy.plan import NextRun

    at = 1806123600  # 2027-03-27T05:00:00Z
    runs = [
        NextRun("automation", "a", "periodic", at, "Europe/Berlin", True, "0 6 * * *"),
        NextRun("automation", "b", "once", at, "UTC", True),
        NextRun("automation", "c", "periodic", None, "UTC", False, "0 0 31 2 *"),
    ]
    assert render.next_run_lines(runs) == [
        "automation a: paused; its next run once resumed would be Sat 2027-03-27 06:00 CET "
        "(Europe/Berlin; 2027-03-27T05:00:00Z)",
        "automation b: paused; its one run, once resumed: Sat 2027-03-27 05:00 UTC "
        "(2027-03-27T05:00:00Z)",
        "automation c: '0 0 31 2 *' never runs",
    ]
    shown = render.markdown(Plan(project="demo", environment=None, target="sandbox"), runs)
    assert shown.splitlines()[-4:] == [
        "**Next runs:**",
        *[f"- automation `{line[11]}`{line[12:]}" for line in render.next_run_lines(runs)],
    ]
    assert json.loads(render.to_json(PLAN, runs))["next_runs"][2] == {
        "kind": "automation",
        "key": "c",
        "type": "periodic",
        "expression": "0 0 31 2 *",
        "timezone": "UTC",
        "paused": False,
        "next_run": None,
        "local": None,
    }
    assert "next_runs" not in PLAN.to_json()  # a saved plan carries none
