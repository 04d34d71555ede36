"""Run one conversation in a mode (live, record, replay), with repeats, and word the verdict."""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asst_deploy import __version__
from asst_deploy.errors import AsstDeployError
from asst_deploy.replay.script import Conversation, Script
from asst_deploy.spec.loader import PROJECT_FILE, load_project
from asst_deploy.spec.model import AssistantSpec, Project

MODES = ("live", "record", "replay")


@dataclass(frozen=True)
class Settings:
    """What the command line says; None leaves the choice to the script or the project."""

    mode: str
    cassettes: Path | None = None
    env: str | None = None
    target: str | None = None
    project: Path | None = None
    streaming: bool | None = None


@dataclass
class Outcome:
    runs: int = 0
    passes: int = 0
    required: float = 1.0
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.passes / self.runs if self.runs else 0.0

    @property
    def passed(self) -> bool:
        return self.runs > 0 and self.rate >= self.required

    def summary(self) -> str:
        return f"passed {self.passes} of {self.runs} runs ({self.rate:.0%}; required {self.required:.0%})"


class ConversationError(AsstDeployError):
    """The conversation could not be run at all (no project, no cassette, not deployed)."""


def _no_sleep(seconds: float) -> None:
    """Replay's poll wait: the cassette already holds the run's final state."""


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
        self._replay_client: Any = None

    def close(self) -> None:
        self._stack.close()

    def _key(self, script: Script) -> tuple[Path, str | None, str | None]:
        root = self.settings.project or project_root(script)
        return (
            root.resolve(),
            self.settings.env or script.env,
            self.settings.target or script.target,
        )

    def project(self, script: Script) -> Project:
        key = self._key(script)
        if key not in self._projects:
            self._projects[key] = load_project(*key)
        return self._projects[key]

    def _live_client(self, script: Script) -> Any:
        key = self._key(script)
        if key not in self._clients:
            from asst_deploy.remote.openai_backend import OpenAIBackend
            from asst_deploy.remote.targets import connect

            backend = self._stack.enter_context(connect(self.project(script).target))
            assert isinstance(backend, OpenAIBackend)  # the harness drives its SDK client
            self._clients[key] = backend.client
        return self._clients[key]

    def _replay(self) -> Any:
        if self._replay_client is None:  # one client: each costs an SSL context
            import openai

            from asst_deploy.replay.cassette import REPLAY_BASE

            self._replay_client = openai.OpenAI(
                base_url=REPLAY_BASE, api_key="replay", max_retries=0
            )
            self._stack.callback(self._replay_client.close)
        return self._replay_client

    # --- one conversation ---------------------------------------------------------------

    def cassette_path(self, script: Script, conversation: Conversation) -> Path:
        from asst_deploy.replay.cassette import path_for

        directory = self.settings.cassettes or script.path.parent / "cassettes"
        return path_for(directory, script.path, conversation.name)

    def run(self, script: Script, conversation: Conversation) -> Outcome:
        from asst_deploy.replay import cassette

        project = self.project(script)
        spec = next((a for a in project.assistants if a.key == script.assistant), None)
        if spec is None:
            keys = ", ".join(a.key for a in project.assistants) or "none"
            raise ConversationError(
                f"{script.display}: the project has no assistant '{script.assistant}' (it has: {keys})"
            )
        if self.settings.streaming is not None:
            from dataclasses import replace

            conversation = replace(conversation, streaming=self.settings.streaming)
        mode = self.settings.mode
        path = self.cassette_path(script, conversation)
        print_path = _shown(path)
        fingerprint = cassette.fingerprint(project, spec)
        if mode == "replay":
            if not path.is_file():
                raise ConversationError(
                    f"no cassette at {print_path} for conversation '{conversation.name}'; "
                    "record it with --asst-mode record"
                )
            outcome = Outcome()
            with cassette.network_blocked(), cassette.use(path, record=False) as tape:
                cassette.check_fresh(tape, print_path, fingerprint)
                self._once(
                    outcome,
                    self._replay(),
                    _no_sleep,
                    script,
                    conversation,
                    project,
                    spec,
                    print_path,
                )
            return outcome
        client = self._live_client(script)
        if mode == "record":
            outcome = Outcome()
            with cassette.use(path, record=True, live_base=str(client.base_url)) as tape:
                cassette.stamp(
                    tape,
                    {
                        "script": script.path.name,
                        "conversation": conversation.name,
                        "assistant": spec.key,
                        "fingerprint": fingerprint,
                        "streaming": conversation.streaming,
                        "recorded_by": f"asst-deploy {__version__}",
                    },
                )
                self._once(outcome, client, None, script, conversation, project, spec, print_path)
            return outcome
        outcome = Outcome(required=conversation.pass_rate)
        for _ in range(conversation.repeat):
            self._once(outcome, client, None, script, conversation, project, spec, print_path)
        return outcome

    def _once(
        self,
        outcome: Outcome,
        client: Any,
        sleep: Any,
        script: Script,
        conversation: Conversation,
        project: Project,
        spec: AssistantSpec,
        cassette_shown: Path,
    ) -> None:
        from asst_deploy.replay import cassette
        from asst_deploy.replay.expect import check_turn, deployed_functions
        from asst_deploy.replay.runner import Runner, TurnError

        runner = Runner(
            client,
            root=project.root,
            sleep=sleep or time.sleep,
            transport_errors=(cassette.CannotOverwriteExistingCassetteException,),
        )
        where = f"{script.display}: conversation '{conversation.name}'"
        outcome.runs += 1
        failed_before = len(outcome.failures)
        try:
            assistant = runner.find_assistant(project.name, spec.key, project.target.name)
            functions = deployed_functions(assistant)
            transcript = runner.start(assistant, conversation)
            for turn in conversation.turns:
                result = runner.turn(transcript, turn, conversation)
                failures = check_turn(turn, result, functions, timeout=conversation.timeout)
                if failures:
                    lines = [
                        f"{f.location}: conversation '{conversation.name}', turn {turn.index}, "
                        f"expectation '{f.kind}': {f.message}"
                        for f in failures
                    ]
                    lines += [f"transcript of turn {turn.index}:", result.render()]
                    outcome.failures.append("\n".join(lines))
                    break
            runner.finish(transcript)
        except TurnError as exc:
            miss = cassette.mismatch(exc)
            if miss is None:
                outcome.failures.append(f"{where}, {exc}")
            else:
                outcome.failures.append(
                    f"{where}, turn {exc.turn}: replay does not match the cassette "
                    f"{cassette_shown}\n{cassette.explain(miss)}\n"
                    "(re-record with --asst-mode record if the script changed on purpose)"
                )
            return
        if len(outcome.failures) == failed_before:
            outcome.passes += 1


def _shown(path: Path) -> Path:
    """A path relative to the working directory when it is under it (shorter messages)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path
