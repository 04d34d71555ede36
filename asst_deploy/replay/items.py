"""The pytest nodes: a conversation script is a file of tests, one per conversation."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from asst_deploy.errors import AsstDeployError
from asst_deploy.replay.harness import MODE_CHOICES, Harness, Settings, canonical_mode
from asst_deploy.replay.script import Conversation, Script, load_script

HARNESS = pytest.StashKey[Harness]()


def resolve_mode(option: str | None, environ: Mapping[str, str]) -> str:
    """The mode, by precedence:
    1. --asst-mode on the command line;
    2. the ASST_DEPLOY_MODE environment variable;
    3. `replay` when CI is set to anything but false/0/empty: CI never talks to a target,
       and never records, unless asked to;
    4. `live` otherwise: a developer's run talks to the target (the built-in sandbox by
       default) and writes nothing.
    """
    if option:
        return canonical_mode(option)
    if environ.get("ASST_DEPLOY_MODE"):
        return canonical_mode(environ["ASST_DEPLOY_MODE"])
    if environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return "replay"
    return "live"


def harness(config: pytest.Config) -> Harness:
    """One harness per pytest process (xdist workers each have theirs), made on first use."""
    if HARNESS not in config.stash:
        mode = resolve_mode(config.getoption("asst_mode"), os.environ)
        if mode not in MODE_CHOICES:
            raise pytest.UsageError(
                f"ASST_DEPLOY_MODE must be live, record, replay or once (or pytest-recording's "
                f"none, rewrite), not {mode!r}"
            )
        runs = config.getoption("asst_runs")

        def path(option: str) -> Path | None:
            value = config.getoption(option)
            return Path(value).resolve() if value else None

        config.stash[HARNESS] = created = Harness(
            Settings(
                mode=mode,
                cassettes=path("asst_cassettes"),
                env=config.getoption("asst_env"),
                target=config.getoption("asst_target"),
                project=path("asst_project"),
                streaming=None if runs is None else runs == "stream",
                record_hint=config.getoption("asst_record_hint") or "--asst-mode record",
            )
        )
        config.add_cleanup(created.close)
    return config.stash[HARNESS]


class ConversationFailed(Exception):
    """A conversation's verdict; its message is the whole report (no traceback)."""


class ScriptFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        display = os.path.relpath(self.path, self.config.invocation_params.dir)
        try:
            script = load_script(self.path, display)
        except AsstDeployError as exc:
            raise self.CollectError(exc.render()) from None
        for conversation in script.conversations:
            item = ConversationItem.from_parent(
                self, name=conversation.name, script=script, conversation=conversation
            )
            item.add_marker("asst_conversation")
            yield item


class ConversationItem(pytest.Item):
    def __init__(self, *, script: Script, conversation: Conversation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = script
        self.conversation = conversation

    def runtest(self) -> None:
        # in the JUnit report before anything can fail: the CI summary lists every turn
        self.user_properties += [
            ("asst_script", self.script.display),
            ("asst_turns", len(self.conversation.turns)),
        ]
        running = harness(self.config)
        try:
            outcome = running.run(self.script, self.conversation)
        except AsstDeployError as exc:
            raise ConversationFailed(exc.render().removeprefix("Error: ")) from None
        self.user_properties += [
            ("asst_mode", running.settings.mode),
            ("asst_runs", outcome.runs),
            ("asst_passes", outcome.passes),
            ("asst_required_rate", outcome.required),
        ]
        if not outcome.passed:
            head = outcome.summary() + "\n" if outcome.runs > 1 else ""
            raise ConversationFailed(head + "\n\n".join(outcome.failures))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ConversationFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.conversation.location.line - 1, f"conversation {self.name}"
