"""Errors the sandbox answers with, in the real service's body shape and wording."""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """Raised by a handler; the app turns it into {"error": {message, type, param, code}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def not_found(what: str, id: str) -> APIError:
    """404 as the real service words it: "No assistant found with id 'asst_x'."."""
    return APIError(404, f"No {what} found with id '{id}'.")


def invalid_type(param: str, expected: str, got: str) -> APIError:
    return APIError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {got} instead.",
        param=param,
        code="invalid_type",
    )
