"""The backend's Assistants calls skip `client.beta` yet answer as the typed SDK does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest

from asst_deploy.backend import RemoteError
from asst_deploy.generations.agents.backend import AgentsBackend
from asst_deploy.generations.assistants.backend import AssistantsBackend
from asst_deploy.generations.sdk import wire

REPO = Path(__file__).resolve().parents[2]

PAYLOAD: dict[str, Any] = {
    "model": "gpt-4o",
    "name": "Light",
    "instructions": "Be brief.",
    "metadata": {"team": "x"},
    "temperature": 0.5,
    "tools": [
        {"type": "file_search", "file_search": {"max_num_results": 5}},
        {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {"type": "object", "properties": {}},
                "strict": False,
            },
        },
    ],
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
    },
}


def _wire(obj: Any) -> dict[str, Any]:
    data: dict[str, Any] = obj.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return data


AGENT = {
    "model": "gpt-4o-mini",
    "name": "Light",
    "instructions": "Be brief.",
    "tools": [{"type": "function", "name": "f", "description": "", "parameters": {}}],
    "metadata": {"team": "x"},
}
# (the light collection, the typed SDK resource it stands for, a create payload)
COLLECTIONS = {
    "assistants": (wire.assistants, lambda c: c.beta.assistants, PAYLOAD),
    "agents": (
        lambda c: AgentsBackend(c).collections["agent"].resource,
        lambda c: c.beta.agents,
        AGENT,
    ),
    "environment templates": (
        lambda c: AgentsBackend(c).collections["environment_template"].resource,
        lambda c: c.beta.agents.environments.templates,
        {"name": "Light", "packages": {"python": ["numpy"]}},
    ),
    "vector stores": (
        wire.vector_stores,
        lambda c: c.vector_stores,
        {
            "name": "Light",
            "metadata": {"team": "x"},
            "expires_after": {"anchor": "last_active_at", "days": 7},
        },
    ),
}


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_answers_hold_exactly_what_the_typed_models_read(
    client: openai.OpenAI, collection: str
) -> None:
    make_light, make_typed, payload = COLLECTIONS[collection]
    light, typed_resource = make_light(client), make_typed(client)
    created = light.create(**payload)
    typed = typed_resource.retrieve(created.id)
    assert _wire(created) == _wire(typed)
    assert _wire(light.retrieve(created.id)) == _wire(typed)
    updated = light.update(created.id, name="Renamed")
    assert _wire(updated) == _wire(typed_resource.retrieve(created.id))
    assert updated.name == "Renamed"  # type: ignore[attr-defined]
    listed = light.list(limit=100, order="asc")
    assert created.id in [a.id for a in listed.data]
    assert listed.has_more is False
    light.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        light.retrieve(created.id)


def test_the_backend_keeps_its_errors_and_lookups(client: openai.OpenAI) -> None:
    backend = AssistantsBackend(client)
    made = backend.create("assistant", PAYLOAD)
    assert backend.retrieve("assistant", made.id) == made
    backend.delete("assistant", made.id)
    assert backend.retrieve("assistant", made.id) is None
    with pytest.raises(RemoteError) as bad:
        backend.create("assistant", {"model": "gpt-4o", "temperature": 9})
    assert bad.value.status == 400
    with pytest.raises(ValueError, match="non-empty"):
        backend.collections["assistant"].resource.retrieve("")


@pytest.mark.parametrize("env", ["dev", "agents"])
def test_a_plan_loads_no_beta_resources(tmp_path: Path, env: str) -> None:
    probe = (
        "import json, sys\n"
        "from asst_deploy.cli import main\n"
        "try:\n"
        f"    main(['plan', {str(REPO / 'specs')!r}, '--env', {env!r}])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "beta = sorted(m for m in sys.modules if m.startswith('openai.resources.beta'))\n"
        "stores = sorted(m for m in sys.modules if m.startswith('openai.resources.vector_st'))\n"
        "print(json.dumps({'code': code, 'beta': beta, 'stores': stores}))\n"
    )
    specs = tmp_path / "specs"
    subprocess.run(["cp", "-r", str(REPO / "specs"), str(specs)], check=True)
    probe = probe.replace(repr(str(REPO / "specs")), repr(str(specs)))
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"code": 0, "beta": [], "stores": []}
