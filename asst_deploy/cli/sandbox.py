"""`asst-deploy sandbox serve`: the local Assistants v2 server, with optional fault injection."""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import click
import yaml

from asst_deploy import yamlpos
from asst_deploy.cli.common import current_output
from asst_deploy.errors import AsstDeployError, Location, Problem
from asst_deploy.sandbox.faults import FaultConfig, FaultRule

if TYPE_CHECKING:
    from asst_deploy.sandbox.model import ScriptedModel

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fault_config(
    faults_file: Path | None,
    *,
    seed: int,
    fault_rate: float,
    rate_429: float,
    rate_500: float,
    rate_503: float,
    drop_rate: float,
    commit_fail_rate: float,
    latency_ms: float,
    jitter_ms: float,
    retry_after: int,
) -> FaultConfig:
    """Rules from the file first, then one catch-all rule from the flags (if any is set).

    --fault-rate spreads its probability evenly over the five fault kinds.
    """
    config = FaultConfig(seed=seed)
    if faults_file is not None:
        data = yaml.safe_load(faults_file.read_text()) or {}
        if not isinstance(data, dict):
            raise AsstDeployError(f"{faults_file}: expected a mapping with 'rules' (and 'seed')")
        try:
            config = FaultConfig.from_dict({"seed": seed, **data})
        except (TypeError, ValueError) as exc:
            raise AsstDeployError(f"{faults_file}: {exc}") from exc
    share = fault_rate / 5
    try:
        rule = FaultRule(
            latency_ms=latency_ms,
            jitter_ms=jitter_ms,
            retry_after=retry_after,
            rate_429=rate_429 + share,
            rate_500=rate_500 + share,
            rate_503=rate_503 + share,
            rate_drop=drop_rate + share,
            rate_commit_then_fail=commit_fail_rate + share,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if rule != FaultRule(retry_after=retry_after):
        config.rules.append(rule)
    return config


def load_rules(path: Path) -> ScriptedModel:
    """The rules file, or an AsstDeployError naming the file, the rule (its line and
    `match`) and what to fix: a bad rule is the user's file, not a bug of the sandbox."""
    from asst_deploy.sandbox.model import RuleError, ScriptedModel

    try:
        return ScriptedModel.from_file(path)
    except RuleError as exc:
        where, rule = _failing_rule(path)
        if isinstance(where, Problem):  # the YAML itself: its own located message
            message = str(where)
        elif where is not None:
            message = f"{where}: rule {rule}: {exc}"
        else:  # about the file as a whole; the message names it already
            message = str(exc)
        raise AsstDeployError(
            f"{message}\nFix the rules file {path} and serve again; nothing was served."
        ) from None


def _failing_rule(path: Path) -> tuple[Location | Problem | None, str]:
    """Where the first rule that does not load is (the line of its `match`, else of the
    rule) and how to name it, or the file's YAML problem: ScriptedModel's errors say what
    is wrong, not where."""
    from asst_deploy.sandbox.model import Rule, RuleError

    problems: list[Problem] = []
    docs = yamlpos.parse(path.read_text(encoding="utf-8"), str(path), problems)
    if problems:
        return problems[0], ""
    if len(docs) != 1:
        return None, ""
    doc = docs[0]
    base: tuple[str, ...] = ("rules",) if isinstance(doc.data, dict) else ()
    rules = doc.data.get("rules") if base else doc.data
    for index, raw in enumerate(rules if isinstance(rules, list) else ()):
        try:
            Rule.from_dict(raw)
        except (RuleError, TypeError, AttributeError):
            match = raw.get("match") if isinstance(raw, dict) else None
            at: yamlpos.JsonPath = (*base, index, *(("match",) if match is not None else ()))
            name = f"{index + 1}" + (f" (match {match!r})" if match is not None else "")
            return doc.where(at), name
    return None, ""


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another process holds before saying "listening" (uvicorn would print
    its own bind error afterwards, and exit 1 with a traceback-like log)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as uvicorn binds: a port left in TIME_WAIT by a previous run is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise AsstDeployError(
                    f"port {port} on {host} is already in use (another `asst-deploy sandbox "
                    "serve`?); stop that process, or choose another port with --port N "
                    "(--port 0 picks a free one)"
                ) from None
            raise AsstDeployError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


_rate = click.FloatRange(0.0, 1.0)


@click.group()
def sandbox() -> None:
    """The built-in sandbox: a local server that answers like the OpenAI Assistants v2 API."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file (default: in memory).",
)
@click.option(
    "--api-key",
    envvar="ASST_DEPLOY_SANDBOX_API_KEY",
    help="Require this Bearer key (env ASST_DEPLOY_SANDBOX_API_KEY).",
)
@click.option(
    "--rules",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Model rules file (YAML).",
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Fault rules file (YAML/JSON).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the fault generator.")
@click.option(
    "--fault-rate", default=0.0, type=_rate, help="Probability of any fault, spread over all kinds."
)
@click.option("--rate-429", default=0.0, type=_rate, help="Probability of a 429 with Retry-After.")
@click.option("--rate-500", default=0.0, type=_rate)
@click.option("--rate-503", default=0.0, type=_rate)
@click.option(
    "--drop-rate",
    default=0.0,
    type=_rate,
    help="Probability of closing the connection mid-response.",
)
@click.option(
    "--commit-fail-rate",
    default=0.0,
    type=_rate,
    help="Probability of committing, then answering 500.",
)
@click.option(
    "--latency-ms", default=0.0, type=click.FloatRange(0), help="Added latency per request."
)
@click.option(
    "--jitter-ms", default=0.0, type=click.FloatRange(0), help="Random extra latency, 0..N ms."
)
@click.option(
    "--retry-after",
    default=1,
    show_default=True,
    type=click.IntRange(0),
    help="Retry-After seconds of injected 429s.",
)
@click.option(
    "--processing-delay",
    default=0.0,
    type=click.FloatRange(0),
    help="Seconds vector-store files stay in_progress.",
)
@click.option(
    "--step-delay",
    type=click.FloatRange(0),
    help="Seconds each run transition takes (default 0.1, or the rules file's step_delay).",
)
@click.option(
    "--max-upload-mb",
    default=512,
    show_default=True,
    type=click.IntRange(1),
    help="Largest accepted file upload.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME",
    help="A model name to serve on every API (repeatable; default: each API's own models).",
)
@click.option("--any-model", is_flag=True, help="Accept any model name.")
def serve(
    host: str,
    port: int,
    db: Path | None,
    api_key: str | None,
    rules: Path | None,
    faults_file: Path | None,
    seed: int,
    fault_rate: float,
    rate_429: float,
    rate_500: float,
    rate_503: float,
    drop_rate: float,
    commit_fail_rate: float,
    latency_ms: float,
    jitter_ms: float,
    retry_after: int,
    processing_delay: float,
    step_delay: float | None,
    max_upload_mb: int,
    models: tuple[str, ...],
    any_model: bool,
) -> None:
    """Serve the sandbox until Ctrl-C; point the openai SDK at http://HOST:PORT/v1."""
    import uvicorn

    from asst_deploy.sandbox.app import Sandbox, create_app
    from asst_deploy.sandbox.server import JSONErrorProtocol
    from asst_deploy.sandbox.store import Store

    output = current_output()
    if not is_loopback(host):
        output.warn(
            f"binding {host} exposes the sandbox beyond this machine"
            + ("" if api_key else " with no API key required")
            + "."
        )
    faults = fault_config(
        faults_file,
        seed=seed,
        fault_rate=fault_rate,
        rate_429=rate_429,
        rate_500=rate_500,
        rate_503=rate_503,
        drop_rate=drop_rate,
        commit_fail_rate=commit_fail_rate,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        retry_after=retry_after,
    )
    # before the store: a mistake in the rules must leave no --db file behind
    model = load_rules(rules) if rules is not None else None
    state = Sandbox(
        store=Store(str(db) if db else None),
        api_key=api_key,
        processing_delay=processing_delay,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
        faults=faults,
    )
    if model is not None:
        state.model = model
    if any_model and models:
        raise click.UsageError("choose one of --model and --any-model")
    if any_model or models:
        state.serve_models(None if any_model else models)
    check_port_free(host, port)
    if step_delay is not None:
        state.model.step_delay = step_delay
    output.note(f"Sandbox listening on http://{host}:{port}/v1")
    if faults.rules:
        output.note(f"Fault rules: {json.dumps([vars(r) for r in faults.rules])}")
    uvicorn.run(
        create_app(state),
        host=host,
        port=port,
        http=JSONErrorProtocol,
        log_level="warning",
        server_header=False,
    )
