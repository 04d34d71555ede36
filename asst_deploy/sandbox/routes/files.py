"""/files: multipart upload, list (purpose filter, up to 10000), retrieve, delete, content."""

from __future__ import annotations

import re

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from asst_deploy.sandbox.apierrors import APIError, invalid_type
from asst_deploy.sandbox.app import sandbox_of
from asst_deploy.sandbox.filestore import KIND, create_file, delete_file, file_content, get_file
from asst_deploy.sandbox.routes.common import path_param, store_listing
from asst_deploy.sandbox.validation import Int, Str, limit_error, missing, unknown

UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
# Purposes the real service refuses to hand back (the model's inputs stay private).
NOT_DOWNLOADABLE = frozenset({"assistants"})
_FIELDS = ("file", "purpose", "expires_after[anchor]", "expires_after[seconds]")


async def create(request: Request) -> JSONResponse:
    sandbox = sandbox_of(request)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise APIError(
            400,
            f"Invalid Content-Type header ({content_type or 'none'}), "
            "expected multipart/form-data.",
        )
    async with request.form(max_files=1, max_fields=16) as form:
        for name in form:
            if name not in _FIELDS:
                raise unknown(name)
        for name in ("file", "purpose"):
            if name not in form:
                raise missing(name)
        upload = form["file"]
        if not isinstance(upload, UploadFile):
            raise invalid_type("file", "a file", "a string")
        purpose = Str(enum=UPLOAD_PURPOSES).check(form["purpose"], "purpose")
        expires_at = _expiry(form.get("expires_after[anchor]"), form.get("expires_after[seconds]"))
        content = await upload.read()
        filename = upload.filename or "upload"
    if len(content) > sandbox.max_upload_bytes:
        raise APIError(
            413,
            f"File is too large: {len(content)} bytes, the maximum is {sandbox.max_upload_bytes}.",
            param="file",
        )
    now = int(sandbox.clock())
    obj = create_file(
        sandbox.store,
        filename=filename,
        content=content,
        purpose=purpose,
        created_at=now,
        expires_at=None if expires_at is None else now + expires_at,
    )
    return JSONResponse(obj)


_INTEGER = re.compile(r"-?[0-9]+")
_MIN_EXPIRY, _MAX_EXPIRY = 3600, 2_592_000  # an hour, 30 days: the real bounds


def _expiry(anchor: object, seconds: object) -> int | None:
    """Seconds until the upload expires (expires_after[anchor]=created_at, [seconds])."""
    if anchor is None and seconds is None:
        return None
    if anchor is None:
        raise missing("expires_after.anchor")
    if seconds is None:
        raise missing("expires_after.seconds")
    Str(enum=["created_at"]).check(anchor, "expires_after.anchor")
    text = str(seconds)
    if not _INTEGER.fullmatch(text):  # ASCII digits only: int() takes '²' and '٣' too
        raise invalid_type("expires_after.seconds", "an integer", "a string")
    bounds = Int(min=_MIN_EXPIRY, max=_MAX_EXPIRY)
    if len(text.lstrip("-")) > 18:
        # far out of range, and past what int() reads (4300 digits): said as it was sent
        above = not text.startswith("-")
        bound = _MAX_EXPIRY if above else _MIN_EXPIRY
        raise limit_error("expires_after.seconds", "integer", text, bound, above=above)
    value: int = bounds.check(int(text), "expires_after.seconds")
    return value


async def list_(request: Request) -> JSONResponse:
    purpose = request.query_params.get("purpose")
    return store_listing(
        request,
        KIND,
        where=(lambda f: bool(f["purpose"] == purpose)) if purpose else None,
        max_limit=10_000,
        default_limit=10_000,
    )


async def retrieve(request: Request) -> JSONResponse:
    return JSONResponse(get_file(sandbox_of(request).store, path_param(request, "file_id")))


async def delete(request: Request) -> JSONResponse:
    file_id = path_param(request, "file_id")
    delete_file(sandbox_of(request).store, file_id)
    # the real body lists its keys in this order
    return JSONResponse({"object": "file", "deleted": True, "id": file_id})


async def content(request: Request) -> Response:
    store = sandbox_of(request).store
    file_id = path_param(request, "file_id")
    purpose = get_file(store, file_id)["purpose"]
    if purpose in NOT_DOWNLOADABLE:
        raise APIError(400, f"Not allowed to download files of purpose: {purpose}.")
    return Response(file_content(store, file_id), media_type="application/octet-stream")


routes = [
    Route("/files", create, methods=["POST"]),
    Route("/files", list_, methods=["GET"]),
    Route("/files/{file_id}", retrieve, methods=["GET"]),
    Route("/files/{file_id}", delete, methods=["DELETE"]),
    Route("/files/{file_id}/content", content, methods=["GET"]),
]
