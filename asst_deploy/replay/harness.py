"""Run one conversation: load its project, check its script, pick its mode (replay/modes.py),
drive its turns and word the verdict."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from asst_deploy import generations, kinds
from asst_deploy.conversation.script import GRADED, Conversation, Script
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError, SpecError
from asst_deploy.fastforward import FastForward
from asst_deploy.generations.sdk.driver_base import Driver, SessionPlace, TurnError
from asst_deploy.plan import Action, Create, Update
from asst_deploy.replay import costs, sessions
from asst_deploy.replay.ledger import Budget, Ledger
from asst_deploy.replay.outcome import ConversationError, Excluded, Outcome, TurnVerdict
from asst_deploy.replay.safety import UnsafeScript, check_conversation
from asst_deploy.spec.loader import PROJECT_FILE, load_project, load_unchecked
from asst_deploy.types import Json

SpecForm = Callable[[AssistantSpec, Mapping[str, str]], dict[str, Json]]

MODES = ("live", "record", "replay", "once")
# pytest-recording's --record-mode names for the same modes, accepted as aliases
MODE_ALIASES = {"none": "replay", "rewrite": "record"}
MODE_CHOICES = (*MODES, *MODE_ALIASES)


def canonical_mode(mode: str) -> str:
    """The mode a name (ours or pytest-recording's) stands for."""
    return MODE_ALIASES.get(mode, mode)


@dataclass(frozen=True)
class Settings:
    """What the command line says; None leaves the choice to the script or the project."""

    mode: str
    cassettes: Path | None = None
    env: str | None = None
    target: str | None = None
    project: Path | None = None
    streaming: bool | None = None
    # how the user asks for a recording, in the words of the command they ran
    record_hint: str = "--asst-mode record"
    # the whole run's budget in USD (--budget-usd), and the file its processes share
    budget_usd: float | None = None
    ledger: Path | None = None


# the name of the environment of no `environments:` entry (the project file's own
# targets and defaults), for --envs and --parity; the schema refuses it as an environment
BASE = "base"


def project_root(script: Script) -> Path:
    for directory in script.path.resolve().parents:
        if (directory / PROJECT_FILE).is_file():
            return directory
    raise ConversationError(
        f"{script.display}: no {PROJECT_FILE} in any parent directory; pass --asst-project DIR"
    )


class Harness:
    """Session-wide state: loaded projects, open connections and one replay client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = ExitStack()
        self._projects: dict[tuple[Path, str | None, str | None], Project] = {}
        self._clients: dict[tuple[Path, str | None, str | None], Any] = {}
        self._backends: dict[tuple[Path, str | None, str | None], Any] = {}
        # a live client's in-process sandbox time (by id of the client): its drivers' waits
        # skip ahead on it instead of sleeping
        self._times: dict[int, FastForward] = {}
        self._replay_client: Any = None
        self._graders: dict[tuple[Path, str], Any] = {}
        self.ledger = (
            Ledger(settings.budget_usd, settings.ledger)
            if settings.budget_usd is not None
            else None
        )

    def close(self) -> None:
        self._stack.close()

    @property
    def record_hint(self) -> str:
        return self.settings.record_hint

    def _key(self, script: Script, env: str | None = None) -> tuple[Path, str | None, str | None]:
        root = self.settings.project or project_root(script)
        return (
            root.resolve(),
            env or self.settings.env or script.env,
            self.settings.target or script.target,
        )

    def project(self, script: Script, env: str | None = None) -> Project:
        key = self._key(script, env)
        if key not in self._projects:
            root, name, target = key
            if name == BASE:  # no environment may be so named: it is the base
                name = None
            self._projects[key] = load_project(root, name, target)
        return self._projects[key]

    def live_client(self, script: Script, env: str | None) -> Any:
        key = self._key(script, env)
        if key not in self._clients:
            from asst_deploy.engine.targets import connect
            from asst_deploy.generations.sdk.client import live_client

            project = self.project(script, env)
            backend = self._stack.enter_context(connect(project.target))
            self._backends[key] = backend
            self._clients[key] = live_client(backend)
            time_of_sandbox = getattr(backend, "time", None)  # an OpenAIBackend's
            if isinstance(time_of_sandbox, FastForward):
                self._times[id(self._clients[key])] = time_of_sandbox
            self._check_models(project, self._clients[key], project.target.name)
        return self._clients[key]

    def _check_models(self, project: Project, client: Any, target: str) -> None:
        """The shutdown dates the target's GET /models reports beyond the built-in table
        (a compatible endpoint's own): warned of, or refused past the date."""
        from asst_deploy.generations.sdk.grader import reported_shutdowns
        from asst_deploy.spec import shutdowns

        reported = reported_shutdowns(client)
        warned, refused = shutdowns.check_reported(
            project, reported, shutdowns.today(), f"target '{target}'"
        )
        if refused:
            raise ConversationError("; ".join(str(p) for p in refused))
        shutdowns.warn(warned)

    def replay_client(self) -> Any:
        if self._replay_client is None:  # one client: each costs an SSL context
            from asst_deploy.generations.sdk.client import replay_client
            from asst_deploy.replay.cassette import REPLAY_BASE

            self._replay_client = replay_client(REPLAY_BASE)
            self._stack.callback(self._replay_client.close)
        return self._replay_client

    def driver(
        self,
        api: str,
        client: Any,
        project: Project,
        sleep: Any = None,
        record_stream: Any = None,
        spend_limit_cents: int | None = None,
        session: SessionPlace | None = None,
    ) -> Driver:
        from asst_deploy.generations.sdk.driver_base import DriverOptions
        from asst_deploy.replay import cassette

        clock = self._times.get(id(client))
        options = DriverOptions(
            root=project.root,
            environment=project.environment,
            sleep=sleep or (clock.sleep if clock else time.sleep),
            clock=clock.monotonic if clock else time.monotonic,
            transport_errors=(cassette.CannotOverwriteExistingCassetteException,),
            record_stream=record_stream,
            session_spend_limit_cents=spend_limit_cents,
            session=session,
            project=project,
            load_project=load_project,
        )
        return generations.driver_class(api)(client, options)

    # --- graders and budgets ------------------------------------------------------------

    def grader_client(self, script: Script, project: Project, client: Any) -> Any:
        """The live client graders are called through: the conversation's own `client`
        when its target grades, else one on the project's replay.grader.endpoint."""
        from asst_deploy.replay.graders import grader_target

        try:
            target = grader_target(project, script.display)
        except AsstDeployError as exc:
            raise ConversationError(str(exc)) from None
        if target.name == project.target.name:
            return client
        key = (project.root, target.name)
        if key not in self._graders:
            from asst_deploy.engine.targets import connect
            from asst_deploy.generations.sdk.client import live_client

            backend = self._stack.enter_context(connect(target))
            self._graders[key] = live_client(backend)
        return self._graders[key]

    def grader(self, client: Any, project: Project) -> Any:
        """A TurnGrader over `client` with the project's grader models and prices."""
        from asst_deploy.generations.sdk.grader import ResponsesGrader
        from asst_deploy.replay import cassette
        from asst_deploy.replay.graders import TurnGrader

        calls = ResponsesGrader(
            client,
            project.grader.model,
            project.grader.embedding_model,
            (cassette.CannotOverwriteExistingCassetteException,),
        )
        return TurnGrader(calls, project.prices)

    def budget(self, script: Script, conversation: Conversation) -> Budget | None:
        """The most this run of the conversation may spend: its own budget, or what is
        left of the run's, whichever is less (None: no budget)."""
        found: Budget | None = None
        if conversation.budget_usd is not None:
            found = Budget(
                conversation.budget_usd,
                f"its budget of {costs.usd(conversation.budget_usd)} (`budget:` in "
                f"{script.display})",
            )
        if self.ledger is not None:
            left = self.ledger.left()
            if found is None or left < found.limit:
                found = Budget(
                    left,
                    f"what was left of the run's budget of {costs.usd(self.ledger.limit)} "
                    f"(--budget-usd): {costs.usd(left)}",
                )
        return found

    def charge(self, amount: float | None) -> None:
        """What a conversation run spent, counted against the run's budget."""
        if self.ledger is not None and amount:
            self.ledger.add(amount)

    # --- one conversation ---------------------------------------------------------------

    def cassette_path(
        self, script: Script, conversation: Conversation, api: str = "assistants"
    ) -> Path:
        from asst_deploy.replay.cassette import path_for

        directory = self.settings.cassettes or script.path.parent / "cassettes"
        folder = directory / generations.driver_class(api).cassette_folder
        return path_for(folder, script.path, conversation.name)

    def run(self, script: Script, conversation: Conversation, env: str | None = None) -> Outcome:
        """The conversation's verdict; `env` (else the settings' or the script's) picks the
        environment, and with it the target and its API generation."""
        return self.transcribe(script, conversation, env)[0]

    def transcribe(
        self, script: Script, conversation: Conversation, env: str | None = None
    ) -> tuple[Outcome, list[TurnVerdict]]:
        """The verdict and, turn by turn, what happened in the last run (for parity)."""
        from asst_deploy.replay import cassette, modes

        project = self.project(script, env)
        api = project.target.api
        spec = next((a for a in project.assistants if a.key == script.assistant), None)
        if spec is None:
            raise missing(script, project)
        try:
            check_conversation(conversation, project)
        except UnsafeScript as exc:
            raise ConversationError(str(exc)) from None
        # an `env` of the caller's: one of several environments the run goes over
        sessions.check(script, conversation, project, fanned=env is not None)
        if self.settings.streaming is not None:
            conversation = replace(conversation, streaming=self.settings.streaming)
        path = self.cassette_path(script, conversation, api)
        form = generations.driver_class(api).spec_form
        run = modes.Run(
            harness=self,
            script=script,
            conversation=conversation,
            env=env,
            project=project,
            spec=spec,
            path=path,
            shown=_shown(path),
            fingerprint=cassette.fingerprint(project, spec, form),
        )
        return modes.chosen(self.settings.mode, path).run(run)

    def deployed(
        self,
        driver: Driver,
        script: Script,
        project: Project,
        spec: AssistantSpec,
        env: str | None = None,
        conversation: Conversation | None = None,
    ) -> tuple[str, SessionPlace | None]:
        """The id of the deployed assistant and, when the conversation names them, those of
        its session's environment template and vaults, after checking that a plan of them
        and of the vector stores the assistant searches is empty (the engine's own check):
        else a recording would keep the old behaviour under the new spec's fingerprint."""
        from asst_deploy.engine import operations

        try:
            deployed = driver.find(project.name, spec.key, project.target.name)
        except TurnError as exc:
            raise ConversationError(f"{script.display}: {exc}") from None
        remote = operations.read_remote(self._backends[self._key(script, env)])
        given = sessions.plan_keys(conversation) if conversation is not None else []
        only = [spec.key, *spec.vector_stores, *given]
        plan = operations.plan_from(project, remote, only=only)
        stale = [_why_stale(action) for action in plan.actions]
        if stale:
            raise ConversationError(
                f"{script.display}: the deployment on target '{project.target.name}' is not "
                f"the specs' current version ({'; '.join(stale)}): run `asst-deploy apply` "
                f"first, then run the conversation again"
            )
        place = sessions.resolve(conversation, project, remote) if conversation else None
        return deployed.id, place

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
    ) -> list[TurnVerdict]:
        """One run of the conversation's turns into `outcome`: passed, failed at the first
        failing turn, or inconclusive when its `budget` stopped it (the turn that passed it
        is still checked, but not graded: grading would spend more)."""
        from asst_deploy.generations.sdk.grader import GraderError
        from asst_deploy.replay import cassette
        from asst_deploy.replay.expect import evaluate, failures_of

        where = f"{script.display}: conversation '{conversation.name}'"
        outcome.runs += 1
        failed_before = len(outcome.failures)
        stopped_before = len(outcome.inconclusive)
        verdicts: list[TurnVerdict] = []
        spent: list[float | None] = []
        took = 0.0
        current = 0
        consumed = 0  # cents a session reported spent so far (agents)
        try:
            if budget is not None and budget.limit <= 0:
                outcome.inconclusive.append(
                    f"{where}: not run: {budget.why} is spent (inconclusive, not a pass)"
                )
                return verdicts
            if assistant_id is None:  # a cassette recorded before assistant ids were stamped
                deployed = driver.find(project.name, spec.key, project.target.name)
            else:
                deployed = driver.get(assistant_id)
            transcript = driver.start(deployed, conversation)
            for turn in conversation.turns:
                current = turn.index
                result = driver.turn(transcript, turn, conversation)
                took += result.latency
                model = result.model or str(deployed.object.get("model") or "")
                cost, consumed = _turn_cost(model, result, project, consumed)
                spent.append(cost)
                so_far = costs.total(spent)
                if budget is not None and so_far is None:
                    raise ConversationError(
                        f"{where}, turn {turn.index}: model '{model}' has no price, so its "
                        f"budget cannot be kept: give it one in asst-deploy.yaml, replay: "
                        f"{{prices: {{{model}: {{input: ..., output: ...}}}}}} (USD per 1M tokens)"
                    )
                over = budget is not None and so_far is not None and so_far > budget.limit
                paused = result.status == BUDGET_REACHED and not any(
                    e.kind == "status" and e.value == BUDGET_REACHED for e in turn.expect
                )
                verdict = TurnVerdict(turn.index, result, [], [], cost=cost)
                verdicts.append(verdict)
                if paused:
                    # the session stopped at its spending limit: the turn's work is cut short
                    verdict.inconclusive = "the session reached its spending limit" + (
                        f", {budget.why}" if budget else ""
                    )
                else:
                    checks = evaluate(
                        turn,
                        result,
                        deployed.functions,
                        timeout=conversation.timeout,
                        not_applicable=driver.not_applicable,
                        api=driver.api,
                        grader=grader,
                        graded=not over,
                    )
                    verdict.checks = checks
                    verdict.failures = failures_of(checks)
                    verdict.not_applicable = _failures(checks, "n/a")
                    if grader is not None:
                        verdict.grading_cost = grader.take_cost()
                        spent.append(verdict.grading_cost)
                    if over and budget is not None:
                        ungraded = any(e.kind in GRADED for e in turn.expect)
                        verdict.inconclusive = (
                            f"the conversation had cost {costs.usd(so_far)}, over {budget.why}"
                            + ("; its graded expectations were not asked" if ungraded else "")
                        )
                for s in verdict.not_applicable:  # once, however many times a live run repeats
                    note = (
                        f"{s.location}: conversation '{conversation.name}', turn {turn.index}, "
                        f"expectation '{s.kind}': {s.message}"
                    )
                    if note not in outcome.not_applicable:
                        outcome.not_applicable.append(note)
                if verdict.failures:
                    lines = [
                        f"{f.location}: conversation '{conversation.name}', turn {turn.index}, "
                        f"expectation '{f.kind}': {f.message}"
                        for f in verdict.failures
                    ]
                    lines += [f"transcript of turn {turn.index}:", result.render()]
                    outcome.failures.append("\n".join(lines))
                    break
                if verdict.inconclusive:
                    outcome.inconclusive.append(
                        f"{turn.location}: conversation '{conversation.name}' stopped at turn "
                        f"{turn.index} of {len(conversation.turns)}: {verdict.inconclusive} "
                        "(inconclusive, not a pass)"
                    )
                    break
            driver.finish(transcript)
        except (TurnError, GraderError) as exc:
            index = exc.turn if isinstance(exc, TurnError) else current
            if isinstance(exc, GraderError) and verdicts and verdicts[-1].index == index:
                verdicts[-1].error = str(exc)
            else:
                verdicts.append(TurnVerdict(index, None, [], [], error=str(exc)))
            miss = cassette.mismatch(exc)
            if miss is None:
                prefix = "" if isinstance(exc, TurnError) else f"turn {index}: "
                outcome.failures.append(f"{where}, {prefix}{exc}")
            elif isinstance(exc, GraderError):
                outcome.failures.append(
                    f"{where}, turn {index}: cassette {cassette_shown} is stale: it holds no "
                    f"grade for this turn as the script now asks it (the rubric, the reply or "
                    f"the grader's configuration changed since it was recorded); re-record it "
                    f"with {self.settings.record_hint}\n{cassette.explain(miss)}"
                )
            else:
                outcome.failures.append(
                    f"{where}, turn {index}: replay "
                    f"does not match the cassette {cassette_shown}\n{cassette.explain(miss)}\n"
                    f"(re-record with {self.settings.record_hint} if the script changed on purpose)"
                )
            return verdicts
        finally:
            outcome.costs.append(costs.total(spent))
            outcome.latencies.append(took)
            self.charge(costs.total(spent))
        if len(outcome.failures) == failed_before and len(outcome.inconclusive) == stopped_before:
            outcome.passes += 1
        return verdicts


BUDGET_REACHED = "budget_reached"


def _turn_cost(
    model: str, result: Any, project: Project, consumed_before: int
) -> tuple[float | None, int]:
    """The turn's cost from its usage or, where a session reports what it has consumed
    (agents: cents, the session's total), what it consumed during the turn when that is
    more; and the session's total."""
    cost = costs.usage_cost(model, result.usage, project.prices)
    consumed = (result.spend or {}).get("consumed")
    if not isinstance(consumed, int):
        return cost, consumed_before
    during = max(consumed - consumed_before, 0) / 100
    return (None if cost is None else max(cost, during)), consumed


def _failures(checks: list[Any], verdict: str) -> list[Any]:
    from asst_deploy.replay.expect import Failure

    return [Failure(c.kind, c.location, c.message) for c in checks if c.verdict == verdict]


def missing(script: Script, project: Project) -> ConversationError:
    """Why the project has no assistant `script.assistant`: the environment excludes it
    (Excluded, a skip), or no spec has that key (an error)."""
    if project.environment is not None:
        try:
            excluded = load_unchecked(project.root, project.environment)[1]
        except SpecError:  # an excluded spec's own problems: no reason to skip
            excluded = frozenset()
        if script.assistant in excluded:
            return Excluded(  # no path: a skip is reported at the script's line
                f"assistant '{script.assistant}' is excluded from "
                f"environment '{project.environment}' (its `exclude:` in {PROJECT_FILE})"
            )
    keys = ", ".join(a.key for a in project.assistants) or "none"
    where = script.location or script.display  # its `assistant:` line
    return ConversationError(
        f"{where}: the project has no assistant '{script.assistant}' (it has: {keys})"
    )


def _shown(path: Path) -> Path:
    """A path relative to the working directory when it is under it (shorter messages)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def _why_stale(action: Action) -> str:
    """What a plan's action says of the deployment a conversation would run against."""
    what = f"{kinds.get(action.kind).label} '{action.key}'"
    if isinstance(action, Create):
        return f"{what} is not deployed"
    if isinstance(action, Update) and action.drift:
        return f"{what} was edited outside asst-deploy since it was applied"
    return f"{what} was applied from another version of its spec"
