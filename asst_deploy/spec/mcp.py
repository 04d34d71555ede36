"""An assistant's mcp tools: no credential in what a saved tool shows, and `credential:`
naming a credential of one of the project's vaults.

A saved agent tool is printed in plans, their JSON and Markdown (the PR comment), and
deployed as it is: a key or a token in its transport's headers (or its request_metadata)
would be all of those. The same patterns as the cassette scan (asst_deploy/secrets.py)
find them; the message names the header, never its value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asst_deploy import secrets
from asst_deploy.spec import schemacheck

if TYPE_CHECKING:
    from asst_deploy.spec.build import Builder
    from asst_deploy.yamlpos import Document
# header names that say their value is a credential, beyond secrets.SENSITIVE_HEADERS
_CREDENTIAL_NAME = re.compile(r"auth|token|secret|api[-_]?key|password|passwd|session", re.I)
_HINT = (
    "keep the secret in a vault credential (kind: vault, auth: {type: static_bearer, "
    "mcp_server_url: ..., token: {from_env: NAME}}) and name it on the tool with "
    "credential: <vault key>/<credential name>; then remove the {what}"
)


def credential_in(value: str, name: str = "") -> str | None:
    """What credential `value` (of header `name`) looks like, or None: an OpenAI key, a
    Bearer token, or any real value of a header whose name says it is a credential."""
    if secrets.API_KEY.search(value):
        return "an OpenAI API key (sk-...)"
    if any(not secrets.is_placeholder(m["token"]) for m in secrets.BEARER.finditer(value)):
        return "a Bearer token"
    named = name.lower() in secrets.SENSITIVE_HEADERS or _CREDENTIAL_NAME.search(name)
    if name and named and not secrets.is_placeholder(value):
        return "a credential"
    return None


def _label(tool: Mapping[str, Any], index: int) -> str:
    label = tool.get("server_label")
    return f"mcp tool '{label}'" if isinstance(label, str) else f"mcp tool {index}"


@dataclass(frozen=True)
class Vaults:
    """The vaults an environment deploys (keys), those its `exclude:` takes out, and their
    credentials as `<vault key>/<name>`."""

    keys: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()
    credentials: frozenset[str] = frozenset()


def check(builder: Builder, doc: Document, vaults: Vaults) -> None:
    """Add a located problem for each credential in an mcp tool's headers or
    request_metadata, and for each `credential:` no vault of the project has."""
    tools = doc.data.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else ()):
        if not isinstance(tool, dict) or tool.get("type") != "mcp":
            continue
        transport = tool.get("transport")
        headers = transport.get("headers") if isinstance(transport, dict) else None
        for name, value in (headers if isinstance(headers, dict) else {}).items():
            what = credential_in(value, str(name)) if isinstance(value, str) else None
            if what:
                builder.error(
                    doc,
                    ("tools", i, "transport", "headers", name),
                    f"header '{name}' of {_label(tool, i)} holds {what}: a saved tool is shown "
                    "in plans, their JSON and the PR comment, and deployed as it is",
                    _HINT.replace("{what}", "header"),
                )
        metadata = tool.get("request_metadata")
        for name, value in (metadata if isinstance(metadata, dict) else {}).items():
            what = credential_in(value) if isinstance(value, str) else None
            if what:
                builder.error(
                    doc,
                    ("tools", i, "request_metadata", name),
                    f"request_metadata '{name}' of {_label(tool, i)} holds {what}: a saved "
                    "tool is shown in plans, their JSON and the PR comment, and deployed as it is",
                    _HINT.replace("{what}", "entry"),
                )
        credential = tool.get("credential")
        if isinstance(credential, str):
            _reference(builder, doc, vaults, i, tool, credential)


def _reference(
    builder: Builder,
    doc: Document,
    known: Vaults,
    index: int,
    tool: Mapping[str, Any],
    credential: str,
) -> None:
    path = ("tools", index, "credential")
    if tool.get("credential_id") is not None:
        builder.error(
            doc,
            path,
            f"{_label(tool, index)} gives both credential and credential_id",
            "keep one: credential names one of the project's vault credentials",
        )
        return
    vault, _, name = credential.partition("/")
    vaults = sorted(known.keys)
    if vault in known.excluded:
        builder.error(
            doc,
            path,
            f"vault '{vault}' is excluded from this environment",
            f"exclude assistant '{doc.data.get('key')}' too, or keep the vault",
        )
    elif vault not in vaults:
        builder.error(
            doc,
            path,
            f"unknown vault '{vault}'",
            schemacheck.suggest(vault, vaults) if vaults else "declare it with 'kind: vault'",
        )
    elif credential not in known.credentials:
        names = sorted(p.partition("/")[2] for p in known.credentials if p.startswith(vault + "/"))
        builder.error(
            doc,
            path,
            f"vault '{vault}' has no credential '{name}'",
            schemacheck.suggest(name, names) if names else f"vault '{vault}' has no credentials",
        )
