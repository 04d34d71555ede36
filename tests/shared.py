"""../shared, beside the repository: where it is absent, a test that needs it skips on a
user's clone and fails in CI (CI=true), where its absence is a broken checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "openai"
OPENAPI = SHARED / "openapi.yaml"
RECORDINGS = SHARED / "recordings"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(path: Path, what: str) -> None:
    """Skip (outside CI) or fail (in CI) the test now unless `path` exists."""
    if path.exists():
        return
    reason = f"{what} is absent: no {path} (../shared/openai is not beside this checkout)"
    if in_ci():
        pytest.fail(reason + "; CI runs with ../shared, so this checkout is broken")
    pytest.skip(reason)
