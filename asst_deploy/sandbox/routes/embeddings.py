"""`POST /embeddings`: deterministic vectors (asst_deploy/sandbox/embeddings.py) in the real
response shape, as floats or base64 (the SDK's default), with token usage."""

from __future__ import annotations

import base64
import struct
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asst_deploy import models as model_names
from asst_deploy.sandbox import embeddings
from asst_deploy.sandbox.apierrors import APIError
from asst_deploy.sandbox.app import json_body, sandbox_of
from asst_deploy.sandbox.model import tokens
from asst_deploy.sandbox.validation import Arr, ByType, Int, Obj, Str, validate

MAX_INPUTS = 2048  # the real service's limit on an input array
CREATE = Obj(
    {
        "model": Str(),
        "input": ByType(
            {str: Str(), list: Arr(Str(), min_items=1, max_items=MAX_INPUTS)},
            "a string or an array of strings",
        ),
        "encoding_format": Str(enum=["float", "base64"]),
        "dimensions": Int(min=1),
        "user": Str(),
    },
    required=["model", "input"],
)


def _encoded(values: list[float], encoding: str) -> Any:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")
    return values


async def create(request: Request) -> JSONResponse:
    sandbox_of(request)  # the app's checks (auth, faults) ran; nothing is stored
    body = validate(CREATE, await json_body(request))
    model = body["model"]
    size = model_names.EMBEDDING_MODELS.get(model)
    if size is None:
        raise APIError(
            400, model_names.not_found_message(model), param="model", code="model_not_found"
        )
    dimensions = body.get("dimensions")
    if dimensions is not None:
        if model == "text-embedding-ada-002":
            raise APIError(
                400,
                "This model does not support specifying dimensions.",
                param="dimensions",
                code="invalid_value",
            )
        if dimensions > size:
            raise APIError(
                400,
                f"Invalid 'dimensions': integer above maximum value. Expected a value <= {size}, "
                f"but got {dimensions} instead.",
                param="dimensions",
                code="integer_above_max_value",
            )
        size = dimensions
    texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
    for i, text in enumerate(texts):
        if not text:
            where = "input" if isinstance(body["input"], str) else f"input[{i}]"
            raise APIError(
                400,
                f"Invalid '{where}': empty string. Expected a non-empty string.",
                param=where,
                code="empty_string",
            )
    encoding = body.get("encoding_format") or "float"
    used = sum(tokens(t) for t in texts)
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": _encoded(embeddings.vector(text, size), encoding),
                }
                for i, text in enumerate(texts)
            ],
            "model": model,
            "usage": {"prompt_tokens": used, "total_tokens": used},
        }
    )


routes = [Route("/embeddings", create, methods=["POST"])]
