"""The built site as a person sees it: headless Chromium (Debian's `chromium`) renders the
home page and a reference page, served over HTTP as a host would; the DOM has the
navigation and a code block, and the screenshot shows them (not a blank page). Set
ASST_DEPLOY_SCREENSHOTS=DIR to keep the screenshots for a look."""

from __future__ import annotations

import functools
import os
import shutil
import struct
import subprocess
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # builds the site and starts a browser

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PAGES = {"index": "", "reference-cli-plan": "reference/cli/plan/"}
WIDTH, HEIGHT = 1280, 1000
CODE_BACKGROUND = (245, 245, 245)  # Material's --md-code-bg-color in the light scheme


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail(f"CI must have a headless browser (apt-get install chromium): {BROWSERS}")
    pytest.skip(f"no headless browser installed ({', '.join(BROWSERS)}); CI has one")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The built site over HTTP on a free loopback port (file:// would not open the
    directories' index.html as a host does)."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    command = [
        browser(),
        "--headless",
        "--no-sandbox",  # as root in a container; harmless elsewhere
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def pixels(png: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and RGB rows of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        data = png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            chunks.append(data)
        position += 12 + length
    width, height, depth, color, _compression, _filter, interlace = struct.unpack(
        ">IIBBBBB", header
    )
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[list[tuple[int, int, int]]] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + best) & 0xFF
        rows.append(
            [tuple(line[x : x + 3]) for x in range(0, stride, channels)]  # type: ignore[misc]
        )
        previous = line
    return width, height, rows


@pytest.mark.parametrize("name", PAGES)
def test_a_page_shows_its_navigation_and_its_code(name: str, served: str, tmp_path: Path) -> None:
    url = served + PAGES[name]
    dom = chromium("--dump-dom", url, profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr
    page = dom.stdout
    assert 'class="md-nav md-nav--primary' in page, "the navigation is in the DOM"
    for section in ("Tutorial", "How-to guides", "Concepts", "Reference"):
        assert section in page, section
    assert "<pre" in page and "<code" in page, "a code block is in the DOM"

    shot = tmp_path / f"{name}.png"
    taken = chromium(f"--screenshot={shot}", url, profile=tmp_path / "profile-shot")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr
    keep = os.environ.get("ASST_DEPLOY_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
    width, height, rows = pixels(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    everything = Counter(p for row in rows for p in row)
    _background, count = everything.most_common(1)[0]
    assert count < 0.95 * width * height, "the page is not blank"
    # the navigation: dark text in the left column, below the header bar
    nav = [p for row in rows[120:700] for p in row[30:250]]
    assert sum(1 for p in nav if sum(p) < 3 * 140) > 500, "the navigation's text shows"
    # a code block: its grey background, a good part of a line of the main column wide
    code_rows = [
        row for row in rows[120:] if sum(1 for p in row[300:980] if p == CODE_BACKGROUND) > 400
    ]
    assert len(code_rows) > 30, "a code block shows"
