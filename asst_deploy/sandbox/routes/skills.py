"""/skills: upload (multipart: one zip, or a directory's files), versions, default, content.

Like the real service, no beta header is asked for here (the SDK sends none).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from asst_deploy.sandbox.apierrors import APIError, invalid_type, not_found
from asst_deploy.sandbox.app import Sandbox, json_body, sandbox_of
from asst_deploy.sandbox.routes.common import deleted, fetch, path_param, store_listing
from asst_deploy.sandbox.skills import (
    MAX_FILES,
    SKILL,
    VERSION,
    Bundle,
    bundle,
    find_version,
    versions,
)
from asst_deploy.sandbox.store import new_id
from asst_deploy.sandbox.validation import Obj, Str, unknown, validate

_LIST_PARAMS = ("after", "limit", "order")
UPDATE = Obj({"default_version": Str()}, required=["default_version"])


async def _upload(request: Request, *, allow_default: bool) -> tuple[Bundle, bool]:
    """The uploaded bundle (fields `files` or `files[]`) and the `default` flag."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise APIError(
            400,
            f"Invalid Content-Type header ({content_type or 'none'}), "
            "expected multipart/form-data.",
        )
    fields = ("files", "files[]", "default") if allow_default else ("files", "files[]")
    uploads: list[tuple[str, bytes]] = []
    default = False
    async with request.form(max_files=MAX_FILES, max_fields=16) as form:
        for name, value in form.multi_items():
            if name not in fields:
                raise unknown(name)
            if name == "default":
                if not isinstance(value, str) or value.lower() not in ("true", "false"):
                    raise invalid_type("default", "a boolean", "a string")
                default = value.lower() == "true"
                continue
            if not isinstance(value, UploadFile):
                raise invalid_type(name, "a file", "a string")
            uploads.append((value.filename or "upload", await value.read()))
    return bundle(uploads), default


def _skill(sandbox: Sandbox, request: Request) -> dict[str, Any]:
    return fetch(sandbox.store, SKILL, path_param(request, "skill_id"), "skill")


def _version(sandbox: Sandbox, request: Request) -> dict[str, Any]:
    skill = _skill(sandbox, request)
    number = path_param(request, "version")
    found = find_version(sandbox.store, skill["id"], number)
    if found is None:
        raise not_found("skill version", number)
    return found


def _add_version(sandbox: Sandbox, skill_id: str, found: Bundle, number: int) -> dict[str, Any]:
    version: dict[str, Any] = {
        "id": new_id("skillver"),
        "object": "skill.version",
        "skill_id": skill_id,
        "version": str(number),
        "created_at": int(sandbox.clock()),
        "name": found.name,
        "description": found.description,
    }
    sandbox.store.put_blob(version["id"], found.archive)
    return sandbox.store.insert(VERSION, version, parent=skill_id)


def _refresh(sandbox: Sandbox, skill: dict[str, Any]) -> dict[str, Any]:
    """The skill with latest_version, and name and description of its default version."""
    numbers = [int(v["version"]) for v in versions(sandbox.store, skill["id"])]
    skill["latest_version"] = str(max(numbers))
    default = find_version(sandbox.store, skill["id"], skill["default_version"])
    assert default is not None
    skill.update(name=default["name"], description=default["description"])
    return sandbox.store.put(SKILL, skill)


