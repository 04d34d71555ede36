"""The Agents API adapter: agents and environment templates, besides the files and vector
stores all share. Every call sends `OpenAI-Beta: agents=v1`, as `client.beta.agents` does
(the wire module says why not through it); lists page forwards only, 100 at most a page."""

from __future__ import annotations

import openai

from asst_deploy.adapters.openai_backend import Collection, OpenAIBackend
from asst_deploy.adapters.wire import WireResource

BETA = "agents=v1"


class AgentsBackend(OpenAIBackend):
    def extra_collections(self, client: openai.OpenAI) -> list[Collection]:
        templates = "/agents/environments/templates"
        return [
            Collection(
                "environment_template",
                WireResource(client, templates, BETA, "environment_template_id"),
            ),
            Collection("agent", WireResource(client, "/agents", BETA, "agent_id")),
        ]
