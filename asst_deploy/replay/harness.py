"""Run one conversation in a mode (live, record, replay), with repeats, and word the verdict."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from asst_deploy import __version__, identity, kinds
from asst_deploy.conversation.script import Conversation, Script
from asst_deploy.conversation.transcript import TurnResult
from asst_deploy.desired import AssistantSpec, Project
from asst_deploy.errors import AsstDeployError, SpecError
from asst_deploy.kinds import vector_store as store_kind
from asst_deploy.remote.drivers.base import Driver, TurnError
from asst_deploy.replay.expect import Failure
from asst_deploy.spec.loader import PROJECT_FILE, environment_names, load_project, load_unchecked
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


@dataclass
class Outcome:
    runs: int = 0
    passes: int = 0
    required: float = 1.0
    failures: list[str] = field(default_factory=list)
    # expectations that cannot be checked on the target's API generation: never a pass
    not_applicable: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.passes / self.runs if self.runs else 0.0

    @property
    def passed(self) -> bool:
        return self.runs > 0 and self.rate >= self.required

    def summary(self) -> str:
        return f"passed {self.passes} of {self.runs} runs ({self.rate:.0%}; required {self.required:.0%})"


@dataclass
class TurnVerdict:
    """One turn of a run: what happened (None when a call failed first) and its verdict."""

    index: int
    result: TurnResult | None
    failures: list[Failure]
    not_applicable: list[Failure]
    error: str | None = None

    @property
    def verdict(self) -> str:
        if self.error or self.failures:
            return "fail"
        return "n/a" if self.not_applicable else "pass"


# the name of the environment of no `environments:` entry (the project file's own
# targets and defaults), for --envs and --parity, unless the project declares one so named
BASE = "base"


class ConversationError(AsstDeployError):
    """The conversation could not be run at all (no project, no cassette, not deployed)."""


class Excluded(ConversationError):
    """The environment's `exclude:` leaves the script's assistant out: nothing to run, by
    choice, so the conversation is skipped there (with this reason), neither passed nor failed."""


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
            if name == BASE and BASE not in environment_names(root):
                name = None
            self._projects[key] = load_project(root, name, target)
        return self._projects[key]

    def _live_client(self, script: Script, env: str | None) -> Any:
        key = self._key(script, env)
        if key not in self._clients:
            from asst_deploy.remote import drivers
            from asst_deploy.remote.targets import connect

            backend = self._stack.enter_context(connect(self.project(script, env).target))
            self._clients[key] = drivers.live_client(backend)
        return self._clients[key]

    def _replay(self) -> Any:
        if self._replay_client is None:  # one client: each costs an SSL context
            from asst_deploy.remote import drivers
            from asst_deploy.replay.cassette import REPLAY_BASE

            self._replay_client = drivers.replay_client(REPLAY_BASE)
            self._stack.callback(self._replay_client.close)
        return self._replay_client

    def _driver(
        self, api: str, client: Any, project: Project, sleep: Any = None, record_stream: Any = None
    ) -> Driver:
        from asst_deploy.remote import drivers
        from asst_deploy.replay import cassette

        options = drivers.DriverOptions(
            root=project.root,
            environment=project.environment,
            sleep=sleep or time.sleep,
            clock=time.monotonic,
            transport_errors=(cassette.CannotOverwriteExistingCassetteException,),
            record_stream=record_stream,
        )
        return drivers.open_driver(api, client, options)

    # --- one conversation ---------------------------------------------------------------

    def cassette_path(
        self, script: Script, conversation: Conversation, api: str = "assistants"
    ) -> Path:
        from asst_deploy.remote.drivers import driver_class
        from asst_deploy.replay.cassette import path_for

        directory = self.settings.cassettes or script.path.parent / "cassettes"
        folder = directory / driver_class(api).cassette_folder
        return path_for(folder, script.path, conversation.name)

    def run(self, script: Script, conversation: Conversation, env: str | None = None) -> Outcome:
        """The conversation's verdict; `env` (else the settings' or the script's) picks the
        environment, and with it the target and its API generation."""
        return self.transcribe(script, conversation, env)[0]

    def transcribe(
        self, script: Script, conversation: Conversation, env: str | None = None
    ) -> tuple[Outcome, list[TurnVerdict]]:
        """The verdict and, turn by turn, what happened in the last run (for parity)."""
        from asst_deploy.remote import drivers
        from asst_deploy.replay import cassette

        project = self.project(script, env)
        api = project.target.api
        spec = next((a for a in project.assistants if a.key == script.assistant), None)
        if spec is None:
            raise missing(script, project)
        check_conversation(conversation, project)
        if self.settings.streaming is not None:
            conversation = replace(conversation, streaming=self.settings.streaming)
        mode = self.settings.mode
        hint = self.settings.record_hint
        path = self.cassette_path(script, conversation, api)
        print_path = _shown(path)
        form = drivers.driver_class(api).spec_form
        fingerprint = cassette.fingerprint(project, spec, form)
        verdicts: list[TurnVerdict] = []
        if mode == "once":  # pytest-recording's: record what is missing, replay the rest
            mode = "replay" if path.is_file() else "record"
        if mode == "replay":
            if not path.is_file():
                raise ConversationError(
                    f"no cassette at {print_path} for conversation '{conversation.name}'; "
                    f"record it with {hint}"
                )
            outcome = Outcome()
            with (
                cassette.network_blocked(),
                cassette.use(path, record=False, shown=print_path, hint=hint) as tape,
            ):
                cassette.check_fresh(tape, print_path, fingerprint, hint)
                recorded = cassette.info(tape)
                if isinstance(recorded.get("streaming"), bool):
                    # runs replay the way they were recorded: a streamed cassette holds no
                    # polls, and the verdict is the same either way
                    conversation = replace(conversation, streaming=recorded["streaming"])
                assistant_id = recorded.get("assistant_id")
                driver = self._driver(api, self._replay(), project, _no_sleep)
                verdicts = self._once(
                    outcome,
                    driver,
                    script,
                    conversation,
                    project,
                    spec,
                    print_path,
                    assistant_id if isinstance(assistant_id, str) else None,
                )
            return outcome, verdicts
        client = self._live_client(script, env)
        # found outside the cassette: the lookup lists every assistant of the target
        assistant = self._deployed(self._driver(api, client, project), script, project, spec)
        if mode == "record":
            outcome = Outcome()
            with cassette.use(path, record=True, live_base=str(client.base_url)) as tape:
                cassette.stamp(
                    tape,
                    {
                        "script": script.path.name,
                        "conversation": conversation.name,
                        "assistant": spec.key,
                        "api": api,
                        "assistant_id": assistant,
                        "fingerprint": fingerprint,
                        "streaming": conversation.streaming,
                        "recorded_by": f"asst-deploy {__version__}",
                    },
                )
                driver = self._driver(
                    api, client, project, record_stream=cassette.stream_recorder(tape)
                )
                verdicts = self._once(
                    outcome, driver, script, conversation, project, spec, print_path, assistant
                )
            return outcome, verdicts
        outcome = Outcome(required=conversation.pass_rate)
        driver = self._driver(api, client, project)
        for _ in range(conversation.repeat):
            verdicts = self._once(
                outcome, driver, script, conversation, project, spec, print_path, assistant
            )
        return outcome, verdicts

    def _deployed(
        self, driver: Driver, script: Script, project: Project, spec: AssistantSpec
    ) -> str:
        """The id of the deployed assistant, after checking that it and the vector stores it
        searches were applied from the specs as they are now (their hash stamps): else a
        recording would keep the old behaviour under the new spec's fingerprint."""
        try:
            deployed = driver.find(project.name, spec.key, project.target.name)
            stores = {
                key: driver.find_vector_store(project.name, key) for key in spec.vector_stores
            }
        except TurnError as exc:
            raise ConversationError(f"{script.display}: {exc}") from None
        stale = stale_objects(project, spec, deployed.metadata, stores, type(driver).spec_form)
        if stale:
            raise ConversationError(
                f"{script.display}: the deployment on target '{project.target.name}' is not "
                f"the specs' current version ({'; '.join(stale)}): run `asst-deploy apply` "
                f"first, then run the conversation again"
            )
        return deployed.id

    def _once(
        self,
        outcome: Outcome,
        driver: Driver,
        script: Script,
        conversation: Conversation,
        project: Project,
        spec: AssistantSpec,
        cassette_shown: Path,
        assistant_id: str | None = None,
    ) -> list[TurnVerdict]:
        from asst_deploy.replay import cassette
        from asst_deploy.replay.expect import check_turn

        where = f"{script.display}: conversation '{conversation.name}'"
        outcome.runs += 1
        failed_before = len(outcome.failures)
        verdicts: list[TurnVerdict] = []
        try:
            if assistant_id is None:  # a cassette recorded before assistant ids were stamped
                deployed = driver.find(project.name, spec.key, project.target.name)
            else:
                deployed = driver.get(assistant_id)
            transcript = driver.start(deployed, conversation)
            for turn in conversation.turns:
                result = driver.turn(transcript, turn, conversation)
                failures, skipped = check_turn(
                    turn,
                    result,
                    deployed.functions,
                    timeout=conversation.timeout,
                    not_applicable=driver.not_applicable,
                    api=driver.api,
                )
                verdicts.append(TurnVerdict(turn.index, result, failures, skipped))
                for s in skipped:  # once, however many times a live run repeats
                    note = (
                        f"{s.location}: conversation '{conversation.name}', turn {turn.index}, "
                        f"expectation '{s.kind}': {s.message}"
                    )
                    if note not in outcome.not_applicable:
                        outcome.not_applicable.append(note)
                if failures:
                    lines = [
                        f"{f.location}: conversation '{conversation.name}', turn {turn.index}, "
                        f"expectation '{f.kind}': {f.message}"
                        for f in failures
                    ]
                    lines += [f"transcript of turn {turn.index}:", result.render()]
                    outcome.failures.append("\n".join(lines))
                    break
            driver.finish(transcript)
        except TurnError as exc:
            verdicts.append(TurnVerdict(exc.turn, None, [], [], error=str(exc)))
            miss = cassette.mismatch(exc)
            if miss is None:
                outcome.failures.append(f"{where}, {exc}")
            else:
                outcome.failures.append(
                    f"{where}, turn {exc.turn}: replay does not match the cassette "
                    f"{cassette_shown}\n{cassette.explain(miss)}\n"
                    f"(re-record with {self.settings.record_hint} if the script changed on purpose)"
                )
            return verdicts
        if len(outcome.failures) == failed_before:
            outcome.passes += 1
        return verdicts


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
    return ConversationError(
        f"{script.display}: the project has no assistant '{script.assistant}' (it has: {keys})"
    )


