"""The Agents API adapter: agents and environment templates (client.beta.agents), besides
the files and vector stores all share. Every call sends `OpenAI-Beta: agents=v1` (the SDK
adds it); lists page forwards only, at most 100 a page."""

from __future__ import annotations

import openai

from asst_deploy.remote.openai_backend import Collection, OpenAIBackend


class AgentsBackend(OpenAIBackend):
    def extra_collections(self, client: openai.OpenAI) -> list[Collection]:
        agents = client.beta.agents
        return [
            Collection("environment_template", agents.environments.templates),
            Collection("agent", agents),
        ]
