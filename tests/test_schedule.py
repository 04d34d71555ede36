"""Cron expressions, time zones and next runs (asst_deploy/schedule.py), on a fixed clock:
fields, names, ranges, steps and lists; located reasons for what cannot be read; and the
daylight saving days of Europe/Berlin, which the sandbox's scheduler must agree with."""

from __future__ import annotations

import re

import pytest

from asst_deploy import schedule

BERLIN = schedule.zone("Europe/Berlin")


def at(text: str) -> int:
    return schedule.parse_time(text)


def runs(expression: str, after: str, count: int, zone: str = "Europe/Berlin") -> list[str]:
    """The next `count` runs after `after`, in ISO 8601 UTC."""
    cron, tz = schedule.parse(expression), schedule.zone(zone)
    found: list[str] = []
    moment: float = at(after)
    for _ in range(count):
        following = schedule.next_run(cron, tz, moment)
        assert following is not None
        found.append(schedule.iso(following))
        moment = following
    return found


@pytest.mark.parametrize(
    ("expression", "minutes", "hours", "days", "months", "weekdays"),
    [
        ("0 6 * * *", (0,), (6,), set(range(1, 32)), set(range(1, 13)), set(range(7))),
        (
            "*/15 9-17 * * MON-FRI",
            (0, 15, 30, 45),
            tuple(range(9, 18)),
            None,
            None,
            {1, 2, 3, 4, 5},
        ),
        ("5,35 0 1,15 JAN,jul 7", (5, 35), (0,), {1, 15}, {1, 7}, {0}),
        ("10/20 1-7/3 * * 0", (10, 30, 50), (1, 4, 7), None, None, {0}),
    ],
)
def test_fields_names_ranges_steps_and_lists(
    expression: str,
    minutes: tuple[int, ...],
    hours: tuple[int, ...],
    days: set[int] | None,
    months: set[int] | None,
    weekdays: set[int],
) -> None:
    cron = schedule.parse(expression)
    assert (cron.minutes, cron.hours, set(cron.weekdays)) == (minutes, hours, weekdays)
    if days is not None:
        assert set(cron.days) == days
    if months is not None:
        assert set(cron.months) == months


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("0 6 * *", "a cron expression has 5 fields"),
        ("0 6 * * * *", "this one has 6"),
        ("60 6 * * *", "the minute field has 60, outside 0-59"),
        ("0 24 * * *", "the hour field has 24, outside 0-23"),
        ("0 6 0 * *", "the day-of-month field has 0, outside 1-31"),
        ("0 6 * 13 *", "the month field has 13, outside 1-12"),
        ("0 6 * * 8", "the day-of-week field has 8, outside 0-7"),
        (
            "0 6 * * MOON",
            "the day-of-week field has 'MOON', which is no number or a name (SUN-SAT)",
        ),
        ("0 6 * * \uff15", "the day-of-week field has '\uff15', which is no number"),  # fullwidth 5
        ("*/0 * * * *", "the minute field has the step '0', which is no positive number"),
        ("0 18-9 * * *", "the hour field has the range '18-9', which runs backwards"),
        ("@daily", "'@daily' is a macro, not five fields: write '0 0 * * *'"),
        ("@reboot", "'@reboot' is a macro, not five fields"),
    ],
)
def test_what_cannot_be_read_says_why(expression: str, reason: str) -> None:
    with pytest.raises(schedule.ScheduleError, match=re.escape(reason)):
        schedule.parse(expression)


@pytest.mark.parametrize("name", ["Europe/Berln", "", "../etc/passwd", "/etc/localtime", "CET\\x"])
def test_a_time_zone_is_an_iana_name(name: str) -> None:
    with pytest.raises(schedule.ScheduleError, match="is no IANA time zone name"):
        schedule.zone(name)
    assert "Europe/Berlin" in schedule.zone_names()


def test_a_time_names_its_offset() -> None:
    assert at("2027-01-05T06:00:00+01:00") == at("2027-01-05T05:00:00Z")
    with pytest.raises(schedule.ScheduleError, match="has no UTC offset"):
        at("2027-01-05T06:00:00")
    with pytest.raises(schedule.ScheduleError, match="no ISO 8601 date and time"):
        at("next tuesday")


