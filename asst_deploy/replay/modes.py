"""How a conversation runs: replayed from its cassette, recorded while it runs live, or
live (with repeats and a pass rate). One strategy per mode; `once` picks one of the first
two by whether the cassette exists, as pytest-recording's mode does."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from asst_deploy import __version__
from asst_deploy.conversation.script import Conversation, Script
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError
from asst_deploy.generations.sdk.driver_base import Driver, SessionPlace
from asst_deploy.replay import sessions
from asst_deploy.replay.ledger import Budget
from asst_deploy.replay.outcome import ConversationError, Outcome, TurnVerdict


class Runner(Protocol):
    """The harness, as a mode uses it (asst_deploy.replay.harness.Harness)."""

    @property
    def record_hint(self) -> str: ...

    def replay_client(self) -> Any: ...

    def live_client(self, script: Script, env: str | None) -> Any: ...

    def driver(
        self,
        api: str,
        client: Any,
        project: Project,
        sleep: Any = None,
        record_stream: Any = None,
        spend_limit_cents: int | None = None,
        session: SessionPlace | None = None,
    ) -> Driver: ...

    def grader_client(self, script: Script, project: Project, client: Any) -> Any: ...

    def grader(self, client: Any, project: Project) -> Any: ...

    def budget(self, script: Script, conversation: Conversation) -> Budget | None: ...

    def deployed(
        self,
        driver: Driver,
        script: Script,
        project: Project,
        spec: AssistantSpec,
        env: str | None = None,
        conversation: Conversation | None = None,
    ) -> tuple[str, SessionPlace | None]: ...

    def once(
        self,
        outcome: Outcome,
        driver: Driver,
        script: Script,
        conversation: Conversation,
        project: Project,
        spec: AssistantSpec,
        cassette_shown: Path,
        assistant_id: str | None = None,
        grader: Any = None,
        budget: Budget | None = None,
    ) -> list[TurnVerdict]: ...


@dataclass(frozen=True)
class Run:
    """One conversation about to run: what every mode needs."""

    harness: Runner
    script: Script
    conversation: Conversation
    env: str | None
    project: Project
    spec: AssistantSpec
    path: Path  # its cassette
    shown: Path  # the cassette as messages name it
    fingerprint: str  # of the assistant's spec on the target's API

    @property
    def api(self) -> str:
        return self.project.target.api

    def grader_stamp(self) -> dict[str, Any]:
        """What the conversation's grades are given by (stamped on its cassette)."""
        from asst_deploy.replay import graders

        try:
            target = graders.grader_target(self.project, self.script.display)
        except AsstDeployError as exc:
            raise ConversationError(str(exc)) from None
        return graders.stamp(self.project.grader, target)


def _no_sleep(seconds: float) -> None:
    """Replay's poll wait: the cassette already holds the run's final state."""


class Mode(Protocol):
    def run(self, run: Run) -> tuple[Outcome, list[TurnVerdict]]: ...


class Replay:
    """From the cassette only, the network blocked: CI's default."""

    def run(self, run: Run) -> tuple[Outcome, list[TurnVerdict]]:
        from asst_deploy.replay import cassette

        hint = run.harness.record_hint
        if not run.path.is_file():
            raise ConversationError(
                f"no cassette at {run.shown} for conversation '{run.conversation.name}'; "
                f"record it with {hint}"
            )
        outcome = Outcome()
        conversation = run.conversation
        with (
            cassette.network_blocked(),
            cassette.use(run.path, record=False, shown=run.shown, hint=hint) as tape,
        ):
            cassette.check_fresh(tape, run.shown, run.fingerprint, hint)
            if conversation.graded:
                cassette.check_grader(tape, run.shown, run.grader_stamp(), hint)
            recorded = cassette.info(tape)
            if isinstance(recorded.get("streaming"), bool):
                # runs replay the way they were recorded: a streamed cassette holds no
                # polls, and the verdict is the same either way
                conversation = replace(conversation, streaming=recorded["streaming"])
            assistant_id = recorded.get("assistant_id")
            # a session's spending limit as recorded (the request must match); the budget
            # itself is kept on the recorded usage
            limit = recorded.get("spend_limit_cents")
            # the template and vaults the recording gave the session (its requests name them)
            place = sessions.recorded(conversation, recorded, run.shown, hint)
            client = run.harness.replay_client()
            driver = run.harness.driver(
                run.api,
                client,
                run.project,
                _no_sleep,
                spend_limit_cents=limit if isinstance(limit, int) else None,
                session=place,
            )
            found = assistant_id if isinstance(assistant_id, str) else None
            grader = run.harness.grader(client, run.project) if conversation.graded else None
            budget = run.harness.budget(run.script, conversation)
            verdicts = _turns(run, outcome, driver, found, conversation, grader, budget)
        return outcome, verdicts


