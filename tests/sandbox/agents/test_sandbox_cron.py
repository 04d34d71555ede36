"""The sandbox's 5-field cron: parsing, and next occurrences in time zones across DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from asst_deploy.sandbox.cron import CronError, next_after, parse, zone

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def walk(expression: str, tz: ZoneInfo, start: dt.datetime, count: int) -> list[str]:
    """The next `count` occurrences after `start`, as ISO local times with offsets."""
    schedule = parse(expression)
    after = start.timestamp()
    out = []
    for _ in range(count):
        found = next_after(schedule, tz, after)
        assert found is not None and found > after
        out.append(dt.datetime.fromtimestamp(found, tz).isoformat())
        after = found
    return out


def test_fields_lists_ranges_steps_and_names() -> None:
    schedule = parse("5,10-12,*/20 */6 1-7/3 JAN,jun-Aug mon-fri")
    assert schedule.minutes == (0, 5, 10, 11, 12, 20, 40)
    assert schedule.hours == (0, 6, 12, 18)
    assert schedule.days == {1, 4, 7}
    assert schedule.months == {1, 6, 7, 8}
    assert schedule.weekdays == {1, 2, 3, 4, 5}
    assert parse("0 0 * * 7").weekdays == {0}  # 7 is Sunday too
    assert parse("0 0 * * 5/1").weekdays == {5, 6, 0}  # a/n runs to the field's end
    assert parse("@daily") == parse("0 0 * * *")
    assert parse("@hourly").minutes == (0,)


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("* * * *", "5 fields"),
        ("60 * * * *", "outside 0-59"),
        ("* 24 * * *", "outside 0-23"),
        ("* * 0 * *", "outside 1-31"),
        ("* * * 13 *", "outside 1-12"),
        ("* * * * 8", "outside 0-7"),
        ("5-1 * * * *", "backwards"),
        ("*/0 * * * *", "step"),
        ("x * * * *", "no number"),
        ("* * * FOO *", "no number"),
        ("¹ * * * *", "no number"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression: str, says: str) -> None:
    with pytest.raises(CronError, match=says):
        parse(expression)


def test_time_zone_names() -> None:
    assert zone("Europe/Berlin") == BERLIN
    assert zone("UTC").key == "UTC"
    for name in ("", "Mars/Olympus", "/etc/localtime", "../zoneinfo/UTC", "Europe"):
        with pytest.raises(CronError):
            zone(name)


def test_plain_schedules() -> None:
    start = dt.datetime(2026, 12, 4, 10, 0, tzinfo=BERLIN)  # a Friday
    assert walk("0 9 * * 1-5", BERLIN, start, 3) == [
        "2026-12-07T09:00:00+01:00",
        "2026-12-08T09:00:00+01:00",
        "2026-12-09T09:00:00+01:00",
    ]
    assert walk("0 0 29 2 *", BERLIN, start, 2) == [
        "2028-02-29T00:00:00+01:00",
        "2032-02-29T00:00:00+01:00",
    ]
    # both day fields restricted: either one matches (the 1st, or any Monday)
    assert walk("0 12 1 * mon", BERLIN, dt.datetime(2026, 12, 29, tzinfo=BERLIN), 3) == [
        "2027-01-01T12:00:00+01:00",
        "2027-01-04T12:00:00+01:00",
        "2027-01-11T12:00:00+01:00",
    ]
    # strictly after: an occurrence at the start itself is not the next one
    assert walk("0 10 * * *", BERLIN, start, 1) == ["2026-12-05T10:00:00+01:00"]
    assert next_after(parse("0 0 30 2 *"), BERLIN, start.timestamp()) is None


def test_spring_forward_runs_a_skipped_time_once_at_its_shifted_instant() -> None:
    start = dt.datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    assert walk("30 2 * * *", BERLIN, start, 2) == [
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    # every 20 minutes keeps going in real time across the jump: no gap, no repeat
    assert walk("*/20 * * * *", BERLIN, dt.datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN), 5) == [
        "2026-03-29T01:40:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:20:00+02:00",
        "2026-03-29T03:40:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]
    # a step of hours keeps its wall times; the skipped 02:15 becomes 03:15 CEST
    assert walk("15 */2 * * *", BERLIN, dt.datetime(2026, 3, 29, 0, 30, tzinfo=BERLIN), 2) == [
        "2026-03-29T03:15:00+02:00",
        "2026-03-29T04:15:00+02:00",
    ]
    assert walk("30 2 * * *", NEW_YORK, dt.datetime(2026, 3, 7, 12, tzinfo=NEW_YORK), 2) == [
        "2026-03-08T03:30:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]


def test_fall_back_runs_a_fixed_hour_once_and_a_wildcard_hour_in_both_passes() -> None:
    start = dt.datetime(2026, 10, 24, 12, 0, tzinfo=BERLIN)
    assert walk("30 2 * * *", BERLIN, start, 2) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]
    assert walk("45 * * * *", BERLIN, dt.datetime(2026, 10, 25, 1, 50, tzinfo=BERLIN), 3) == [
        "2026-10-25T02:45:00+02:00",
        "2026-10-25T02:45:00+01:00",
        "2026-10-25T03:45:00+01:00",
    ]
    # starting inside the second pass: its own remaining times only
    second_pass = dt.datetime(2026, 10, 25, 2, 10, tzinfo=BERLIN, fold=1)
    assert walk("*/30 * * * *", BERLIN, second_pass, 2) == [
        "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]
    assert walk("30 1 * * *", NEW_YORK, dt.datetime(2026, 10, 31, 12, tzinfo=NEW_YORK), 2) == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ]
