"""find_credentials and `asst-deploy scan-cassettes`: what counts as a credential in a
cassette, what a scrubber may leave behind, and that a finding never shows the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from asst_deploy.cli import cli
from asst_deploy.secrets import find_credentials, is_placeholder

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = REPO.parent / "shared" / "openai" / "recordings"
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


@pytest.mark.skipif(
    not RECORDINGS.is_dir(), reason="../shared/openai/recordings is absent (a user's clone)"
)
def test_real_recordings_are_flagged() -> None:
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
