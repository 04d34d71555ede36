"""Check a sandbox rules file as validate does: it parses, and every rule is well formed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import cast

from asst_deploy.errors import Problem
from asst_deploy.reader import parse_file
from asst_deploy.yamlpos import JsonPath

_HINT = "see the rules format: https://asst-deploy.dev/concepts/sandbox/#scripted-replies-the-rules-file"


def check(path: Path, display: str, problems: list[Problem]) -> None:
    """Add a located problem for each rule the sandbox's parser would refuse."""
    # the sandbox's own parser decides what a valid rule is; it imports only yaml and re
    from asst_deploy.sandbox.model import Rule, RuleError

    before = len(problems)
    docs = parse_file(path, display, problems)
    if len(problems) > before or not docs:
        return
    if len(docs) > 1:
        problems.append(Problem(docs[1].where(()), "a rules file is one YAML document", _HINT))
        return
    doc = docs[0]
    raw, base = doc.data, cast(JsonPath, ())
    if isinstance(raw, Mapping):
        raw, base = raw.get("rules") or [], ("rules",)
    if not isinstance(raw, list):
        problems.append(
            Problem(
                doc.where(base),
                "expected a list of rules (or a mapping with 'rules')",
                _HINT,
            )
        )
        return
    for i, rule in enumerate(raw):
        # a position is asked for only with a problem: finding it reads the file again
        if not isinstance(rule, Mapping):
            problems.append(
                Problem(doc.where((*base, i)), f"rule {i + 1} must be a mapping", _HINT)
            )
            continue
        try:
            Rule.from_dict(rule)
        except RuleError as exc:
            problems.append(Problem(doc.where((*base, i)), f"invalid sandbox rule: {exc}", _HINT))
