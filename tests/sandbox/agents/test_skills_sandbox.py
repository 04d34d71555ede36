"""Skills through the SDK: zip or directory upload, versions, the default version, downloads."""

from __future__ import annotations

import io
import zipfile

import openai
import pytest

from asst_deploy.sandbox.server import SandboxServer


def manifest(name: str, description: str) -> bytes:
    return f"---\nname: {name}\ndescription: {description}\n---\n\n# {name}\n".encode()


def skill_zip(name: str, description: str, **files: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(f"{name}/SKILL.md", manifest(name, description))
        for path, content in files.items():
            archive.writestr(f"{name}/{path}", content)
    return out.getvalue()


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_upload_new_version_default_and_download_round_trip(client: openai.OpenAI) -> None:
    skills = client.skills
    first_zip = skill_zip("csv-tools", "Reads CSV files.", **{"run.py": b"print('v1')\n"})
    skill = skills.create(files=("csv-tools.zip", first_zip))
    assert skill.object == "skill" and skill.id.startswith("skill_")
    assert (skill.name, skill.description) == ("csv-tools", "Reads CSV files.")
    assert (skill.default_version, skill.latest_version) == ("1", "1")
    # a directory upload: several files, SKILL.md in their common folder
    second = skills.versions.create(
        skill.id,
        files=[
            ("csv-tools/SKILL.md", manifest("csv-tools", "Reads and writes CSV files.")),
            ("csv-tools/run.py", b"print('v2')\n"),
        ],
    )
    assert second.object == "skill.version" and second.skill_id == skill.id
    assert (second.version, second.description) == ("2", "Reads and writes CSV files.")
    kept = skills.retrieve(skill.id)
    assert (kept.default_version, kept.latest_version) == ("1", "2")
    assert kept.description == "Reads CSV files."  # the default version's
    assert skills.content.retrieve(skill.id).read() == first_zip  # the upload, byte for byte

    switched = skills.update(skill.id, default_version="2")
    assert (switched.default_version, switched.description) == ("2", "Reads and writes CSV files.")
    assert unzip(skills.content.retrieve(skill.id).read()) == {
        "csv-tools/SKILL.md": manifest("csv-tools", "Reads and writes CSV files."),
        "csv-tools/run.py": b"print('v2')\n",
    }
    assert skills.versions.content.retrieve("1", skill_id=skill.id).read() == first_zip
    third = skills.versions.create(
        skill.id, files=("v3.zip", skill_zip("csv-tools", "Third.")), default=True
    )
    assert skills.retrieve(skill.id).default_version == third.version == "3"
    with pytest.raises(openai.NotFoundError) as caught:
        skills.update(skill.id, default_version="9")
    assert caught.value.body["param"] == "default_version"  # type: ignore[index]

    page = skills.versions.list(skill.id, limit=2)
    assert [v.version for v in page.data] == ["3", "2"] and page.has_more
    assert [v.version for v in skills.versions.list(skill.id, order="asc", limit=1)] == [
        "1",
        "2",
        "3",
    ]
    assert skills.versions.retrieve("2", skill_id=skill.id) == second
    with pytest.raises(openai.BadRequestError):  # the default version stays
        skills.versions.delete("3", skill_id=skill.id)
    gone = skills.versions.delete("2", skill_id=skill.id)
    assert (gone.id, gone.object, gone.deleted, gone.version) == (
        second.id,
        "skill.version.deleted",
        True,
        "2",
    )
    with pytest.raises(openai.NotFoundError):
        skills.versions.retrieve("2", skill_id=skill.id)
    skills.update(skill.id, default_version="1")
    skills.versions.delete("3", skill_id=skill.id)
    assert skills.retrieve(skill.id).latest_version == "1"
    fourth = skills.versions.create(skill.id, files=("v.zip", skill_zip("csv-tools", "Fourth.")))
    assert fourth.version == "4"  # numbers are never reused
    deleted = skills.delete(skill.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (skill.id, "skill.deleted", True)
    with pytest.raises(openai.NotFoundError):
        skills.retrieve(skill.id)
    with pytest.raises(openai.NotFoundError):
        skills.content.retrieve(skill.id)


def test_skill_pages(client: openai.OpenAI) -> None:
    made = [
        client.skills.create(files=("s.zip", skill_zip(f"skill-{i}", "A skill."))) for i in range(3)
    ]
    page = client.skills.list(limit=2)
    assert [s.id for s in page.data] == [made[2].id, made[1].id] and page.has_more
    assert client.skills.list(limit=2, after=page.data[-1].id).data[0].id == made[0].id
    for skill in made:
        client.skills.delete(skill.id)


def test_uploads_without_a_skill_are_refused(client: openai.OpenAI) -> None:
    no_manifest = io.BytesIO()
    with zipfile.ZipFile(no_manifest, "w") as archive:
        archive.writestr("tool/README.md", "no manifest")
    bad = [
        ("tool.zip", no_manifest.getvalue()),
        [("tool/SKILL.md", b"# no front matter\n")],
        [("tool/SKILL.md", b"---\nname: tool\n---\n")],  # no description
        [("../SKILL.md", manifest("x", "y"))],
        [("a/SKILL.md", manifest("x", "y")), ("b/other.md", b"")],  # two top folders
        ("broken.zip", b"PK\x03\x04 not really a zip"),
    ]
    for files in bad:
        with pytest.raises(openai.BadRequestError) as caught:
            client.skills.create(files=files)  # type: ignore[arg-type]
        assert caught.value.body["param"] == "files", files  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as caught:
        client.skills.create()
    assert caught.value.status_code == 400


def test_skill_routes_ask_for_no_beta_header(client: openai.OpenAI, server: SandboxServer) -> None:
    start = server.log.total
    skill = client.skills.create(files=[("SKILL.md", manifest("flat", "At the root."))])
    assert skill.name == "flat"
    assert client.skills.retrieve(skill.id, extra_headers={"OpenAI-Beta": "nothing"}) == skill
    assert all(e.status == 200 for e in server.log.since(start))
    client.skills.delete(skill.id)


def test_a_hosted_session_installs_the_referenced_skill_version(client: openai.OpenAI) -> None:
    skill = client.skills.create(files=("s.zip", skill_zip("pdf", "Reads PDFs.")))
    client.skills.versions.create(skill.id, files=("s.zip", skill_zip("pdf", "Reads PDFs well.")))
    session = client.beta.agents.sessions.create(
        agent={"model": "gpt-5"},
        environment={
            "type": "openai_hosted",
            "skills": [
                {"type": "skill_reference", "skill_id": skill.id},
                {"type": "skill_reference", "skill_id": skill.id, "version": "latest"},
                {"type": "skill_reference", "skill_id": skill.id, "version": "1"},
            ],
        },
    )
    environment = session.environment
    assert environment.type == "openai_hosted"
    installed = [(s.version, s.name, s.description) for s in environment.skills]  # type: ignore[union-attr]
    assert installed == [
        ("1", "pdf", "Reads PDFs."),  # the default version
        ("2", "pdf", "Reads PDFs well."),
        ("1", "pdf", "Reads PDFs."),
    ]
    with pytest.raises(openai.NotFoundError) as caught:
        client.beta.agents.sessions.create(
            agent={"model": "gpt-5"},
            environment={
                "type": "openai_hosted",
                "skills": [{"type": "skill_reference", "skill_id": skill.id, "version": "7"}],
            },
        )
    assert caught.value.body["param"] == "environment.skills[0].version"  # type: ignore[index]
    client.beta.agents.sessions.delete(session.id)
    client.skills.delete(skill.id)
