"""Hosted execution environments: one per hosted session, or prewarmed; their live files.

An environment is stored with its public info (the SDK's EnvironmentInfo: status, files,
plugins, skills) and, under private keys, its whole definition (write-only parts too:
env values, setup commands, blocked domains, inline bytes) and what a session attached to
it shows. Its live files (`/files`) start as its configured files; an upload replaces the
file at the same path. Nothing is provisioned: an environment is `ready` at once,
`connected` while a session uses it, `disconnected` once that session is deleted.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from asst_deploy.sandbox import agent_objects, filestore, skills
from asst_deploy.sandbox.apierrors import APIError, not_found
from asst_deploy.sandbox.app import Sandbox
from asst_deploy.sandbox.store import new_id

ENVIRONMENT = "agent.environment"
LIVE_FILE = "agent.environment.file"  # parent: the environment's id; id: the file's path
# What a hosted environment gets when its container size is not given (inferred: the
# SDK's EnvironmentParam says "Omission selects the medium tier"; kept as before).
CONTAINER_SIZE = "small"
WORKSPACE = "/workspace"


def file_size(sandbox: Sandbox, file_id: str, param: str) -> int:
    """A file's byte size, for mounting it into an environment; 404 when it is gone."""
    found = sandbox.store.get(filestore.KIND, file_id)
    if found is None:
        error = not_found("file", file_id)
        error.param = param
        raise error
    return int(found["bytes"])


def definition(
    sandbox: Sandbox,
    fields: Mapping[str, Any],
    base: Mapping[str, Any] | None,
    prefix: str,
) -> dict[str, Any]:
    """A hosted environment's full definition from request `fields` over a template's
    stored `base`; its files get environment-scoped ids. `prefix` leads error params
    ("environment.")."""
    found = agent_objects.hosted(fields, base, lambda f, p: file_size(sandbox, f, f"{prefix}{p}"))
    found.setdefault("desktop", None)
    for file in found["files"]:
        file["id"] = new_id("envfile")
    return found


def shown(
    sandbox: Sandbox, env_id: str, full: Mapping[str, Any], container_size: str, prefix: str
) -> dict[str, Any]:
    """The environment as a session shows it (the SDK's EnvironmentResourceOpenAIHosted);
    skill references resolve to the Skills API's versions where the sandbox holds them."""

    def resolve(skill_id: str, version: str | None, index: int) -> tuple[str, str, str] | None:
        param = f"{prefix}skills[{index}].version"
        return skills.resolve(sandbox.store, skill_id, version, param)

    out = {
        "id": env_id,
        "type": "openai_hosted",
        "container_size": container_size,
        **agent_objects.public(full),
    }
    out["skills"] = agent_objects.session_skills(full["skills"], resolve)
    return out


def register(
    sandbox: Sandbox,
    session_view: dict[str, Any],
    full: dict[str, Any],
    *,
    status: str,
    vault_ids: list[str],
    session_id: str | None = None,
) -> dict[str, Any]:
    """Store an environment (and its configured files as live files)."""
    env = {
        "id": session_view["id"],
        "object": "agent.environment",
        "type": "openai_hosted",
        "status": status,
        "files": copy.deepcopy(session_view["files"]),
        "plugins": copy.deepcopy(session_view["plugins"]),
        "skills": copy.deepcopy(session_view["skills"]),
        "_definition": full,
        "_session_view": session_view,
        "_vault_ids": vault_ids,
        "_session_id": session_id,
    }
    with sandbox.store.transaction():
        sandbox.store.insert(ENVIRONMENT, env)
        for file in session_view["files"]:
            put_file(sandbox, env["id"], file["path"], file["size_bytes"])
    return env


def view(env: Mapping[str, Any]) -> dict[str, Any]:
    """An environment as answered (the SDK's EnvironmentInfo)."""
    return {k: copy.deepcopy(v) for k, v in env.items() if not k.startswith("_")}


def get(sandbox: Sandbox, env_id: str, param: str | None = None) -> dict[str, Any]:
    found = sandbox.store.get(ENVIRONMENT, env_id)
    if found is None:
        error = not_found("environment", env_id)
        error.param = param
        raise error
    return found


def attach(sandbox: Sandbox, env_id: str, session_id: str, param: str) -> dict[str, Any]:
    """A ready (prewarmed) environment taken by a new session: what the session shows."""
    env = get(sandbox, env_id, param)
    if env["status"] != "ready":
        raise APIError(
            409,
            f"Environment {env_id} is {env['status']}; only a ready environment can be "
            "attached to a new session.",
            param=param,
            code="environment_unavailable",
        )
    env.update(status="connected", _session_id=session_id)
    sandbox.store.put(ENVIRONMENT, env)
    return copy.deepcopy(env["_session_view"])


def detach(sandbox: Sandbox, env_id: str) -> None:
    """The session using the environment is gone."""
    env = sandbox.store.get(ENVIRONMENT, env_id)
    if env is not None:
        env.update(status="disconnected", _session_id=None)
        sandbox.store.put(ENVIRONMENT, env)


def check_path(path: str, param: str) -> str:
    """ "The absolute destination path inside `/workspace`": no empty, dot or parent parts."""
    parts = path.split("/")[1:]
    if not path.startswith(WORKSPACE + "/") or "\x00" in path or "\\" in path:
        raise APIError(
            400,
            f"Invalid '{param}': expected an absolute path inside {WORKSPACE}, got '{path}'.",
            param=param,
            code="invalid_value",
        )
    if any(part in ("", ".", "..") for part in parts):
        raise APIError(
            400,
            f"Invalid '{param}': the path has an empty, '.' or '..' component.",
            param=param,
            code="invalid_value",
        )
    return path


def put_file(sandbox: Sandbox, env_id: str, path: str, size: int) -> dict[str, Any]:
    """Create or replace the live file at `path`."""
    file = {
        "id": path,
        "object": "agent.environment.file",
        "environment_id": env_id,
        "path": path,
        "size_bytes": size,
    }
    with sandbox.store.transaction():
        if sandbox.store.get(LIVE_FILE, path, parent=env_id) is None:
            sandbox.store.insert(LIVE_FILE, file, parent=env_id)
        else:
            sandbox.store.put(LIVE_FILE, file, parent=env_id)
    return {k: v for k, v in file.items() if k != "id"}
