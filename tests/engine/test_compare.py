"""Two-state compare tests: a desired Project and a hand-built RemoteState give exact actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asst_deploy import identity
from asst_deploy.desired import (
    AssistantSpec,
    FileRef,
    Project,
    Target,
    VectorStoreFile,
    VectorStoreSpec,
)
from asst_deploy.engine.compare import compare
from asst_deploy.errors import Location
from asst_deploy.kinds import assistant as assistant_kind
from asst_deploy.kinds import vector_store as store_kind
from asst_deploy.plan import Create, Delete, FieldChange, Keep, Replace, Update
from asst_deploy.state import RemoteFile, RemoteObject, RemoteState

P = "proj"
HERE = Location("spec.yaml", 1, 1)
DOC = FileRef("k/doc.md", Path("/nowhere/k/doc.md"), 10)
SHAS = {"k/doc.md": "a" * 16}
CHUNK = {"type": "static", "static": {"max_chunk_size_tokens": 500, "chunk_overlap_tokens": 50}}


def state(
    assistants: tuple[RemoteObject, ...] = (),
    vector_stores: tuple[RemoteObject, ...] = (),
    files: tuple[RemoteFile, ...] = (),
) -> RemoteState:
    return RemoteState(
        objects={"vector_store": vector_stores, "assistant": assistants}, files=files
    )


def project(*resources: AssistantSpec | VectorStoreSpec) -> Project:
    return Project(
        name=P,
        root=Path("/nowhere"),
        environment=None,
        target=Target("sandbox", "sandbox"),
        records={
            "assistant": tuple(r for r in resources if isinstance(r, AssistantSpec)),
            "vector_store": tuple(r for r in resources if isinstance(r, VectorStoreSpec)),
        },
    )


def bot(**fields: Any) -> AssistantSpec:
    return AssistantSpec(**{"key": "bot", "model": "gpt-4o", "location": HERE, **fields})


def store(**fields: Any) -> VectorStoreSpec:
    return VectorStoreSpec(
        **{
            "key": "kb",
            "location": HERE,
            "name": "KB",
            "files": (VectorStoreFile(DOC, {"lang": "en"}),),
            "chunking_strategy": CHUNK,
            **fields,
        }
    )


def live_assistant(
    spec: AssistantSpec, id: str = "asst_1", project_: str = P, stamp: bool = True, **data: Any
) -> RemoteObject:
    """An assistant as the API returns it after apply (server defaults filled in)."""
    wanted = assistant_kind.from_spec(spec, SHAS)
    obj = {
        "id": id,
        "object": "assistant",
        "name": spec.name,
        "description": spec.description,
        "model": spec.model,
        "instructions": spec.instructions,
        "tools": wanted["tools"],
        "tool_resources": {},
        "metadata": {
            **spec.metadata,
            **(identity.stamp(project_, spec.key, wanted) if stamp else {}),
        },
        "temperature": 1.0 if spec.temperature is None else spec.temperature,
        "top_p": 1.0 if spec.top_p is None else spec.top_p,
        "response_format": "auto",
        "reasoning_effort": None,
    }
    obj.update(data)
    return RemoteObject("assistant", id, obj)


def live_file(sha: str = "a" * 16, id: str = "file-1", path: str = "k/doc.md") -> RemoteFile:
    return RemoteFile(id, identity.file_name(P, sha, path), 10, "assistants")


def live_store(
    spec: VectorStoreSpec, id: str = "vs_1", file_id: str = "file-1", **data: Any
) -> RemoteObject:
    wanted = store_kind.from_spec(spec, SHAS)
    obj = {
        "id": id,
        "object": "vector_store",
        "name": spec.name,
        "metadata": identity.stamp(P, spec.key, wanted),
        "expires_after": None,
        **data,
    }
    files = (
        {
            "id": file_id,
            "status": "completed",
            "attributes": {"lang": "en"},
            "chunking_strategy": CHUNK,
        },
    )
    return RemoteObject("vector_store", id, obj, files)


def plan_of(
    project_: Project, remote: RemoteState, prune: bool = False
) -> list[tuple[str, str, str, str | None]]:
    plan = compare(project_, remote, SHAS, prune=prune)
    return [(a.verb, a.kind, a.key, a.remote_id) for a in plan.actions]


def test_nothing_remote_creates_in_dependency_order() -> None:
    plan = compare(project(bot(), store()), state(), SHAS)
    assert [type(a) for a in plan.actions] == [Create, Create, Create]
    assert [(a.kind, a.key) for a in plan.actions] == [
        ("file", "k/doc.md"),
        ("vector_store", "kb"),
        ("assistant", "bot"),
    ]
    assert plan.actions[0].after == {"path": "k/doc.md", "sha": "a" * 16, "bytes": 10}  # type: ignore[attr-defined]


def test_matching_state_gives_an_empty_plan() -> None:
    spec = bot(name="Bot")
    remote = state(assistants=(live_assistant(spec),))
    assert compare(project(spec), remote, SHAS).empty


def test_update_carries_exact_field_changes() -> None:
    remote = state(assistants=(live_assistant(bot(name="Bot", temperature=0.5)),))
    wanted = bot(name="Robot", instructions="Hi", temperature=0.5)
    (action,) = compare(project(wanted), remote, SHAS).actions
    assert isinstance(action, Update)
    assert action.changes == (
        FieldChange("instructions", None, "Hi"),
        FieldChange("name", "Bot", "Robot"),
    )
    assert action.remote_id == "asst_1" and not action.drift
    assert action.fingerprint == identity.canonical_hash(action.before)


def test_drift_when_the_live_object_no_longer_matches_its_stamp() -> None:
    spec = bot(name="Bot")
    edited = live_assistant(spec, name="Edited by hand")
    (action,) = compare(project(spec), state(assistants=(edited,)), SHAS).actions
    assert isinstance(action, Update) and action.drift
    assert action.changes == (FieldChange("name", "Edited by hand", "Bot"),)


def test_chunking_change_replaces_the_store() -> None:
    old = store()
    new = store(
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 900, "chunk_overlap_tokens": 50},
        }
    )
    remote = state(vector_stores=(live_store(old),), files=(live_file(),))
    (action,) = compare(project(new), remote, SHAS).actions
    assert isinstance(action, Replace)
    assert (action.kind, action.key, action.remote_id) == ("vector_store", "kb", "vs_1")
    assert [c.field for c in action.changes] == ["chunking_strategy"]
    assert action.reason == "chunking_strategy cannot be changed in place"


def test_protected_store_refuses_replacement() -> None:
    new = store(protect=True, chunking_strategy={"type": "auto"})
    remote = state(vector_stores=(live_store(store()),), files=(live_file(),))
    plan = compare(project(new), remote, SHAS)
    assert plan.empty
    assert plan.refused == (
        "vector_store 'kb': replacing it (to change chunking_strategy) is refused: it is protected",
    )


def test_gone_objects_are_kept_without_prune_and_deleted_with_it() -> None:
    remote = state(
        assistants=(live_assistant(bot()),),
        vector_stores=(live_store(store()),),
        files=(live_file(),),
    )
    plan = compare(project(), remote, SHAS)
    assert plan.empty
    assert plan.kept == (
        Keep("file", "k/doc.md", "file-1"),
        Keep("vector_store", "kb", "vs_1"),
        Keep("assistant", "bot", "asst_1"),
    )
    assert plan_of(project(), remote, prune=True) == [
        ("delete", "file", "k/doc.md", "file-1"),
        ("delete", "vector_store", "kb", "vs_1"),
        ("delete", "assistant", "bot", "asst_1"),
    ]


def test_duplicates_from_an_interrupted_apply_are_deleted() -> None:
    files = (live_file(id="file-1"), live_file(id="file-2"))
    wanted = bot(name="Bot", code_interpreter_files=(DOC,))
    remote = state(
        assistants=(
            live_assistant(
                wanted, "asst_1", tool_resources={"code_interpreter": {"file_ids": ["file-2"]}}
            ),
            live_assistant(
                wanted, "asst_2", tool_resources={"code_interpreter": {"file_ids": ["file-2"]}}
            ),
        ),
        files=files,
    )
    # file-2 is the copy in use: file-1 goes; the second assistant goes, with --prune only
    assert plan_of(project(wanted), remote, prune=True) == [
        ("delete", "file", "k/doc.md", "file-1"),
        ("delete", "assistant", "bot", "asst_2"),
    ]
    plain = compare(project(wanted), remote, SHAS)
    assert plain.empty
    assert [(k.kind, k.remote_id) for k in plain.kept] == [
        ("file", "file-1"),
        ("assistant", "asst_2"),
    ]
    assert all("duplicate" in k.reason and "--prune" in k.reason for k in plain.kept)


def test_duplicate_matching_the_specs_is_the_one_kept() -> None:
    old, new = store(), store(chunking_strategy={"type": "auto"})
    remote = state(
        vector_stores=(live_store(old, "vs_old"), live_store(new, "vs_new")),
        files=(live_file(),),
    )
    # vs_new was made by an interrupted replace; its files report the new chunking
    remote = state(
        vector_stores=(
            remote.of("vector_store")[0],
            RemoteObject(
                "vector_store",
                "vs_new",
                remote.of("vector_store")[1].data,
                (
                    {
                        **remote.of("vector_store")[1].files[0],
                        "chunking_strategy": store_kind.AUTO_CHUNKING,
                    },
                ),
            ),
        ),
        files=remote.files,
    )
    assert plan_of(project(new), remote, prune=True) == [("delete", "vector_store", "kb", "vs_old")]


def test_other_projects_and_unmarked_objects_are_ignored() -> None:
    spec = bot(name="Bot")
    theirs = live_assistant(spec, "asst_theirs", project_="other")
    unmarked = live_assistant(spec, "asst_plain", stamp=False)
    key_only = live_assistant(spec, "asst_key", stamp=False, metadata={identity.SPEC_KEY: "bot"})
    files = (
        RemoteFile("file-o", identity.file_name("other", "a" * 16, "k/doc.md"), 10, "assistants"),
        RemoteFile("file-p", "doc.md", 10, "assistants"),
        RemoteFile("file-q", f"{P}~notahash~k%2Fdoc.md", 10, "assistants"),
    )
    remote = state(assistants=(theirs, unmarked, key_only), files=files)
    assert plan_of(project(spec), remote, prune=True) == [("create", "assistant", "bot", None)]
    assert plan_of(project(), remote, prune=True) == []


def test_file_content_change_is_a_replace_and_the_store_is_repointed() -> None:
    spec = store()
    remote = state(
        vector_stores=(live_store(spec, file_id="file-old"),),
        files=(live_file("b" * 16, "file-old"),),
    )
    plan = compare(project(spec), remote, SHAS)
    assert [(a.verb, a.kind, a.remote_id) for a in plan.actions] == [
        ("replace", "file", "file-old"),
        ("update", "vector_store", "vs_1"),
    ]
    replace = plan.actions[0]
    assert isinstance(replace, Replace)
    assert replace.changes == (FieldChange("sha", "b" * 16, "a" * 16),)
    assert replace.fingerprint == "b" * 16


def test_old_version_used_by_another_project_is_kept() -> None:
    spec = store()
    theirs = live_assistant(
        bot(key="x"),
        "asst_x",
        project_="other",
        tool_resources={"code_interpreter": {"file_ids": ["file-old"]}},
    )
    remote = state(
        assistants=(theirs,),
        vector_stores=(live_store(spec, file_id="file-old"),),
        files=(live_file("b" * 16, "file-old"),),
    )
    assert plan_of(project(spec), remote) == [
        ("create", "file", "k/doc.md", None),
        ("update", "vector_store", "kb", "vs_1"),
    ]


def test_unchanged_file_gives_nothing() -> None:
    spec = store()
    remote = state(vector_stores=(live_store(spec),), files=(live_file(),))
    assert compare(project(spec), remote, SHAS).empty


def test_plan_records_local_file_hashes() -> None:
    plan = compare(project(store()), state(), SHAS)
    assert plan.files == SHAS
    assert isinstance(plan.actions[-1], Create)


def test_deletes_of_old_versions_carry_their_hash_as_fingerprint() -> None:
    remote = state(files=(live_file("b" * 16, "file-old"), live_file("a" * 16, "file-new")))
    plan = compare(project(store()), remote, SHAS, prune=True)
    deletes = [a for a in plan.actions if isinstance(a, Delete)]
    assert [(d.remote_id, d.fingerprint) for d in deletes] == [("file-old", "b" * 16)]
