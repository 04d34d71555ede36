"""Every command's output on the example project, to diff before and after a change that
must not change behaviour: `python .ci/outputs.py save DIR` runs the commands below on a
copy of specs/ against fresh sandbox databases and writes what each printed (stdout,
stderr, exit code) to DIR; `python .ci/outputs.py check DIR` runs them again and diffs.
Ids, timings and temporary paths are masked, as they differ from run to run."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVS = ("base", "agents", "responses")
COMMANDS: list[tuple[str, ...]] = [
    ("--help",),
    *[
        (name, "--help")
        for name in (
            "validate",
            "plan",
            "apply",
            "destroy",
            "force-unlock",
            "import",
            "export",
            "schema",
            "render",
            "test",
            "sandbox",
            "scan-cassettes",
        )
    ],
    ("validate", "P"),
    ("validate", "P", "--matrix"),
    ("validate", "P", "--json"),
    ("schema", "spec"),
    ("schema", "conversation"),
    ("schema", "plan"),
    ("render", "weather", "--dir", "P"),
    ("scan-cassettes", "P/conversations"),
]
for env in ENVS:
    e = () if env == "base" else ("--env", env)
    COMMANDS += [
        ("plan", "P", *e),
        ("plan", "P", *e, "--json"),
        ("plan", "P", *e, "--markdown"),
        ("plan", "P", *e, "--out", "P/saved.json"),
        ("apply", "P/saved.json"),
        ("plan", "P", *e, "--detailed-exitcode"),
        ("apply", "P", *e, "--auto-approve", "--json"),
        ("plan", "P", *e, "--destroy"),
        ("plan", "P", *e, "--refresh-only", "--prune"),  # an option conflict
        ("apply", "P", *e, "--refresh-only", "--replace", "weather"),
        ("export", "--all", "--out", "P/exported", "--dir", "P", *e),
        ("destroy", "P", *e, "--auto-approve"),
        ("apply", "P", *e, "--auto-approve"),
    ]
COMMANDS += [("test", "P/conversations", "--mode", "replay")]

MASKS = [
    (re.compile(r"\bfile-[A-Za-z0-9]{10,}"), "file-<id>"),
    (
        re.compile(
            r"\b(asst|agent|vs|file|envtpl|tmpl|resp|conv|msg|run|thread|lease|batch)_[A-Za-z0-9]{6,}"
        ),
        r"\1_<id>",
    ),
    (re.compile(r"\d+(\.\d+)? ?(s|ms)\b"), "<t>"),
    (re.compile(r'"seconds": [0-9.]+'), '"seconds": <t>'),
    (re.compile(r'"(created_at|acquired_at)": \d+'), r'"\1": <t>'),
    (re.compile(r"[0-9a-f]{64}"), "<sha256>"),
    (re.compile(r"[0-9a-f]{12,40}"), "<hex>"),
]


# lines of objects that parallel calls or random ids put in no fixed order
_UNORDERED = re.compile(r"^\s*[-+~] [a-z_]+ ")


def _unordered_runs_sorted(text: str) -> str:
    lines, run, out = text.splitlines(True), [], []
    for line in [*lines, ""]:
        if line and _UNORDERED.match(line):
            run.append(line)
            continue
        out += sorted(run)
        run = []
        out.append(line)
    return "".join(out)


def run_all(work: Path) -> dict[str, str]:
    project = work / "P"
    shutil.copytree(ROOT / "specs", project, ignore=shutil.ignore_patterns(".asst-deploy"))
    # this checkout's package, whatever is installed
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", "PYTHONPATH": str(ROOT)}
    env.pop("OPENAI_API_KEY", None)
    out: dict[str, str] = {}
    for i, argv in enumerate(COMMANDS):
        args = [a.replace("P", str(project), 1) if a.startswith("P") else a for a in argv]
        done = subprocess.run(
            [sys.executable, "-m", "asst_deploy", *args],
            capture_output=True,
            text=True,
            cwd=work,
            env=env,
            timeout=300,
            check=False,
        )
        text = f"$ asst-deploy {' '.join(argv)}\n[exit {done.returncode}]\n{done.stdout}\n--- stderr\n{done.stderr}"
        text = text.replace(str(project), "P").replace(str(work), "W")
        for pattern, repl in MASKS:
            text = pattern.sub(repl, text)
        out[f"{i:03d}"] = _unordered_runs_sorted(text)
    return out


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("save", "check"):
        print(__doc__, file=sys.stderr)
        return 1
    where = Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        outputs = run_all(Path(tmp))
    if sys.argv[1] == "save":
        where.mkdir(parents=True, exist_ok=True)
        for name, text in outputs.items():
            (where / f"{name}.txt").write_text(text)
        print(f"saved {len(outputs)} outputs to {where}")
        return 0
    changed = 0
    for name, text in outputs.items():
        before = (where / f"{name}.txt").read_text() if (where / f"{name}.txt").exists() else ""
        if before != text:
            changed += 1
            sys.stdout.writelines(
                difflib.unified_diff(
                    before.splitlines(True),
                    text.splitlines(True),
                    f"before/{name}",
                    f"after/{name}",
                )
            )
    print(f"{len(outputs) - changed} of {len(outputs)} outputs identical")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
