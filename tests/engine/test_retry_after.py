"""The retry loop's wait reads every form of Retry-After the SDK reads."""

from __future__ import annotations

import email.utils

import httpx2 as httpx
import openai
import pytest

from asst_deploy.backend import RemoteError
from asst_deploy.generations.sdk.openai_backend import _retry_after, translated

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # milliseconds win
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
        ({"retry-after": email.utils.formatdate(NOW + 7, usegmt=True)}, 7.0),
        ({"retry-after": email.utils.formatdate(NOW - 60, usegmt=True)}, 0.0),  # past: now
        ({"retry-after": "nan"}, None),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "whenever"}, None),
        ({}, None),
    ],
)
def test_each_form(headers: dict[str, str], wait: float | None) -> None:
    assert _retry_after(headers, now=lambda: NOW) == wait


def test_an_sdk_error_carries_the_wait_in_milliseconds() -> None:
    request = httpx.Request("POST", "http://127.0.0.1/v1/assistants")
    response = httpx.Response(429, headers={"Retry-After-Ms": "1200"}, request=request)
    with pytest.raises(RemoteError) as info, translated("creating assistant 'bot'"):
        raise openai.RateLimitError("slow down", response=response, body=None)
    assert info.value.retryable and info.value.retry_after == 1.2
