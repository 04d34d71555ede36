"""The Assistants v2 adapter: assistants, besides the files and vector stores all share."""

from __future__ import annotations

import openai

from asst_deploy.generations.sdk import wire
from asst_deploy.generations.sdk.openai_backend import Collection, OpenAIBackend


class AssistantsBackend(OpenAIBackend):
    def extra_collections(self, client: openai.OpenAI) -> list[Collection]:
        return [Collection("assistant", wire.assistants(client))]  # not client.beta: see wire
