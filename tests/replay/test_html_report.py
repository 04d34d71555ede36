"""The HTML report as a person sees it: headless Chromium (Debian's package) renders the
example's report (a failing grade among the verdicts) and a parity run's, and the test
reads what is on screen: the verdict table, the failing turn's reason from the grader, a
screenshot that is not blank."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.shared import in_ci

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "specs"
FAILING_REASON = "It never shows its working: the grader wants each step."

# Appended to a copy of the report: says, for each selector or text, whether it is on
# screen (laid out, not hidden, inside no closed <details>), as JSON in #probe.
PROBE = """
<script>
function shown(el) {
  if (!el) return false;
  const box = el.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) return false;
  for (let up = el; up; up = up.parentElement) {
    const style = getComputedStyle(up);
    if (style.display === 'none' || style.visibility === 'hidden') return false;
    if (up.tagName === 'DETAILS' && !up.open && up !== el) {
      if (!up.querySelector(':scope > summary').contains(el)) return false;
    }
  }
  return true;
}
function byText(text) {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    if (walker.currentNode.nodeValue.includes(text)) return walker.currentNode.parentElement;
  }
  return null;
}
const found = {};
for (const [name, what] of Object.entries(WANTED)) {
  const el = what.startsWith('text:') ? byText(what.slice(5)) : document.querySelector(what);
  found[name] = {shown: shown(el), text: el ? el.innerText.slice(0, 400) : null};
}
const probe = document.createElement('pre');
probe.id = 'probe';
probe.textContent = JSON.stringify(found);
document.body.appendChild(probe);
</script>
"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "headless Chromium is not installed (Debian: apt-get install chromium)"
    if in_ci():
        pytest.fail(reason + "; .ci/run installs it")
    pytest.skip(reason)


def _browse(page: Path, wanted: dict[str, str], shot: Path) -> dict[str, dict[str, object]]:
    """What of `wanted` Chromium shows on `page`; its screenshot goes to `shot`."""
    browser = _chromium()
    flags = [
        "--headless",
        "--no-sandbox",  # as root in CI
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1280,1600",
        f"--user-data-dir={shot.parent / 'chromium-profile'}",
    ]
    probed = page.with_name(page.stem + "-probed.html")
    script = PROBE.replace("WANTED", json.dumps(wanted))
    probed.write_text(page.read_text().replace("</body>", script + "</body>"))
    dom = subprocess.run(
        [browser, *flags, "--virtual-time-budget=3000", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    start = dom.stdout.index('<pre id="probe">') + len('<pre id="probe">')
    found: dict[str, dict[str, object]] = json.loads(
        dom.stdout[start : dom.stdout.index("</pre>", start)].replace("&quot;", '"')
        .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )  # fmt: skip
    done = subprocess.run(
        [browser, *flags, f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    return found


def _pixels(png: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks, header = 8, [], b""
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + size]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        at += 12 + size
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    step = 4 if colour == 6 else 3
    raw = zlib.decompress(b"".join(chunks))
    stride = width * step
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (
                    line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
                ) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def _ink(png: Path) -> float:
    """The share of the screenshot's pixels that are not the page's white."""
    width, height, rows = _pixels(png)
    step = len(rows[0]) // width
    inked = sum(
        1
        for row in rows[::4]
        for x in range(0, width * step, step * 4)
        if min(row[x : x + 3]) < 235
    )
    return inked / ((height // 4 + 1) * (width // 4 + 1))


@pytest.fixture
def example(tmp_path: Path) -> Path:
    root = tmp_path / "example"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".asst-deploy"))
    return root


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ASST_DEPLOY_MODE")}
    return subprocess.run(
        [sys.executable, "-m", "asst_deploy", *args], cwd=root, capture_output=True,
        text=True, timeout=180, env=env,
    )  # fmt: skip


def test_the_examples_report_shows_its_verdicts_and_a_failing_grade(
    example: Path, tmp_path: Path
) -> None:
    # the sandbox's grader rule for the tutor now fails its turn, with a reason
    rules = example / "sandbox-rules.yaml"
    text = rules.read_text()
    passing = 'verdict: {pass: true, score: 0.95, reason: "It works the equation out step by step and gives x = {match[x]}."}'
    assert passing in text
    rules.write_text(
        text.replace(passing, f'verdict: {{pass: false, score: 0.3, reason: "{FAILING_REASON}"}}')
    )
    assert _cli(example, "apply", ".", "--auto-approve").returncode == 0
    report = tmp_path / "report.html"
    done = _cli(example, "test", "conversations", "--mode", "live", "--html", str(report))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 4 passed" in done.stdout  # the tutor's quickstart: its grade failed
    assert f"the grader failed the turn (score 0.30): {FAILING_REASON}" in done.stdout
    html = report.read_text()
    assert "http://" not in html and "https://" not in html  # nothing from the network

    found = _browse(
        report,
        {
            "table": "table.verdicts",
            "failing verdict": "table.verdicts tr.failed-row .badge.fail",
            "reason": f"text:{FAILING_REASON}",
            "passing transcript": "details.conversation:not([open]) .turn",
        },
        tmp_path / "report.png",
    )
    assert found["table"]["shown"], found
    assert "math-tutor.conv.yaml::quickstart" in str(found["table"]["text"])
    assert found["failing verdict"]["shown"], found
    assert found["reason"]["shown"], found  # the failing turn's reason, open to read
    assert not found["passing transcript"]["shown"]  # passing conversations stay folded
    assert _ink(tmp_path / "report.png") > 0.02  # a page, not a blank


def test_a_parity_report_shows_both_environments_side_by_side(
    example: Path, tmp_path: Path
) -> None:
    report = tmp_path / "parity.html"
    done = _cli(
        example, "test", "conversations", "parity", "--parity", "base:replay", "agents:replay",
        "--html", str(report),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # the deliberate fixture is lost
    found = _browse(
        report,
        {
            "table": "table.parity",
            "lost": "tr.lost-row",
            "why": "text:agents lost the verdict",
        },
        tmp_path / "parity.png",
    )
    assert found["table"]["shown"] and found["lost"]["shown"] and found["why"]["shown"], found
    assert "cites-nothing" in str(found["lost"]["text"])
    assert "n/a" in str(found["lost"]["text"]) and "pass" in str(found["lost"]["text"])
    assert _ink(tmp_path / "parity.png") > 0.02