def _shown(path: Path) -> Path:
    """A path relative to the working directory when it is under it (shorter messages)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def stale_objects(
    project: Project,
    spec: AssistantSpec,
    metadata: Mapping[str, Any],
    stores: Mapping[str, Mapping[str, Any] | None],
    form: SpecForm = kinds.ASSISTANT_FORM,
) -> list[str]:
    """The deployed objects whose hash stamp (what apply last wrote) is not the hash of
    their spec now (`form`: the canonical form on the target's API), each as a phrase; a
    store the spec names but the target lacks too."""
    shas = {f.path: identity.file_sha(f.abs_path) for f in project.files}
    specs = {s.key: s for s in project.vector_stores}
    found = []
    want = identity.canonical_hash(form(spec, shas))
    if identity.owner(dict(metadata)).stamp != want:
        found.append(f"assistant '{spec.key}' was applied from another version of its spec")
    for key, store in stores.items():
        if key not in specs:
            continue
        if store is None:
            found.append(f"vector store '{key}' is not deployed")
        elif identity.owner(store.get("metadata")).stamp != identity.canonical_hash(
            store_kind.from_spec(specs[key], shas)
        ):
            found.append(f"vector store '{key}' was applied from another version of its spec")
    return found


def check_conversation(conversation: Conversation, project: Project) -> None:
    """Before anything runs: attachments inside the project, and callables (`call:`,
    `predicate:`) only from the project's own modules or those it allows."""
    root = project.root.resolve()
    for turn in conversation.turns:
        for attachment in turn.attachments:
            full = (root / attachment.file).resolve()
            if not full.is_relative_to(root):
                raise ConversationError(
                    f"{attachment.location or turn.location}: attachment '{attachment.file}' "
                    f"is outside the project directory (it resolves to {full}); move the file "
                    "into the project"
                )
        calls = [
            (stub.value, turn.location) for stub in turn.functions.values() if stub.kind == "call"
        ]
        for expectation in turn.expect:
            if expectation.kind == "predicate":
                values = (
                    [expectation.value] if isinstance(expectation.value, str) else expectation.value
                )
                calls += [(value, expectation.location) for value in values]
        for target, location in calls:
            refused = refused_module(target, root, project.allow_modules)
            if refused:
                raise ConversationError(f"{location}: {refused}")


def refused_module(target: str, root: Path, allowed: tuple[str, ...]) -> str | None:
    """Why `module:function` may not be called (None when it may). Scripts run code like a
    conftest.py does; what they may import is the project's own modules (found under its
    directory, outside any site-packages) and the modules the project file allows."""
    import importlib.util

    module = target.partition(":")[0]
    if any(module == name or module.startswith(name + ".") for name in allowed):
        return None
    top = module.split(".")[0]
    try:
        found = importlib.util.find_spec(top)  # the top package only: nothing is imported
    except (ImportError, ValueError):
        found = None
    places = []
    if found is not None:
        places = [found.origin] if found.origin else list(found.submodule_search_locations or ())
    for place in places:
        if place in (None, "built-in", "frozen"):
            continue
        resolved = Path(place).resolve()
        if resolved.is_relative_to(root) and not {"site-packages", "dist-packages"} & set(
            resolved.relative_to(root).parts
        ):
            return None
    where = "cannot be found" if found is None else "is not part of the project"
    return (
        f"'{target}': module '{module}' {where}; a script may call functions of the "
        "project's own modules, or of modules listed in asst-deploy.yaml under "
        "`replay: {allow_modules: [...]}`"
    )
