"""What a cassette was recorded against (the spec's fingerprint, the grader), and refusing a stale one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from asst_deploy import identity, kinds
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError
from asst_deploy.kinds import vector_store as store_kind
from asst_deploy.types import Json

METADATA_KEY = "asst_deploy"


class StaleCassette(AsstDeployError):
    """The cassette was recorded against another version of the assistant's spec."""


def fingerprint(
    project: Project,
    spec: AssistantSpec,
    form: Callable[[AssistantSpec, Mapping[str, str]], Json] = kinds.ASSISTANT_FORM,
) -> str:
    """A hash of the assistant's canonical form on the target's API (`form`: an agent's
    on agents) and of the vector stores it searches."""
    shas = {f.path: identity.file_sha(f.abs_path) for f in project.files}
    stores = {s.key: s for s in project.vector_stores}
    return identity.canonical_hash(
        {
            "assistant": form(spec, shas),
            "vector_stores": {
                key: store_kind.from_spec(stores[key], shas)
                for key in spec.vector_stores
                if key in stores
            },
        }
    )


def stamp(cassette: Any, info: Mapping[str, Json]) -> None:
    cassette.get_metadata(METADATA_KEY, dict(info))


def info(cassette: Any) -> dict[str, Json]:
    """What `stamp` wrote into the cassette ({} for a cassette without it)."""
    from vcr.errors import MissingMetadataError

    try:
        found = cassette.get_metadata(METADATA_KEY, None)
    except MissingMetadataError:
        return {}
    return dict(found) if isinstance(found, Mapping) else {}


def check_fresh(cassette: Any, path: Path, expected: str, hint: str = "--asst-mode record") -> None:
    """Refuse a cassette recorded against another version of the assistant's spec."""
    recorded = info(cassette).get("fingerprint")
    if recorded != expected:
        raise StaleCassette(
            f"cassette {path} is stale: it was recorded against spec fingerprint "
            f"{recorded or '(none)'}, and the assistant's spec (instructions, tools, files...) "
            f"now hashes to {expected}; re-record it with {hint}"
        )


def check_grader(
    cassette: Any, path: Path, expected: Mapping[str, Json], hint: str = "--asst-mode record"
) -> None:
    """Refuse the grades of a cassette recorded with another grader (model, embedding
    model, endpoint, prompt) than the project's now."""
    recorded = info(cassette).get("grader")
    if recorded != dict(expected):
        was = _grader_words(recorded) if isinstance(recorded, Mapping) else "no grader"
        raise StaleCassette(
            f"cassette {path} is stale: its grades were given by {was}, and the project's "
            f"grader is now {_grader_words(expected)}; re-record it with {hint}"
        )


def _grader_words(stamp: Mapping[str, Json]) -> str:
    return (
        f"{stamp.get('model')} (embeddings: {stamp.get('embedding_model')}) on target "
        f"'{stamp.get('endpoint')}', prompt {stamp.get('prompt')}"
    )
