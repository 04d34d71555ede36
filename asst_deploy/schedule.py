"""Schedules of automations: 5-field cron expressions, IANA time zones, next run times.

An automation's `expression` is "a standard five-field cron expression" (the 3.60 SDK's
automations.create): minute (0-59), hour (0-23), day of month (1-31), month (1-12 or
JAN-DEC) and day of week (0-7, 0 and 7 are Sunday, or SUN-SAT). Each field is `*`, a value,
a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (a to the field's end), or a comma list of
those. Macros (@daily, ...) are no five fields: they are refused. As in Vixie cron, when
both day fields are restricted (neither starts with `*`) a day matches either of them;
otherwise it must match both.

Times are wall-clock times in the zone; daylight saving time as ISC/Vixie cron (and the
sandbox, asst_deploy/sandbox/cron.py) handle it:
- spring forward: a fixed-hour time inside the skipped hour runs once, at the instant it
  would have had without the jump (02:30 in Europe/Berlin on the last Sunday of March runs
  at 03:30 CEST); a schedule whose hour field starts with `*` follows real hours, and the
  skipped hour has none of its runs.
- fall back: the repeated hour runs once (its first pass) for fixed-hour schedules, in
  both passes for schedules whose hour field starts with `*`.

No well-kept cron library is a dependency yet (cronsim would be the one to add); this
module is small on purpose and its tests pin the behaviour above.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# what "now" is (ISO 8601 with an offset, or Unix seconds), for reproducible runs and tests
NOW_VARIABLE = "ASST_DEPLOY_NOW"
FIELDS = "minute hour day-of-month month day-of-week"
# what the usual macros stand for (the API takes five fields: they are refused, saying this)
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names standing for lowest, lowest + 1, ...)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
# Far enough for any expression that runs at all: February 29th can be 8 years away (2096
# to 2104); an expression with no run within this many days never runs.
HORIZON_DAYS = 366 * 9


class ScheduleError(ValueError):
    """An expression, a time zone or a time that cannot be used; the message says why."""


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # the day-of-month field starts with "*"
    any_weekday: bool  # the day-of-week field starts with "*"
    any_hour: bool  # the hour field starts with "*": it follows real hours

    def matches_day(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return by_date and by_weekday
        return by_date or by_weekday


def _number(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if names and text.lower() in names:
        return low + names.index(text.lower())
    if not text.isascii() or not text.isdigit():
        named = f" or a name ({names[0].upper()}-{names[-1].upper()})" if names else ""
        raise ScheduleError(f"the {name} field has '{text}', which is no number{named}")
    value = int(text)
    if not low <= value <= high:
        raise ScheduleError(f"the {name} field has {value}, outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isascii() or not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleError(
                    f"the {name} field has the step '{step_text}', which is no positive number"
                )
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first = _number(start, name, low, high, names)
            last = _number(end, name, low, high, names)
            if first > last:
                raise ScheduleError(
                    f"the {name} field has the range '{base}', which runs backwards"
                )
        else:
            first = _number(base, name, low, high, names)
            last = high if slash else first
        values.update(range(first, last + 1, step))
    return values


@cache
def parse(expression: str) -> Cron:
    """The expression's schedule, or ScheduleError saying what is wrong with it."""
    parts = expression.split()
    macro = expression.strip()
    if macro.startswith("@"):
        same = MACROS.get(macro.lower())
        raise ScheduleError(
            f"'{macro}' is a macro, not five fields"
            + (f": write '{same}'" if same else f" ({FIELDS})")
        )
    if len(parts) != 5:
        raise ScheduleError(f"a cron expression has 5 fields ({FIELDS}); this one has {len(parts)}")
    minutes, hours, days, months, weekdays = (
        _field(part, name, low, high, names)
        for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True)
    )
    return Cron(
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(d % 7 for d in weekdays),
        any_day=parts[2].startswith("*"),
        any_weekday=parts[4].startswith("*"),
        any_hour=parts[1].startswith("*"),
    )


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` ("Europe/Berlin", "UTC"), or ScheduleError."""
    if not name or name.startswith(("/", ".")) or ".." in name or "\\" in name:
        raise ScheduleError(f"'{name}' is no IANA time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(f"'{name}' is no IANA time zone name") from None


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA time zone name this machine knows (for a "did you mean")."""
    return tuple(sorted(available_timezones()))


def parse_time(text: str) -> int:
    """An ISO 8601 date and time with its UTC offset ("2027-01-05T06:00:00+01:00", or "Z"),
    as Unix seconds; ScheduleError for one without an offset or not ISO 8601."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleError(
            f"'{text}' is no ISO 8601 date and time (e.g. 2027-01-05T06:00:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        raise ScheduleError(f"'{text}' has no UTC offset, so it names no single instant")
    return int(moment.timestamp())


def now() -> float:
    """The current time in Unix seconds: $ASST_DEPLOY_NOW when set (tests, reproducible
    plans), else the clock."""
    given = os.environ.get(NOW_VARIABLE)
    if given:
        try:
            return float(given)
        except ValueError:
            pass
        try:
            return float(parse_time(given))
        except ScheduleError:
            pass  # a malformed override is no reason to refuse a command: the real time
    return time.time()


def _steady(day: dt.date, tz: ZoneInfo) -> int | None:
    """The zone's UTC offset in seconds all through `day`, or None when it changes."""
    midnight = dt.datetime(day.year, day.month, day.day)
    after = midnight + dt.timedelta(days=1)
    offsets = {
        tz.utcoffset(moment.replace(fold=fold)) for moment in (midnight, after) for fold in (0, 1)
    }
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds()) if offset is not None else 0


def _instants(cron: Cron, day: dt.date, tz: ZoneInfo) -> Iterator[int]:
    """The instants `cron` runs at on `day`, a day on which the zone's offset changes."""
    for hour in cron.hours:
        for minute in cron.minutes:
            wall = dt.datetime(day.year, day.month, day.day, hour, minute)
            first = int(wall.replace(tzinfo=tz).timestamp())
            second = int(wall.replace(tzinfo=tz, fold=1).timestamp())
            back = dt.datetime.fromtimestamp(first, tz).replace(tzinfo=None)
            if back != wall:  # in the gap: no such wall time today
                if not cron.any_hour:
                    yield first  # the instant it would have had without the jump
                continue
            yield first
            if cron.any_hour and second != first:
                yield second  # the repeated hour, second pass


def _first_on(cron: Cron, day: dt.date, tz: ZoneInfo, after: float) -> int | None:
    """The first instant on `day` after `after` at which `cron` runs, or None."""
    offset = _steady(day, tz)
    if offset is None:
        return min((i for i in _instants(cron, day, tz) if i > after), default=None)
    base = calendar.timegm((day.year, day.month, day.day, 0, 0, 0)) - offset
    for hour in cron.hours:
        for minute in cron.minutes:
            instant = base + hour * 3600 + minute * 60
            if instant > after:
                return instant
    return None


def next_run(cron: Cron, tz: ZoneInfo, after: float) -> int | None:
    """The first run strictly after `after` (Unix seconds), as Unix seconds; None when the
    expression never runs (February 30th)."""
    day = dt.datetime.fromtimestamp(after, tz).date() - dt.timedelta(days=1)
    best: int | None = None
    last: dt.date | None = None  # a shift near midnight: the day after a hit may hold one sooner
    for _ in range(HORIZON_DAYS):
        if last is not None and day > last:
            break
        if cron.matches_day(day):
            found = _first_on(cron, day, tz, after)
            if found is not None and (best is None or found < best):
                best = found
                last = last or day + dt.timedelta(days=1)
        day += dt.timedelta(days=1)
    return best


def describe(instant: int, tz: ZoneInfo) -> str:
    """A run time for people: "Tue 2026-12-08 06:00 CET"."""
    return dt.datetime.fromtimestamp(instant, tz).strftime("%a %Y-%m-%d %H:%M %Z")


def iso(instant: int) -> str:
    """Unix seconds as ISO 8601 in UTC ("2027-01-05T05:00:00Z")."""
    return dt.datetime.fromtimestamp(instant, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
