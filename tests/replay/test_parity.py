"""Parity from hand-built turn records: verdicts side by side, differences, lost verdicts."""

from __future__ import annotations

import json

from asst_deploy.replay.parity import (
    FAIL,
    NOT_APPLICABLE,
    NOT_RUN,
    PASS,
    SKIPPED,
    TurnRecord,
    compare,
    differences,
    kept,
    render_json,
    render_markdown,
    render_table,
    reply_diff,
)

A = {
    ("weather::paris", 1): TurnRecord(
        PASS,
        reply="Weather in Paris: 18 and sunny",
        tool_calls=('get_weather({"city": "Paris"})',),
        status="completed",
        tokens=40,
        latency=0.20,
    ),
    ("weather::paris", 2): TurnRecord(PASS, reply="You're welcome!", status="completed", tokens=9),
    ("handbook::vacation", 1): TurnRecord(PASS, reply="25 days", status="completed", tokens=30),
}


def test_identical_sides_keep_every_verdict() -> None:
    rows = compare(A, A)
    assert [(r.conversation, r.turn) for r in rows] == [
        ("handbook::vacation", 1),
        ("weather::paris", 1),
        ("weather::paris", 2),
    ]
    assert all(r.differences == () for r in rows)
    assert kept(rows)
    assert render_table(rows, "classic", "agents").endswith(
        "agents kept every verdict classic had (3 turns)."
    )


def test_each_kind_of_difference_is_named() -> None:
    a = A[("weather::paris", 1)]
    b = TurnRecord(
        PASS,
        reply="Weather in Paris: 18, sunny",
        tool_calls=(),
        status="incomplete",
        tokens=31,
        latency=0.90,
    )
    assert differences(a, b) == (
        "reply: -18 and +18,",
        'tool calls: get_weather({"city": "Paris"}) -> none',
        "status: completed -> incomplete",
        "tokens: 40 -> 31",
        "latency: 0.20 s -> 0.90 s",
    )


def test_small_latency_changes_and_equal_replies_are_no_difference() -> None:
    a = TurnRecord(PASS, reply="a  b", latency=0.010)
    assert differences(a, TurnRecord(PASS, reply="a  b", latency=0.040)) == ()
    assert reply_diff("a  b", "a b") == "reply: whitespace only"
    assert reply_diff("same", "same") is None


def test_lost_verdicts_fail_parity_and_are_marked() -> None:
    b = dict(A)
    b[("weather::paris", 2)] = TurnRecord(
        FAIL,
        reply="Bye.",
        status="completed",
        tokens=9,
        notes=("contains: the reply does not contain 'welcome'",),
    )
    b[("handbook::vacation", 1)] = TurnRecord(
        NOT_APPLICABLE,
        reply="25 days",
        status="completed",
        tokens=30,
        notes=("citations: not applicable on agents",),
    )
    rows = compare(A, b)
    assert [r.lost for r in rows] == [True, False, True]
    assert not kept(rows)
    table = render_table(rows, "classic", "agents")
    lines = table.splitlines()
    assert lines[0].split() == [
        "conversation",
        "turn",
        "verdict",
        "classic",
        "verdict",
        "agents",
        "what",
        "differs",
    ]
    paris = next(line for line in lines if line.split()[:2] == ["weather::paris", "2"])
    assert "fail (lost)" in paris and "reply: -You're welcome! +Bye." in paris
    assert "B: contains: the reply does not contain 'welcome'" in paris
    assert "n/a (lost)" in table and "B: citations: not applicable on agents" in table
    assert table.endswith("agents lost 2 of the verdicts classic had (3 turns).")


def test_a_turn_one_side_never_reached_is_not_run() -> None:
    rows = compare(A, {k: v for k, v in A.items() if k != ("weather::paris", 2)})
    row = rows[2]
    assert (row.b.verdict, row.lost, row.differences) == (NOT_RUN, True, ())
    # B gaining a verdict A lacked is no loss
    assert kept(compare({("x", 1): TurnRecord(FAIL)}, {("x", 1): TurnRecord(PASS)}))


def test_markdown_and_json_carry_the_same_rows() -> None:
    b = dict(A)
    b[("weather::paris", 2)] = TurnRecord(FAIL, reply="Bye | now", status="completed")
    rows = compare(A, b)
    markdown = render_markdown(rows, "classic", "agents")
    assert markdown.splitlines()[:4] == [
        "### Parity: `classic` vs `agents`",
        "",
        "| conversation | turn | verdict `classic` | verdict `agents` | what differs |",
        "| --- | ---: | --- | --- | --- |",
    ]
    assert (
        "| weather::paris | 2 | pass | fail (lost) | reply: -You're welcome! +Bye \\| now |"
        in markdown
    )
    data = json.loads(render_json(rows, "classic", "agents"))
    assert (data["a"], data["b"], data["kept"], data["lost"]) == ("classic", "agents", False, 1)
    assert [t["lost"] for t in data["turns"]] == [False, False, True]
    assert data["turns"][2]["b"]["reply"] == "Bye | now"


def test_an_excluded_conversation_is_skipped_shown_and_no_loss() -> None:
    why = ("assistant 'handbook' is excluded from environment 'agents'",)
    b = dict(A)
    b[("handbook::vacation", 1)] = TurnRecord(SKIPPED, notes=why)
    rows = compare(A, b)
    assert [r.lost for r in rows] == [False, False, False] and kept(rows)
    assert rows[0].differences == ()  # nothing ran on B to compare with
    table = render_table(rows, "classic", "agents")
    (handbook,) = [line for line in table.splitlines() if line.startswith("handbook::vacation")]
    assert handbook.split()[2:4] == ["pass", "skipped"]
    assert handbook.endswith("B: assistant 'handbook' is excluded from environment 'agents'")
    assert table.endswith(
        "agents kept every verdict classic had "
        "(3 turns, 1 skipped: their assistant is excluded from an environment)."
    )
    # both sides skipped, or failing alike: their notes are said once
    both = compare(
        {("x", 1): TurnRecord(SKIPPED, notes=why)}, {("x", 1): TurnRecord(SKIPPED, notes=why)}
    )
    assert render_table(both, "a", "b").splitlines()[2].endswith(f"A, B: {why[0]}")


def test_a_failure_on_a_is_explained_too() -> None:
    rows = compare(
        {("x", 1): TurnRecord(FAIL, notes=("no cassette",))}, {("x", 1): TurnRecord(PASS)}
    )
    assert render_table(rows, "a", "b").splitlines()[2].endswith("A: no cassette")


def test_an_unmeasured_latency_is_not_compared() -> None:
    a = TurnRecord(PASS, reply="x", latency=None)
    assert differences(a, TurnRecord(PASS, reply="x", latency=3.0)) == ()
    assert differences(TurnRecord(PASS, latency=0.1), TurnRecord(PASS, latency=3.0)) == (
        "latency: 0.10 s -> 3.00 s",
    )


def test_skips_are_counted_by_their_reason() -> None:
    session = "their session takes an environment or vaults a target has no place for"
    b = dict(A)
    b[("handbook::vacation", 1)] = TurnRecord(SKIPPED, notes=("excluded",))
    b[("weather::paris", 1)] = TurnRecord(SKIPPED, notes=("no vaults on responses",), why=session)
    table = render_table(compare(A, b), "classic", "responses")
    assert table.endswith(
        "responses kept every verdict classic had (3 turns, "
        "1 skipped: their assistant is excluded from an environment, "
        f"1 skipped: {session})."
    )
