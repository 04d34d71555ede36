"""The Responses adapter: the files and vector stores all generations share, and nothing
else (a request template lives in the team's own code, asst_deploy.runtime)."""

from __future__ import annotations

from asst_deploy.generations.sdk.openai_backend import OpenAIBackend


class ResponsesBackend(OpenAIBackend):
    """The shared backend as it is: its collections are the files and vector stores."""
