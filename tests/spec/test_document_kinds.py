"""The spec's document kinds are a registry: a kind registered by this module alone is read,
checked against its schema, overridden and excluded per environment, and built."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from asst_deploy.errors import SpecError
from asst_deploy.spec import documents
from asst_deploy.spec.build import Builder
from asst_deploy.spec.documents import Context, DocumentKind, document_schema
from asst_deploy.spec.loader import load_project
from asst_deploy.yamlpos import Document


@dataclass(frozen=True)
class Note:
    key: str
    text: str
    mentions: tuple[str, ...]


def build_note(builder: Builder, doc: Document, context: Context) -> Note | None:
    # a reference to another kind's documents, checked the way assistants check stores
    for i, key in enumerate(doc.data.get("mentions", [])):
        if key not in context.declared["assistant"]:
            builder.error(doc, ("mentions", i), f"no assistant '{key}'", "name a deployed one")
            return None
    return Note(doc.data["key"], doc.data["text"], tuple(doc.data.get("mentions", [])))


NOTE = DocumentKind(
    name="note",
    section="notes",
    fields={"text": {"type": "string"}, "mentions": {"type": "array", "items": {"type": "string"}}},
    build=build_note,
)


@pytest.fixture
def notes() -> Iterator[DocumentKind]:
    documents.register(NOTE)
    try:
        yield NOTE
    finally:
        documents.unregister(NOTE.name)


def project(tmp_path: Path, extra: str = "") -> Path:
    files = {
        "asst-deploy.yaml": "project: notes\ndefaults: {model: gpt-4o-mini}\n" + extra,
        "assistants/bot.yaml": "kind: assistant\nkey: bot\n",
        "notes/hello.yaml": "kind: note\nkey: hello\ntext: Hello\nmentions: [bot]\n",
        "notes/other.yaml": "kind: note\nkey: other\ntext: Other\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_a_registered_kind_is_read_from_its_own_folder(tmp_path: Path, notes: DocumentKind) -> None:
    loaded = load_project(project(tmp_path))
    assert loaded.records["note"] == (
        Note("hello", "Hello", ("bot",)),
        Note("other", "Other", ()),
    )
    assert [a.key for a in loaded.assistants] == ["bot"]
    schema = document_schema()
    assert "note" in schema["$defs"] and "note" in schema["else"]["properties"]["kind"]["enum"]
    assert "notes" in schema["$defs"]["project_environment"]["properties"]["exclude"]["properties"]


def test_environments_override_and_exclude_it(tmp_path: Path, notes: DocumentKind) -> None:
    extra = (
        "environments:\n"
        "  loud:\n"
        "    overrides: {notes: {hello: {text: HELLO}}}\n"
        "    exclude: {notes: [other]}\n"
    )
    loaded = load_project(project(tmp_path, extra), "loud")
    assert loaded.records["note"] == (Note("hello", "HELLO", ("bot",)),)


def test_its_schema_and_its_build_report_located_problems(
    tmp_path: Path, notes: DocumentKind
) -> None:
    root = project(tmp_path, "environments:\n  typo:\n    exclude: {notes: [hallo]}\n")
    (root / "notes/bad.yaml").write_text("kind: note\nkey: bad\ntext: 3\nmentions: [nobody]\n")
    with pytest.raises(SpecError) as exc:
        load_project(root, "typo")
    messages = [f"{p.location.line}: {p.message}" for p in exc.value.problems]
    assert any("text" in m and "string" in m for m in messages), messages
    assert any("environment 'typo' excludes unknown note 'hallo'" in m for m in messages)


def test_unregistered_it_is_an_unknown_kind_again(tmp_path: Path) -> None:
    # its folder is no default include any more: name it
    with pytest.raises(SpecError) as exc:
        load_project(project(tmp_path, "include: [assistants/*.yaml, notes/*.yaml]\n"))
    assert any("unknown kind 'note'" in p.message for p in exc.value.problems)
    assert "note" not in document_schema()["$defs"]
