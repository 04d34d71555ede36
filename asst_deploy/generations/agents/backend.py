"""The Agents API adapter: agents, environment templates, vaults and their credentials,
and skills, besides the files and vector stores all share. Every call but the skills'
sends `OpenAI-Beta: agents=v1`, as `client.beta.agents` does (the wire module says why not
through it); lists page forwards only, 100 at most a page."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import openai

from asst_deploy import kinds
from asst_deploy.backend import PageRetry
from asst_deploy.generations.agents.skills import Skills
from asst_deploy.generations.agents.vaults import PAGE, Credentials
from asst_deploy.generations.sdk.openai_backend import (
    Collection,
    OpenAIBackend,
    _data,
    concurrently,
)
from asst_deploy.generations.sdk.wire import WireResource
from asst_deploy.state import RemoteFile, RemoteObject, RemoteState

BETA = "agents=v1"
CREDENTIAL = "vault_credential"
# vaults whose credential lists are read at once (each list is a chain of its own)
_VAULTS_AT_ONCE = 8


class AgentsBackend(OpenAIBackend):
    def extra_collections(self, client: openai.OpenAI) -> list[Collection]:
        templates = "/agents/environments/templates"
        self.credentials = Credentials(client, BETA)
        return [
            Collection("skill", Skills(client), page=PAGE),
            Collection(
                "environment_template",
                WireResource(client, templates, BETA, "environment_template_id"),
            ),
            Collection("vault", self.credentials.vaults),
            Collection(CREDENTIAL, self.credentials),
            Collection("agent", WireResource(client, "/agents", BETA, "agent_id")),
            Collection(
                "automation",
                WireResource(client, "/agents/automations", BETA, "automation_id"),
            ),
        ]

    def _credentials(self, retry: PageRetry | None) -> list[RemoteObject]:
        """Every vault's credentials: the vaults' list, then theirs side by side, each page
        retried on its own."""
        vaults = self._list("listing vaults", self.credentials.vaults.list, PAGE, retry)
        lists = concurrently(
            [
                partial(
                    self._list,
                    f"listing credentials of vault {v.id}",
                    partial(self.credentials.list_in, str(v.id)),
                    PAGE,
                    retry,
                )
                for v in vaults
            ],
            _VAULTS_AT_ONCE,
        )
        kind = kinds.get(CREDENTIAL)
        return [
            RemoteObject(CREDENTIAL, str(data["id"]), data, (), kind.tags(data))
            for items in lists
            for data in (_data(item) for item in items)
        ]

    def read_state(self, retry: PageRetry | None = None, **options: Any) -> RemoteState:
        with self.credentials.vaults.shared():  # the vaults' pages, listed once
            return super().read_state(retry, **options)

    def _read_collection(
        self, collection: Collection, retry: PageRetry | None
    ) -> tuple[tuple[RemoteObject, ...], list[RemoteObject]]:
        if collection.kind != CREDENTIAL:
            return super()._read_collection(collection, retry)
        return tuple(self._credentials(retry)), []

    def list_newest(
        self, kind: str, retry: PageRetry | None = None
    ) -> Iterator[RemoteObject | RemoteFile]:
        if kind != CREDENTIAL:
            yield from super().list_newest(kind, retry)
            return
        found = self._credentials(retry)
        yield from sorted(found, key=lambda o: (o.created_at, o.id), reverse=True)
