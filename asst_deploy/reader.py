"""Spec files read with positions: YAML, and strict JSON for `.json` files (YAML would
accept a trailing comma and read 1e5 as a string)."""

from __future__ import annotations

from pathlib import Path

from asst_deploy import jsonpos, yamlpos
from asst_deploy.errors import Problem
from asst_deploy.yamlpos import Document

_BY_SUFFIX: dict[str, yamlpos.Parser] = {".json": jsonpos.parse}


def parse_file(path: Path, display: str, problems: list[Problem]) -> list[Document]:
    """The documents of a file, each with the positions of its values."""
    return yamlpos.parse_file(path, display, problems, _BY_SUFFIX)
