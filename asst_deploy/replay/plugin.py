"""The pytest plugin (entry point pytest11): options, collection of scripts, a rate summary.

Cheap to load in every pytest run of any project: it imports nothing of asst-deploy's until
a file matching the conversation pattern is collected, and never the openai SDK.
"""

from __future__ import annotations

import argparse
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asst-deploy", "asst-deploy conversation tests")
    group.addoption(
        "--asst-mode",
        # the harness's MODE_CHOICES, written out: this module imports nothing of asst-deploy's
        choices=("live", "record", "replay", "once", "none", "rewrite"),
        default=None,
        help="live: talk to the target; record (rewrite): live, and (re)write cassettes; "
        "replay (none): cassettes only, network blocked; once: replay the conversations that "
        "have a cassette, record those that have none, never overwrite one. Default: $ASST_DEPLOY_MODE, else replay when $CI "
        "is set, else live.",
    )
    group.addoption(
        "--asst-cassettes",
        metavar="DIR",
        help="Cassette directory (default: cassettes/ next to each script).",
    )
    group.addoption(
        "--asst-env", metavar="NAME", help="Environment of the project (overrides the script's)."
    )
    group.addoption(
        "--asst-envs",
        metavar="ENV,ENV",
        help="Run every conversation on each of these environments (comma-separated); the "
        "API generation of each becomes part of the test id, e.g. paris[agents].",
    )
    group.addoption(
        "--asst-target", metavar="NAME", help="Target to talk to (overrides the script's)."
    )
    group.addoption(
        "--asst-project",
        metavar="DIR",
        help="Project directory (default: the nearest parent with asst-deploy.yaml).",
    )
    group.addoption(
        "--asst-runs",
        choices=("stream", "poll"),
        default=None,
        help="Stream runs or poll them, whatever the scripts say.",
    )
    group.addoption(  # set by `asst-deploy test`, so hints name its options
        "--asst-record-hint", default=None, help=argparse.SUPPRESS
    )
    parser.addini(
        "asst_conversation_files",
        type="args",
        default=["*.conv.yaml"],
        help="Glob patterns of conversation script file names (default: *.conv.yaml).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "asst_conversation: a test collected from a conversation script"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("asst_conversation_files")
    if not any(fnmatch(file_path.name, p) for p in patterns):
        return None
    from asst_deploy.replay.items import ScriptFile

    return ScriptFile.from_parent(parent, path=file_path)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Observed pass rates of conversations run more than once (live repeats)."""
    lines = []
    for report in [
        *terminalreporter.stats.get("passed", ()),
        *terminalreporter.stats.get("failed", ()),
    ]:
        props = dict(getattr(report, "user_properties", ()) or ())
        if report.when == "call" and props.get("asst_runs", 1) > 1:
            runs, passes = props["asst_runs"], props["asst_passes"]
            lines.append(
                f"{report.nodeid}: {passes}/{runs} passed ({passes / runs:.0%}; "
                f"required {props['asst_required_rate']:.0%})"
            )
    if lines:
        terminalreporter.write_sep("=", "conversation pass rates")
        for line in lines:
            terminalreporter.write_line(line)
    skipped = [
        (report.nodeid, value)
        for report in terminalreporter.stats.get("passed", ())
        if report.when == "call"
        for name, value in getattr(report, "user_properties", ()) or ()
        if name == "asst_not_applicable"
    ]
    if skipped:
        terminalreporter.write_sep("=", "expectations not applicable (not checked, not passed)")
        for nodeid, what in skipped:
            terminalreporter.write_line(f"{nodeid}: {what}")