def _turns(
    run: Run,
    outcome: Outcome,
    driver: Driver,
    assistant: str | None,
    conversation: Conversation | None = None,
    grader: Any = None,
    budget: Budget | None = None,
) -> list[TurnVerdict]:
    """One run of the conversation's turns through `driver`, into `outcome`."""
    return run.harness.once(
        outcome,
        driver,
        run.script,
        conversation or run.conversation,
        run.project,
        run.spec,
        run.shown,
        assistant,
        grader,
        budget,
    )


def _deployed(run: Run, client: Any) -> tuple[str, SessionPlace | None]:
    # found outside the cassette: the lookup lists every assistant of the target
    driver = run.harness.driver(run.api, client, run.project)
    return run.harness.deployed(
        driver, run.script, run.project, run.spec, run.env, run.conversation
    )


def _grader(run: Run, client: Any) -> tuple[Any, Any]:
    """(the client graders are called through, the grader) when the conversation has
    graded expectations, else (None, None)."""
    if not run.conversation.graded:
        return None, None
    through = run.harness.grader_client(run.script, run.project, client)
    return through, run.harness.grader(through, run.project)


class Record:
    """Live, every request and answer written to the cassette (stamped with what it is of)."""

    def run(self, run: Run) -> tuple[Outcome, list[TurnVerdict]]:
        from asst_deploy.replay import cassette

        client = run.harness.live_client(run.script, run.env)
        assistant, place = _deployed(run, client)
        grading_client, grader = _grader(run, client)
        budget = run.harness.budget(run.script, run.conversation)
        limit = budget.cents if budget is not None and budget.limit > 0 else None
        outcome = Outcome()
        others = [str(grading_client.base_url)] if grading_client not in (None, client) else []
        with cassette.use(
            run.path, record=True, live_base=str(client.base_url), also=others
        ) as tape:
            stamp: dict[str, Any] = {
                "script": run.script.path.name,
                "conversation": run.conversation.name,
                "assistant": run.spec.key,
                "api": run.api,
                "assistant_id": assistant,
                "fingerprint": run.fingerprint,
                "streaming": run.conversation.streaming,
                "recorded_by": f"asst-deploy {__version__}",
            }
            if grader is not None:
                stamp["grader"] = run.grader_stamp()
            if limit is not None:
                stamp["spend_limit_cents"] = limit
            given = sessions.stamp(run.conversation, place)
            if given is not None:
                stamp["session"] = given
            cassette.stamp(tape, stamp)
            driver = run.harness.driver(
                run.api,
                client,
                run.project,
                record_stream=cassette.stream_recorder(tape),
                spend_limit_cents=limit,
                session=place,
            )
            verdicts = _turns(run, outcome, driver, assistant, None, grader, budget)
        return outcome, verdicts


class Live:
    """Against the target, `repeat` times, passing at the conversation's pass rate."""

    def run(self, run: Run) -> tuple[Outcome, list[TurnVerdict]]:
        client = run.harness.live_client(run.script, run.env)
        assistant, place = _deployed(run, client)
        _, grader = _grader(run, client)
        outcome = Outcome(required=run.conversation.pass_rate)
        verdicts: list[TurnVerdict] = []
        for _ in range(run.conversation.repeat):
            # each run its own budget: what the run's budget has left changes run by run
            budget = run.harness.budget(run.script, run.conversation)
            limit = budget.cents if budget is not None and budget.limit > 0 else None
            driver = run.harness.driver(
                run.api, client, run.project, spend_limit_cents=limit, session=place
            )
            verdicts = _turns(run, outcome, driver, assistant, None, grader, budget)
        return outcome, verdicts


MODES: dict[str, Mode] = {"replay": Replay(), "record": Record(), "live": Live()}


def chosen(mode: str, cassette: Path) -> Mode:
    """The strategy for `mode`; `once` records what is missing and replays the rest."""
    if mode == "once":
        mode = "replay" if cassette.is_file() else "record"
    return MODES[mode]