def test_now_is_the_clock_unless_the_environment_fixes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(schedule.NOW_VARIABLE, "2027-03-26T12:00:00Z")
    assert schedule.now() == at("2027-03-26T12:00:00Z")
    monkeypatch.setenv(schedule.NOW_VARIABLE, "1800000000")
    assert schedule.now() == 1800000000
    monkeypatch.setenv(schedule.NOW_VARIABLE, "soon")
    assert schedule.now() > at("2026-01-01T00:00:00Z")  # the real clock


def test_winter_and_summer_in_berlin() -> None:
    assert runs("0 6 * * *", "2026-12-04T20:00:00Z", 1) == ["2026-12-05T05:00:00Z"]  # CET
    assert runs("0 6 * * *", "2027-06-01T00:00:00Z", 1) == ["2027-06-01T04:00:00Z"]  # CEST
    assert schedule.describe(at("2027-06-01T04:00:00Z"), BERLIN) == "Tue 2027-06-01 06:00 CEST"


def test_spring_forward_runs_a_skipped_fixed_time_once_when_it_would_have_been() -> None:
    # 2027-03-28: 02:00 CET becomes 03:00 CEST; 02:30 runs at 03:30 CEST (01:30 UTC)
    assert runs("30 2 * * *", "2027-03-27T12:00:00Z", 3) == [
        "2027-03-28T01:30:00Z",
        "2027-03-29T00:30:00Z",
        "2027-03-30T00:30:00Z",
    ]
    # a time after the gap is as usual, an hour earlier in UTC than the day before
    assert runs("0 6 * * *", "2027-03-27T00:00:00Z", 2) == [
        "2027-03-27T05:00:00Z",
        "2027-03-28T04:00:00Z",
    ]


def test_spring_forward_skips_the_missing_hour_of_schedules_that_follow_real_hours() -> None:
    assert runs("0 */2 * * *", "2027-03-27T22:30:00Z", 2) == [
        "2027-03-27T23:00:00Z",  # 00:00 CET
        "2027-03-28T02:00:00Z",  # 04:00 CEST: no 02:00, and no 03:00 in its place
    ]
    assert runs("*/30 * * * *", "2027-03-28T00:15:00Z", 3) == [
        "2027-03-28T00:30:00Z",  # 01:30 CET
        "2027-03-28T01:00:00Z",  # 03:00 CEST, half an hour later
        "2027-03-28T01:30:00Z",
    ]


def test_fall_back_runs_a_fixed_time_once_and_real_hours_twice() -> None:
    # 2027-10-31: 03:00 CEST becomes 02:00 CET; 02:30 happens twice
    assert runs("30 2 * * *", "2027-10-30T12:00:00Z", 2) == [
        "2027-10-31T00:30:00Z",  # 02:30 CEST, its first pass
        "2027-11-01T01:30:00Z",  # the next day's: not 02:30 CET on the 31st
    ]
    assert runs("30 * * * *", "2027-10-31T00:00:00Z", 3) == [
        "2027-10-31T00:30:00Z",  # 02:30 CEST
        "2027-10-31T01:30:00Z",  # 02:30 CET
        "2027-10-31T02:30:00Z",  # 03:30 CET
    ]


def test_rare_and_impossible_days() -> None:
    assert runs("0 0 29 2 *", "2097-03-01T00:00:00Z", 1, "UTC") == ["2104-02-29T00:00:00Z"]
    assert schedule.next_run(schedule.parse("0 0 30 2 *"), schedule.zone("UTC"), 0) is None
    # both day fields given: either matches (Friday the 13th is every Friday and every 13th)
    assert runs("0 0 13 * FRI", "2027-08-01T00:00:00Z", 3, "UTC") == [
        "2027-08-06T00:00:00Z",
        "2027-08-13T00:00:00Z",
        "2027-08-20T00:00:00Z",
    ]
