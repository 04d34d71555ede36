"""Vault credentials as one collection: /vaults/{vault_id}/credentials of every vault.

The engine addresses an object by its id alone; a credential's calls need its vault's id
too. Every credential read (listed, created, retrieved) teaches this resource its vault;
one it has not seen is looked for in every vault. A create and an update name the vault
in their payload (`vault_id`, as CredentialCreateParams' path parameter does).

A whole read lists the vaults twice over, side by side: as a collection of their own and
to find the credentials' lists; within `Vaults.shared()` each page is fetched once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from functools import partial
from typing import Any
from urllib.parse import quote

import openai

from asst_deploy.backend import RemoteError
from asst_deploy.generations.sdk.wire import WireItem, WireObject, WirePage, WireResource

PAGE = 100  # "Values are clamped between 1 and 100"


class _Page:
    """One page of a shared listing: fetched by whoever asks first, the others wait."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.page: WirePage | None = None


class Vaults:
    """The vaults' collection (/vaults), whose list pages can be shared by the readers of
    one read of the target."""

    def __init__(self, resource: WireResource) -> None:
        self._resource = resource
        self._lock = threading.Lock()
        self._pages: dict[tuple[tuple[str, Any], ...], _Page] | None = None

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Within: a page asked for again (the same query) is the one already fetched. A
        failed fetch is not kept: the next reader (or its retry) asks again."""
        self._pages = {}
        try:
            yield
        finally:
            self._pages = None

    def list(self, **query: Any) -> WirePage:
        pages = self._pages
        if pages is None:
            return self._resource.list(**query)
        with self._lock:
            entry = pages.setdefault(tuple(sorted(query.items())), _Page())
        with entry.lock:
            if entry.page is None:
                entry.page = self._resource.list(**query)
            return entry.page

    def create(self, **body: Any) -> WireObject:
        return self._resource.create(**body)

    def retrieve(self, object_id: str) -> WireObject:
        return self._resource.retrieve(object_id)

    def update(self, object_id: str, **body: Any) -> WireObject:
        return self._resource.update(object_id, **body)

    def delete(self, object_id: str) -> WireObject:
        return self._resource.delete(object_id)


class Credentials:
    """The credentials of every vault, with the calls of one collection."""

    def __init__(self, client: openai.OpenAI, beta: str) -> None:
        self._client = client
        self._beta = beta
        self.vaults = Vaults(WireResource(client, "/vaults", beta, "vault_id"))
        self._vault_of: dict[str, str] = {}  # credential id -> its vault's id

    def of(self, vault_id: str) -> WireResource:
        """The credentials collection of one vault."""
        if not vault_id:
            raise ValueError(f"Expected a non-empty value for `vault_id` but received {vault_id!r}")
        path = f"/vaults/{quote(vault_id, safe='')}/credentials"
        return WireResource(self._client, path, self._beta, "credential_id")

    def learn(self, data: dict[str, Any]) -> None:
        if data.get("id") and data.get("vault_id"):
            self._vault_of[str(data["id"])] = str(data["vault_id"])

    def list_in(self, vault_id: str, **query: Any) -> WirePage:
        """One page of one vault's credentials."""
        page = self.of(vault_id).list(**query)
        for item in page.data:
            self.learn(item.json)
        return page

    def _everywhere(self) -> Iterator[WireItem]:
        """Every credential of every vault, page by page (a look for one not seen yet)."""
        for vault in _all(self.vaults.list):
            yield from _all(partial(self.list_in, str(vault.id)))

    def _vault(self, credential_id: str, doing: str) -> str:
        if credential_id not in self._vault_of:
            for _ in self._everywhere():  # learns each one's vault
                if credential_id in self._vault_of:
                    break
        found = self._vault_of.get(credential_id)
        if found is None:
            raise RemoteError(doing, f"no vault holds credential {credential_id}", status=404)
        return found

    # ---- a collection's calls (openai_backend.Collection) ---------------------------

    def list(self, **query: Any) -> WirePage:
        """Every credential at once (one page: they are many vaults' lists)."""
        items = list(self._everywhere())
        items.sort(
            key=lambda i: int(i.json.get("created_at") or 0), reverse=query.get("order") == "desc"
        )
        return WirePage(items, False)

    def create(self, vault_id: str, **body: Any) -> WireObject:
        made = self.of(vault_id).create(**body)
        self.learn(made.model_dump())
        return made

    def retrieve(self, object_id: str) -> WireObject:
        found = self.of(self._vault(object_id, f"reading credential {object_id}")).retrieve(
            object_id
        )
        self.learn(found.model_dump())
        return found

    def update(self, object_id: str, vault_id: str | None = None, **body: Any) -> WireObject:
        vault_id = vault_id or self._vault(object_id, f"updating credential {object_id}")
        return self.of(vault_id).update(object_id, **body)

    def delete(self, object_id: str) -> WireObject:
        return self.of(self._vault(object_id, f"deleting credential {object_id}")).delete(object_id)


def _all(fetch: Any) -> Iterator[WireItem]:
    after: str | None = None
    while True:
        page: WirePage = fetch(limit=PAGE, order="asc", **({"after": after} if after else {}))
        yield from page.data
        if not page.has_more or not page.data:
            return
        after = str(page.data[-1].id)