async def create(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    found, _ = await _upload(request, allow_default=False)
    skill: dict[str, Any] = {
        "id": new_id("skill"),
        "object": "skill",
        "created_at": int(sandbox.clock()),
        "name": found.name,
        "description": found.description,
        "default_version": "1",
        "latest_version": "1",
        "next_version": 2,  # versions are never renumbered, even after a delete
    }
    with sandbox.store.transaction():
        sandbox.store.insert(SKILL, skill)
        _add_version(sandbox, skill["id"], found, 1)
    return JSONResponse(view(skill))


def view(skill: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in skill.items() if k != "next_version"}


def _check_query(request: Request) -> None:
    for key in request.query_params:
        if key not in _LIST_PARAMS:
            raise unknown(key)


async def list_(request: Request) -> JSONResponse:
    _check_query(request)
    return store_listing(request, SKILL, view=view)


async def retrieve(request: Request) -> JSONResponse:
    return JSONResponse(view(_skill(sandbox_of(request), request)))


async def update(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    skill = _skill(sandbox, request)
    body = validate(UPDATE, await json_body(request))
    wanted = body["default_version"]
    if find_version(sandbox.store, skill["id"], wanted) is None:
        error = not_found("skill version", wanted)
        error.param = "default_version"
        raise error
    skill["default_version"] = wanted
    return JSONResponse(view(_refresh(sandbox, skill)))


async def delete(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    skill = _skill(sandbox, request)
    with sandbox.store.transaction():
        for version in versions(sandbox.store, skill["id"]):
            sandbox.store.delete_blob(version["id"])
        sandbox.store.delete_children(skill["id"])
        sandbox.store.delete(SKILL, skill["id"])
    return deleted(skill["id"], "skill.deleted")


async def content(request: Request) -> Response:
    sandbox = sandbox_of(request)
    skill = _skill(sandbox, request)
    found = find_version(sandbox.store, skill["id"], skill["default_version"])
    assert found is not None
    return _zip_answer(sandbox, found)


def _zip_answer(sandbox: Sandbox, version: dict[str, Any]) -> Response:
    archive = sandbox.store.get_blob(version["id"]) or b""
    return Response(archive, media_type="application/zip")


async def create_version(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    skill = _skill(sandbox, request)
    found, make_default = await _upload(request, allow_default=True)
    with sandbox.store.transaction():
        number = int(skill.get("next_version", 2))
        skill["next_version"] = number + 1
        version = _add_version(sandbox, skill["id"], found, number)
        if make_default:
            skill["default_version"] = version["version"]
        _refresh(sandbox, skill)
    return JSONResponse(version)


async def list_versions(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    skill = _skill(sandbox, request)
    _check_query(request)
    return store_listing(request, VERSION, parent=skill["id"])


async def retrieve_version(request: Request) -> JSONResponse:
    return JSONResponse(_version(sandbox_of(request), request))


async def delete_version(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    skill = _skill(sandbox, request)
    version = _version(sandbox, request)
    if version["version"] == skill["default_version"]:
        raise APIError(
            400,
            f"Version {version['version']} is the default version of skill {skill['id']}; "
            "make another version the default first, or delete the skill.",
            param="version",
            code="invalid_request_error",
        )
    with sandbox.store.transaction():
        sandbox.store.delete(VERSION, version["id"], parent=skill["id"])
        sandbox.store.delete_blob(version["id"])
        _refresh(sandbox, skill)
    return JSONResponse(
        {
            "id": version["id"],
            "object": "skill.version.deleted",
            "deleted": True,
            "version": version["version"],
        }
    )


async def version_content(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return _zip_answer(sandbox, _version(sandbox, request))


routes = [
    Route("/skills", create, methods=["POST"]),
    Route("/skills", list_, methods=["GET"]),
    Route("/skills/{skill_id}", retrieve, methods=["GET"]),
    Route("/skills/{skill_id}", update, methods=["POST"]),
    Route("/skills/{skill_id}", delete, methods=["DELETE"]),
    Route("/skills/{skill_id}/content", content, methods=["GET"]),
    Route("/skills/{skill_id}/versions", create_version, methods=["POST"]),
    Route("/skills/{skill_id}/versions", list_versions, methods=["GET"]),
    Route("/skills/{skill_id}/versions/{version}", retrieve_version, methods=["GET"]),
    Route("/skills/{skill_id}/versions/{version}", delete_version, methods=["DELETE"]),
    Route("/skills/{skill_id}/versions/{version}/content", version_content, methods=["GET"]),
]
