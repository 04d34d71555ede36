"""find_credentials and `asst-deploy scan-cassettes`: what counts as a credential in a
cassette, what a scrubber may leave behind, and that a finding never shows the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from asst_deploy.cli import cli
from asst_deploy.replay.cassette import REDACTED, _scrub_text
from asst_deploy.secrets import find_credentials, is_placeholder, mask

REPO = Path(__file__).resolve().parents[2]
from tests.shared import RECORDINGS, require  # noqa: E402

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"

CASES = {
    "vcrpy list item": (
        "    headers:\n      Authorization:\n      - Bearer abcdefghijklmnopqrstuvwxyz\n",
        [(3, "an Authorization header"), (3, "a Bearer token")],
    ),
    "api key anywhere": (
        f'body: \'{{"note": "my key is {KEY}"}}\'\n',
        [(1, "an OpenAI API key (sk-...)")],
    ),
    "json cassette": (
        f'{{"headers": {{\n  "authorization": ["Bearer {KEY}"],\n  "x-api-key": ["k-123"]}}}}\n',
        [
            (2, "an Authorization header"),
            (2, "an OpenAI API key (sk-...)"),
            (2, "a Bearer token"),
            (3, "an x-api-key header"),
        ],
    ),
    "inline cookie": ("      cookie: __cf_bm=abc123; _cfuvid=def456\n", [(1, "a Cookie header")]),
    "folded set-cookie, one finding": (
        "      Set-Cookie:\n      - __cf_bm=abc;\n        path=/; HttpOnly\n      Server:\n      - x\n",
        [(2, "a Set-Cookie header")],
    ),
    "organization and project": (
        "      OpenAI-Organization:\n      - org-abc\n      openai-project: proj_abc\n",
        [(2, "an OpenAI-Organization header"), (3, "an OpenAI-Project header")],
    ),
    "api-key header (Azure style)": (
        "      api-key:\n      - 0123456789abcdef\n",
        [(2, "an api-key header")],
    ),
}

SCRUBBED = [
    "      Authorization:\n      - Bearer <OPENAI_ACCESS_TOKEN>\n",
    "      Authorization:\n      - REDACTED\n",
    "      authorization: '***'\n",
    "      Authorization: []\n",
    "      Authorization:\n      - Bearer sandbox\n",
    "      Authorization: ${OPENAI_API_KEY}\n",
    "      cookie: null\n",
    "      openai-organization: ''\n",
    '  "authorization": ["<redacted>"]\n',
    "      Accept:\n      - application/json\n",  # not a credential header at all
    "uses scikit-learn (sk-learn) and sk-1234\n",  # too short for a key
    "x-authorization-mode: strict\n",  # a different header
]


@pytest.mark.parametrize("text,expected", CASES.values(), ids=list(CASES))
def test_finds(text: str, expected: list[tuple[int, str]]) -> None:
    assert find_credentials(text) == expected


@pytest.mark.parametrize("text", SCRUBBED)
def test_scrubbed_or_harmless_text_is_clean(text: str) -> None:
    assert find_credentials(text) == []


def test_placeholders() -> None:
    assert is_placeholder("") and is_placeholder("Bearer <REDACTED>") and is_placeholder("XXXX")
    assert not is_placeholder("Bearer abcdefghijklmnop") and not is_placeholder("org-abc")


def test_hostile_lines_are_scanned_in_linear_time() -> None:
    # 4000 asterisks took 44 s and 64 000 x 27 s (a backtracking placeholder regex). The
    # scan runs in a child process so that a regression fails after the bound instead of
    # hanging the suite; the bound is loose (a machine shared with other work).
    hostile = [
        "Authorization: " + "*" * 100_000 + "a",
        "Authorization:\n  - Bearer " + "*" * 100_000 + "a",
        "Authorization: " + "x" * 100_000 + "a",
        "x" * 100_000,
        "Authorization:\n" + "- ***\n" * 20_000,
        "- cookie: |\n" * 20_000,
        "Bearer " * 15_000 + "sk-" * 30_000,
    ]
    program = (
        "import sys, time, json\n"
        "from asst_deploy.secrets import find_credentials\n"
        "texts = json.load(sys.stdin)\n"
        "start = time.perf_counter()\n"
        "for text in texts: find_credentials(text)\n"
        "print(time.perf_counter() - start)\n"
    )
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", program],
        input=json.dumps(hostile),
        capture_output=True,
        text=True,
        timeout=20,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 5, done.stdout


@pytest.mark.parametrize("key", ["sk-proj-abc12345", "sk-abcdefgh", "sk-svcacct-0123456789", KEY])
def test_the_scrubber_removes_every_key_the_scan_flags(key: str) -> None:
    text = f"body: 'my key is {key}, and Authorization: Bearer {key}'"
    assert find_credentials(text) == [(1, "an OpenAI API key (sk-...)"), (1, "a Bearer token")]
    scrubbed = _scrub_text(text)
    assert key not in scrubbed and REDACTED in scrubbed
    assert find_credentials(scrubbed) == []


def test_mask_never_shows_a_whole_key() -> None:
    for length in range(1, 60):
        key = "".join(chr(ord("a") + i % 26) for i in range(length))
        shown = mask(key)
        assert len(shown) == length and shown != key
        assert sum(c != "*" for c in shown) <= min(12, length // 2)
    assert mask(KEY) == KEY[:8] + "*" * (len(KEY) - 12) + KEY[-4:]  # the real service's form


def test_a_value_after_the_header_block_is_not_its_value() -> None:
    text = "      Authorization:\n      Content-Type:\n      - application/json\n"
    assert find_credentials(text) == []


def test_scan_cassettes_command(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    (cassettes / "weather").mkdir(parents=True)
    (cassettes / "weather" / "ok.yaml").write_text(SCRUBBED[0])
    (cassettes / "weather" / "leak.yaml").write_text(
        f"      Authorization:\n      - Bearer {KEY}\n"
    )
    (cassettes / "notes.txt").write_text(KEY)  # not a cassette: a directory scan skips it
    result = CliRunner().invoke(cli, ["scan-cassettes", str(cassettes)])
    assert result.exit_code == 1
    leak = cassettes / "weather" / "leak.yaml"
    assert result.stdout.splitlines() == [
        f"{leak}:2: an Authorization header",
        f"{leak}:2: an OpenAI API key (sk-...)",
        f"{leak}:2: a Bearer token",
    ]
    assert "1 of 2 cassette(s) hold credentials" in result.stderr
    assert KEY not in result.output
    clean = CliRunner().invoke(cli, ["scan-cassettes", str(cassettes / "weather" / "ok.yaml")])
    assert clean.exit_code == 0 and clean.stdout == ""
    assert "1 cassette(s) checked: no credentials found." in clean.stderr


def test_real_recordings_are_flagged() -> None:
    require(RECORDINGS, "the real recordings")
    # third-party recordings kept their cookies and organization headers
    for path in sorted(RECORDINGS.glob("*.yaml")):
        found = {what for _, what in find_credentials(path.read_text())}
        assert {"a Cookie header", "a Set-Cookie header"} & found, path.name
        assert "an OpenAI-Organization header" in found, path.name


def test_the_projects_own_cassettes_are_clean() -> None:
    cassettes = sorted((REPO / "specs").glob("**/cassettes/**/*.yaml"))
    if not cassettes:
        pytest.skip("no cassettes under specs/ yet (the replay harness records them)")
    for path in cassettes:
        assert find_credentials(path.read_text()) == [], path


def _scan_here(cwd: Path) -> tuple[int, str, str]:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "asst_deploy", "scan-cassettes"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def test_scan_without_paths_scans_the_projects_cassettes(tmp_path: Path) -> None:
    (tmp_path / "asst-deploy.yaml").write_text("project: demo\n")
    leak = tmp_path / "conversations" / "cassettes" / "chat" / "hello.yaml"
    leak.parent.mkdir(parents=True)
    leak.write_text(f"      Authorization:\n      - Bearer {KEY}\n")
    (tmp_path / "conversations" / "cassettes" / "chat" / "ok.yaml").write_text(SCRUBBED[0])
    hidden = tmp_path / ".venv" / "cassettes" / "x.yaml"  # not the project's own
    hidden.parent.mkdir(parents=True)
    hidden.write_text(f"key: {KEY}\n")
    code, out, err = _scan_here(tmp_path)
    assert code == 1, err
    assert (
        out.splitlines()[0] == "conversations/cassettes/chat/hello.yaml:2: an Authorization header"
    )
    assert ".venv" not in out and "1 of 2 cassette(s) hold credentials" in err
    leak.write_text(SCRUBBED[0])
    code, out, err = _scan_here(tmp_path)
    assert (code, out) == (0, "") and "2 cassette(s) checked" in err


def test_scan_without_paths_and_nothing_to_scan_is_an_error(tmp_path: Path) -> None:
    code, _, err = _scan_here(tmp_path)  # not a project
    assert code == 1 and "no asst-deploy.yaml here" in err
    (tmp_path / "asst-deploy.yaml").write_text("project: demo\n")
    code, _, err = _scan_here(tmp_path)
    assert code == 1 and "no cassettes/ folder in the project" in err, err
