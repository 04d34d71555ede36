"""asst_deploy.runtime: loading without the network, ids listed once, errors that say
what to do, and an application talking to the sandbox with what it returns."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from asst_deploy import identity, runtime
from asst_deploy.errors import SpecError
from asst_deploy.generations.sdk.openai_backend import OpenAIBackend
from asst_deploy.request_template import NotDeployed
from asst_deploy.sandbox.model import ScriptedModel
from asst_deploy.sandbox.server import SandboxServer
from asst_deploy.state import RemoteFile, RemoteObject

REPO = Path(__file__).resolve().parents[2]
NETWORK_MODULES = ("openai", "httpx2", "httpx", "starlette", "uvicorn")


def test_loading_a_project_imports_no_network_module(spec_dir: Path) -> None:
    script = (
        "import json, sys\n"
        "from asst_deploy import runtime\n"
        f"assistants = runtime.load({str(spec_dir)!r}, 'prod')\n"
        "print(json.dumps({'keys': list(assistants.keys), 'loaded': "
        f"sorted(m for m in {NETWORK_MODULES!r} if m in sys.modules)}}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"keys": ["analyst", "helper", "thinker"], "loaded": []}


class CountingBackend:
    """What the runtime needs of a backend (list_newest), counting the listings."""

    def __init__(self, objects: dict[str, list[Any]]) -> None:
        self.objects = objects
        self.calls: list[str] = []

    def list_newest(self, kind: str, retry: Any = None) -> Iterator[Any]:
        self.calls.append(kind)
        yield from self.objects.get(kind, [])


def store(store_id: str, project: str, key: str, **extra: str) -> RemoteObject:
    metadata = {identity.PROJECT_KEY: project, identity.SPEC_KEY: key, **extra}
    return RemoteObject("vector_store", store_id, {"metadata": metadata})


def remote_file(file_id: str, project: str, root: Path, path: str, sha: str = "") -> RemoteFile:
    sha = sha or identity.file_sha(root / path)
    return RemoteFile(file_id, identity.file_name(project, sha, path), 1, "assistants")


def test_ids_are_listed_once_and_only_the_projects_newest_count(spec_dir: Path) -> None:
    backend = CountingBackend(
        {
            "vector_store": [
                store("vs_lease", "rt", "", **{identity.LEASE_KEY: "1"}),
                store("vs_other", "other", "docs"),
                store("vs_new", "rt", "docs"),
                store("vs_old", "rt", "docs"),
            ],
            "file": [
                remote_file("file-theirs", "other", spec_dir, "data/orders.csv"),
                remote_file("file-orders", "rt", spec_dir, "data/orders.csv"),
                remote_file("file-older", "rt", spec_dir, "data/orders.csv"),
            ],
        }
    )
    assistants = runtime.load(spec_dir, backend=backend)  # type: ignore[arg-type]
    first = assistants.request("analyst")
    assistants.request("helper")
    assert backend.calls == ["vector_store", "file"]
    tools = {t["type"]: t for t in first["tools"]}
    assert tools["file_search"]["vector_store_ids"] == ["vs_new"]
    assert tools["code_interpreter"]["container"]["file_ids"] == ["file-orders"]
    assistants.refresh()
    assistants.request("helper")
    assert backend.calls == ["vector_store", "file"] * 2


def test_an_unknown_key_lists_the_known_ones_and_lists_nothing(spec_dir: Path) -> None:
    backend = CountingBackend({})
    assistants = runtime.load(spec_dir, backend=backend)  # type: ignore[arg-type]
    with pytest.raises(runtime.UnknownAssistant) as caught:
        assistants.request("analist")
    assert str(caught.value) == (
        "project 'rt' has no assistant 'analist' (known: analyst, helper, thinker)"
    )
    assert backend.calls == []  # nothing listed for a key that cannot be answered
    assert assistants.request("thinker")["model"] == "o3-mini"
    assert backend.calls == []  # nor for an assistant with no vector store or file


def test_invalid_specs_say_what_and_where_in_the_error_itself(spec_dir: Path) -> None:
    thinker = spec_dir / "assistants/thinker.yaml"
    thinker.write_text(thinker.read_text().replace("reasoning_effort:", "reasoning_efort:"))
    with pytest.raises(SpecError) as caught:
        runtime.load(spec_dir)
    # an application logs str(exc): the count alone would hide which file to fix
    assert str(caught.value) == (
        "1 problem(s) in the specs:\n"
        f"  {thinker}:4:1: unknown key 'reasoning_efort' (did you mean 'reasoning_effort'?)"
    )


def test_what_is_not_deployed_says_which_apply_to_run(spec_dir: Path) -> None:
    stale = remote_file("file-stale", "rt", spec_dir, "data/orders.csv", sha="0" * 16)
    backend = CountingBackend({"vector_store": [store("vs_docs", "rt", "docs")], "file": [stale]})
    assistants = runtime.load(spec_dir, "prod", backend=backend)  # type: ignore[arg-type]
    assert assistants.request("helper")["tools"][0]["vector_store_ids"] == ["vs_docs"]
    with pytest.raises(NotDeployed) as caught:
        assistants.request("analyst")
    assert str(caught.value) == (
        "assistant 'analyst' uses file 'data/orders.csv', which is not deployed (it is "
        "deployed with other content than data/orders.csv has now; "
        f"run asst-deploy apply {spec_dir} --env prod)"
    )
    empty = runtime.load(spec_dir, backend=CountingBackend({}))  # type: ignore[arg-type]
    with pytest.raises(NotDeployed, match=r"vector store 'docs', which is not deployed \(run"):
        empty.request("helper")


# --- an application, end to end against the sandbox ----------------------------------------


@pytest.fixture
def rules(server: SandboxServer) -> ScriptedModel:
    model = ScriptedModel()
    model.add_rule("(?i)refund", assistant="Helper", file_search=True, reply="Docs: {quote}")
    model.add_rule(
        r"(?i)cancel (?P<order>\w+)",
        assistant="Analyst",
        function_calls=[{"name": "cancel_order", "arguments": {"order": "{match[order]}"}}],
        reply="Order {arguments[cancel_order][order]}: {outputs[cancel_order]}",
    )
    model.add_rule("", reply="No rule for: {message}")
    server.sandbox.model = model
    return model


def test_an_app_answers_from_the_deployed_vector_store(
    project_dir: Path,
    deploy_project: Callable[..., None],
    client: openai.OpenAI,
    rules: ScriptedModel,
) -> None:
    deploy_project()
    # the runtime reaches the target through the project's own target (its factory)
    assistants = runtime.load(project_dir)
    kwargs = assistants.request("helper")
    reply = client.responses.create(input="How fast are refunds paid?", **kwargs)
    assert reply.status == "completed"
    assert reply.output_text == "Docs: # Policy Refunds are paid within 30 days of the return."
    [search, message] = reply.output
    assert search.type == "file_search_call"
    [citation] = message.content[0].annotations  # type: ignore[union-attr]
    assert identity.parse_file_name(citation.filename).path == "knowledge/policy.md"  # type: ignore[union-attr]
    assert reply.metadata["asst_deploy.key"] == "helper"


def test_an_app_runs_a_function_call_round_in_a_conversation(
    project_dir: Path,
    deploy_project: Callable[..., None],
    client: openai.OpenAI,
    rules: ScriptedModel,
) -> None:
    deploy_project("prod")
    assistants = runtime.load(project_dir, "prod", client=client)
    kwargs = assistants.request("analyst")
    conversation = client.conversations.create()
    first = client.responses.create(
        input="Please cancel A1", conversation=conversation.id, **kwargs
    )
    [call] = first.output
    assert call.type == "function_call" and call.name == "cancel_order"
    assert json.loads(call.arguments) == {"order": "A1"}
    done = client.responses.create(
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "cancelled"}],
        conversation=conversation.id,
        **kwargs,
    )
    assert done.output_text == "Order A1: cancelled"
    assert (done.model, done.temperature) == ("gpt-4o", 0.3)
    [interpreter] = [t for t in done.tools if t.type == "code_interpreter"]
    orders = ("rt", identity.file_sha(project_dir / "data/orders.csv"), "data/orders.csv")
    [uploaded] = [
        f
        for f in client.files.list()
        if (i := identity.parse_file_name(f.filename)) and (i.project, i.sha, i.path) == orders
    ]
    assert interpreter.container.file_ids == [uploaded.id]  # type: ignore[union-attr]
    items = client.conversations.items.list(conversation.id, order="asc")
    assert [i.type for i in items] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]


def test_the_runtime_and_a_backend_of_the_app_agree(
    project_dir: Path, deploy_project: Callable[..., None], client: openai.OpenAI
) -> None:
    deploy_project()
    by_target = runtime.load(project_dir).request("analyst")
    by_backend = runtime.load(project_dir, backend=OpenAIBackend(client)).request("analyst")
    assert by_target == by_backend


def test_an_app_streams_a_reply_with_the_same_arguments(
    project_dir: Path,
    deploy_project: Callable[..., None],
    client: openai.OpenAI,
    rules: ScriptedModel,
) -> None:
    deploy_project()
    kwargs = runtime.load(project_dir, client=client).request("helper")
    with client.responses.stream(input="Refund timing?", **kwargs) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert "response.file_search_call.searching" in types
    assert final.output_text.startswith("Docs: ")
    stored = client.responses.retrieve(final.id)
    assert stored.output_text == final.output_text
    assert stored.tools[0].vector_store_ids == kwargs["tools"][0]["vector_store_ids"]  # type: ignore[union-attr]
