"""Whether a project's specs may give a secret whose variable is unset, from their text."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from asst_deploy.spec import schema
from asst_deploy.spec.documents import DOCUMENTS

MARK = b"from_env"
# `from_env: NAME`, in block or flow style, the name quoted or not
_GIVEN = re.compile(
    rb"""from_env["']?\s*:\s*["']?([A-Za-z_][A-Za-z0-9_]*)["']?[ \t]*(?:[,}#\r\n]|\Z)"""
)
_REF = re.compile(r"#/\$defs/(\w+)")


@functools.cache
def secret_includes() -> tuple[str, ...]:
    """The include patterns of the document kinds whose schema has a secret field, however
    deep (through the shared definitions that hold one)."""
    defs = schema.defs([d.section for d in DOCUMENTS.values()])
    named = {name: set(_REF.findall(json.dumps(value))) for name, value in defs.items()}
    holding = {"secret"}
    while grown := {n for n, refs in named.items() if refs & holding} - holding:
        holding |= grown
    return tuple(
        kind.include
        for kind in DOCUMENTS.values()
        if set(_REF.findall(json.dumps(kind.schema))) & holding
    )


def may_lack(root: Path, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the project at `root` may give a secret whose variable is not set: its
    project file (defaults, overrides) or a file of a document kind that takes a secret
    mentions `from_env` other than as `from_env: NAME` of a variable set, or the project
    file may name its own `include:` patterns (any file may then be of any kind). Never
    wrong the other way: False means every secret its specs give has its variable."""
    environ = os.environ if environ is None else environ
    try:
        text = (root / "asst-deploy.yaml").read_bytes()
        if b"include" in text:
            return True
        texts = [text]
        texts += [p.read_bytes() for pattern in secret_includes() for p in root.glob(pattern)]
    except OSError:
        return True
    for found in texts:
        start = found.find(MARK)
        while start >= 0:
            given = _GIVEN.match(found, start)
            if given is None or given[1].decode() not in environ:
                return True
            start = found.find(MARK, start + len(MARK))
    return False
