"""Scripted function outputs: a fixed value, a template over the arguments, a callable, an error."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

from asst_deploy.conversation.script import Stub
from asst_deploy.errors import AsstDeployError
from asst_deploy.templating import RuleTemplateError, render
from asst_deploy.types import Json


class StubError(AsstDeployError):
    """A stub could not produce an output (a bad template, a callable that failed)."""


def load_callable(spec: str) -> Callable[..., Any]:
    """`module.path:function`, imported on first use."""
    module_name, _, attr = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise StubError(f"cannot load {spec!r}: {exc}") from None
    if not callable(fn):
        raise StubError(f"{spec!r} is not callable")
    return fn


def _text(value: Json) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def output(stub: Stub, name: str, arguments: Json) -> str:
    """The string submitted as the call's output."""
    if stub.kind == "output":
        return _text(stub.value)
    if stub.kind == "error":
        return json.dumps({"error": stub.value}, ensure_ascii=False)
    if stub.kind == "template":
        args = arguments if isinstance(arguments, dict) else {}
        try:
            return render(stub.value, {"arguments": args, "name": name})
        except RuleTemplateError as exc:
            raise StubError(f"the template for {name} failed: {exc}") from None
    fn = load_callable(stub.value)
    try:
        return _text(fn(name, arguments))
    except Exception as exc:  # the user's code: report it as the stub's failure
        raise StubError(f"{stub.value} raised {type(exc).__name__}: {exc}") from exc
