"""The pytest nodes: a conversation script is a file of tests, one per conversation."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from asst_deploy.conversation.script import Conversation, Script
from asst_deploy.errors import AsstDeployError
from asst_deploy.replay.harness import (
    MODE_CHOICES,
    Excluded,
    Harness,
    Settings,
    canonical_mode,
)
from asst_deploy.replay.scripts import load_script

HARNESS = pytest.StashKey[Harness]()
# the file the processes of a parallel run share the run's budget through
LEDGER = pytest.StashKey[str]()


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

        workerinput = getattr(config, "workerinput", {})
        ledger = workerinput.get("asst_ledger") or config.stash.get(LEDGER, None)
        config.stash[HARNESS] = created = Harness(
            Settings(
                mode=mode,
                cassettes=path("asst_cassettes"),
                env=config.getoption("asst_env"),
                target=config.getoption("asst_target"),
                project=path("asst_project"),
                streaming=None if runs is None else runs == "stream",
                record_hint=config.getoption("asst_record_hint") or "--asst-mode record",
                budget_usd=config.getoption("asst_budget_usd"),
                ledger=Path(ledger) if ledger else None,
            )
        )
        config.add_cleanup(created.close)
    return config.stash[HARNESS]


class ConversationFailed(Exception):
    """A conversation's verdict; its message is the whole report (no traceback)."""


class ConversationInconclusive(ConversationFailed):
    """A budget stopped the conversation before its verdict: neither a pass nor a failure
    (the plugin reports it apart; the run fails unless --asst-allow-inconclusive)."""


class ScriptFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        display = os.path.relpath(self.path, self.config.invocation_params.dir)
        try:
            script = load_script(self.path, display)
        except AsstDeployError as exc:
            raise self.CollectError(exc.render()) from None
        envs = self.config.getoption("asst_envs")
        variants: list[tuple[str | None, str, str]] = [(None, "", "")]
        if envs:
            try:
                variants = generations(harness(self.config), script, envs.split(","))
            except AsstDeployError as exc:
                raise self.CollectError(exc.render()) from None
        for conversation in script.conversations:
            for env, api, suffix in variants:
                item = ConversationItem.from_parent(
                    self,
                    name=conversation.name + suffix,
                    script=script,
                    conversation=conversation,
                    env=env,
                    api=api,
                )
                item.add_marker("asst_conversation")
                yield item


def generations(
    running: Harness, script: Script, envs: list[str]
) -> list[tuple[str | None, str, str]]:
    """(environment, its API, the test id's suffix) per environment named: the generation
    names the variant (`paris[agents]`), with the environment too when two share an API."""
    apis = [(env, running.project(script, env).target.api) for env in envs]
    shared = len({api for _, api in apis}) < len(apis)
    return [(env, api, f"[{api}-{env}]" if shared else f"[{api}]") for env, api in apis]


class ConversationItem(pytest.Item):
    def __init__(
        self,
        *,
        script: Script,
        conversation: Conversation,
        env: str | None = None,
        api: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.script = script
        self.conversation = conversation
        self.env = env
        self.api = api

    def runtest(self) -> None:
        # in the JUnit report before anything can fail: the CI summary lists every turn
        running = harness(self.config)
        try:
            api = self.api or running.project(self.script, self.env).target.api
        except AsstDeployError as exc:
            raise ConversationFailed(exc.render().removeprefix("Error: ")) from None
        self.user_properties += [
            ("asst_script", self.script.display),
            ("asst_turns", len(self.conversation.turns)),
            ("asst_api", api),
            *([("asst_env", self.env)] if self.env else []),
        ]
        try:
            outcome, verdicts = running.transcribe(self.script, self.conversation, self.env)
        except Excluded as exc:  # the environment leaves the assistant out on purpose
            raise pytest.skip.Exception(str(exc), _use_item_location=True) from None
        except AsstDeployError as exc:
            raise ConversationFailed(exc.render().removeprefix("Error: ")) from None
        from asst_deploy.replay import details

        self.user_properties += [
            ("asst_mode", running.settings.mode),
            ("asst_runs", outcome.runs),
            ("asst_passes", outcome.passes),
            ("asst_required_rate", outcome.required),
            ("asst_verdict", outcome.verdict),
            ("asst_cost_usd", _amount(outcome.cost)),
            *[
                (f"asst_cost_usd_turn_{v.index}", _amount(v.cost))
                for v in verdicts
                if v.result is not None
            ],
            *([("asst_grading_cost_usd", _amount(g))] if (g := _grading(verdicts)) else []),
            ("asst_latency_s", round(sum(outcome.latencies), 3)),
        ]
        if outcome.runs > 1:
            self.user_properties.append(("asst_spread", outcome.spread()))
        # not a silent pass: the report lists each expectation the generation cannot check
        self.user_properties += [("asst_not_applicable", n) for n in outcome.not_applicable]
        self.user_properties += [("asst_inconclusive", n) for n in outcome.inconclusive]
        head = outcome.summary() + "\n" if outcome.runs > 1 else ""
        message = ""
        if outcome.verdict == "inconclusive":
            message = head + "\n\n".join(outcome.inconclusive + outcome.failures)
        elif not outcome.passed:
            message = head + "\n\n".join(outcome.failures)
        self.asst_detail = details.conversation(
            script=self.script.display,
            name=self.name,
            env=self.env,
            api=api,
            mode=running.settings.mode,
            outcome=outcome,
            verdicts=verdicts,
            message=message,
        )
        if outcome.verdict == "inconclusive":
            raise ConversationInconclusive(message)
        if not outcome.passed:
            raise ConversationFailed(message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ConversationFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    asst_detail: dict[str, Any] | None = None

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.conversation.location.line - 1, f"conversation {self.name}"


def _amount(usd: float | None) -> str:
    """USD for a report's property: to the millionth of a dollar, or `unknown`."""
    return "unknown" if usd is None else f"{usd:.6f}"


def _grading(verdicts: list[Any]) -> float | None:
    spent = [v.grading_cost for v in verdicts]
    return None if any(g is None for g in spent) else sum(spent)
