"""The Assistants v2 adapter: assistants, besides the files and vector stores all share."""

from __future__ import annotations

import openai

from asst_deploy.remote.assistants_api import Assistants
from asst_deploy.remote.openai_backend import Collection, OpenAIBackend


class AssistantsBackend(OpenAIBackend):
    def extra_collections(self, client: openai.OpenAI) -> list[Collection]:
        # not client.beta.assistants: see assistants_api
        return [Collection("assistant", Assistants(client))]
