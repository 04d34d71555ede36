"""Start-up cost is a feature: `asst-deploy validate` never imports the network stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

NETWORK_MODULES = ("openai", "httpx2", "httpx", "starlette", "uvicorn")

# Runs the real entry point the console script calls, then reports what it imported.
SCRIPT = """
import json, sys
{preload}
from asst_deploy.cli import main
try:
    main(["validate", "specs"])
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "loaded": sorted(m for m in {modules!r} if m in sys.modules)}}))
"""


def run(preload: str = "") -> dict[str, object]:
    script = SCRIPT.format(preload=preload, modules=NETWORK_MODULES)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return report


def test_validate_leaves_the_network_stack_unimported() -> None:
    assert run() == {"code": 0, "loaded": []}


def test_the_check_sees_an_import_when_there_is_one() -> None:
    # the control: the same probe notices openai as soon as anything imports it
    assert "openai" in run(preload="import openai")["loaded"]  # type: ignore[operator]
