"""The pytest plugin (entry point pytest11): options, collection of scripts, a rate summary.

Cheap to load in every pytest run of any project: it imports nothing of asst-deploy's until
a file matching the conversation pattern is collected, and never the openai SDK.
"""

from __future__ import annotations

import argparse
import os
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

INCONCLUSIVE = "inconclusive"
# the conversations reported in this run (the controller's: all of an xdist run's)
REPORTS = pytest.StashKey[list[dict[str, Any]]]()


class _Collector:
    """Keeps each conversation's details as its report arrives (a plugin per run)."""

    def __init__(self, kept: list[dict[str, Any]]) -> None:
        self.kept = kept

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        detail = getattr(report, "asst_detail", None)
        if report.when == "call" and isinstance(detail, dict):
            self.kept.append(detail)


def _verdict(report: Any) -> str | None:
    for name, value in getattr(report, "user_properties", ()) or ():
        if name == "asst_verdict":
            return str(value)
    return None


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
    group.addoption(
        "--asst-budget-usd",
        type=float,
        metavar="USD",
        default=None,
        help="The most the whole run may spend (priced from usage); a conversation the "
        "budget stops is inconclusive.",
    )
    group.addoption(
        "--asst-allow-inconclusive",
        action="store_true",
        default=False,
        help="Inconclusive conversations (stopped by a budget) do not fail the run.",
    )
    group.addoption(
        "--asst-html",
        metavar="PATH",
        default=None,
        help="Write a self-contained HTML report of the conversations (verdicts, costs, "
        "transcripts, each expectation's verdict).",
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
    budget = config.getoption("asst_budget_usd", None)
    if budget is not None:
        if not budget > 0:
            raise pytest.UsageError(f"--asst-budget-usd must be more than 0, not {budget}")
        if not hasattr(config, "workerinput"):  # the controller (or the only process)
            import tempfile

            from asst_deploy.replay.items import LEDGER

            handle, path = tempfile.mkstemp(prefix="asst-deploy-budget-", suffix=".json")
            os.close(handle)
            config.stash[LEDGER] = path
            config.add_cleanup(lambda: os.unlink(path))
    kept: list[dict[str, Any]] = []
    config.stash[REPORTS] = kept
    config.pluginmanager.register(_Collector(kept), "asst-deploy-reports")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker counts against the one budget file of the run."""
    from asst_deploy.replay.items import LEDGER

    path = node.config.stash.get(LEDGER, None)
    if path:
        node.workerinput["asst_ledger"] = path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    detail = getattr(item, "asst_detail", None)
    if report.when != "call" or not hasattr(item, "conversation"):
        return report
    if detail is None:  # it could not run at all (no cassette, excluded...): said why
        detail = _unrun(item, report)
    report.asst_detail = detail  # a plain dict: it travels from xdist workers too
    if detail["verdict"] == INCONCLUSIVE and item.config.getoption("asst_allow_inconclusive"):
        path, line, _ = item.reportinfo()
        report.outcome = "skipped"
        report.longrepr = (str(path), (line or 0) + 1, f"inconclusive: {detail['message']}")
    return report


def _unrun(item: Any, report: pytest.TestReport) -> dict[str, Any]:
    longrepr = report.longrepr
    message = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr or "")
    return {
        "script": item.script.display,
        "conversation": item.name,
        "env": item.env,
        "api": item.api,
        "mode": "",
        "verdict": "skipped" if report.skipped else "fail",
        "runs": 0,
        "passes": 0,
        "cost": 0.0,
        "latency": 0.0,
        "message": message,
        "turns": [],
    }


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    """An inconclusive conversation is counted apart ("2 inconclusive"), never as passed."""
    if report.when == "call" and _verdict(report) == INCONCLUSIVE:
        return INCONCLUSIVE, "I", ("INCONCLUSIVE", {"yellow": True})
    return None


@pytest.hookimpl(tryfirst=True)  # before junitxml writes its file
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    details = config.stash.get(REPORTS, None)
    if not details:
        return
    from asst_deploy.replay import costs

    spent = costs.total([d["cost"] for d in details])
    try:
        from _pytest.junitxml import xml_key

        xml = config.stash.get(xml_key, None)
    except ImportError:  # pragma: no cover - a pytest without the stash key
        xml = None
    if xml is not None:
        xml.add_global_property("asst_run_cost_usd", "unknown" if spent is None else f"{spent:.6f}")
        counts = {v: sum(d["verdict"] == v for d in details) for v in (INCONCLUSIVE,)}
        xml.add_global_property("asst_inconclusive_count", str(counts[INCONCLUSIVE]))
    html = config.getoption("asst_html", None)
    if html:
        from asst_deploy.replay import report

        Path(html).write_text(report.html(details), encoding="utf-8")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("asst_conversation_files")
    if not any(fnmatch(file_path.name, p) for p in patterns):
        return None
    from asst_deploy.replay.items import ScriptFile

    return ScriptFile.from_parent(parent, path=file_path)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Observed pass rates and spreads of conversations run more than once (live repeats),
    the conversations a budget stopped, what was not applicable, and what it all cost."""
    reports = [
        report
        for name in ("passed", "failed", "skipped", INCONCLUSIVE)
        for report in terminalreporter.stats.get(name, ())
        if getattr(report, "when", None) == "call"
    ]
    lines = []
    for report in reports:
        props = dict(getattr(report, "user_properties", ()) or ())
        if props.get("asst_runs", 1) > 1:
            runs, passes = props["asst_runs"], props["asst_passes"]
            lines.append(
                f"{report.nodeid}: {passes}/{runs} passed ({passes / runs:.0%}; "
                f"required {props['asst_required_rate']:.0%})"
            )
            if props.get("asst_spread"):
                lines.append(f"  {props['asst_spread']}")
    if lines:
        terminalreporter.write_sep("=", "conversation pass rates")
        for line in lines:
            terminalreporter.write_line(line)
    stopped = [
        (report.nodeid, value)
        for report in reports
        for name, value in getattr(report, "user_properties", ()) or ()
        if name == "asst_inconclusive"
    ]
    if stopped:
        allowed = config.getoption("asst_allow_inconclusive", False)
        terminalreporter.write_sep(
            "=",
            "inconclusive: stopped by a budget (not passed"
            + (", allowed by --asst-allow-inconclusive)" if allowed else "; the run fails)"),
            yellow=True,
        )
        for nodeid, why in stopped:
            terminalreporter.write_line(f"{nodeid}: {why}")
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
    _costs(terminalreporter, reports)


def _costs(terminalreporter: Any, reports: list[Any]) -> None:
    """Each conversation's cost (turn by turn, grading apart) and the run's."""
    from asst_deploy.replay import costs

    rows = []
    for report in reports:
        props = dict(getattr(report, "user_properties", ()) or ())
        if "asst_cost_usd" not in props:
            continue
        turns = sorted(
            (int(name.rsplit("_", 1)[1]), value)
            for name, value in props.items()
            if name.startswith("asst_cost_usd_turn_")
        )
        amount = _usd(props["asst_cost_usd"])
        parts = [f"turn {i} {costs.usd(_usd(v))}" for i, v in turns]
        if "asst_grading_cost_usd" in props:
            parts.append(f"grading {costs.usd(_usd(props['asst_grading_cost_usd']))}")
        rows.append((report.nodeid, amount, parts))
    if not rows:
        return
    terminalreporter.write_sep("=", "conversation costs (USD, priced from usage)")
    for nodeid, amount, parts in rows:
        terminalreporter.write_line(
            f"{nodeid}: {costs.usd(amount)}" + (f" ({', '.join(parts)})" if parts else "")
        )
    terminalreporter.write_line(f"run total: {costs.usd(costs.total([r[1] for r in rows]))}")


def _usd(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
