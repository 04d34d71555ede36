"""Skills as one collection: /v1/skills through the SDK's `client.skills` (no beta header).

A skill's content is a zip uploaded as multipart: the engine's payload carries it base64
(kinds/skill.py builds it). An update is a new version made the default one: the version
upload, then the skill's default_version (the answer is the skill, as the engine reads
it). New tags alone (kinds/skill.py's tag_payload: `tag`) retag the default version's
files, downloaded, into a new version.
"""

from __future__ import annotations

import base64
from typing import Any

import openai

from asst_deploy.kinds import skill

_ZIP = "application/zip"


class Skills:
    """The calls the backend makes of the skills collection."""

    def __init__(self, client: openai.OpenAI) -> None:
        self._client = client

    @property
    def _api(self) -> Any:
        return self._client.skills

    def list(self, **query: Any) -> Any:
        return self._api.list(**query)

    def retrieve(self, skill_id: str) -> Any:
        return self._api.retrieve(skill_id)

    def delete(self, skill_id: str) -> Any:
        return self._api.delete(skill_id)

    def content(self, skill_id: str) -> bytes:
        """The default version's files, zipped."""
        return bytes(self._api.content.retrieve(skill_id).read())

    def create(self, *, filename: str, bundle: str) -> Any:
        return self._api.create(files=(filename, base64.b64decode(bundle), _ZIP))

    def update(
        self,
        skill_id: str,
        *,
        filename: str = "skill.zip",
        bundle: str | None = None,
        tag: str | None = None,
    ) -> Any:
        if bundle is not None:
            archive = base64.b64decode(bundle)
        else:
            current = self._api.content.retrieve(skill_id).read()
            archive = skill.retag(current, str(tag))
        version = self._api.versions.create(skill_id, files=(filename, archive, _ZIP))
        return self._api.update(skill_id, default_version=version.version)
