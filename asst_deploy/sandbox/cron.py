"""Standard 5-field cron expressions and their next occurrence in an IANA time zone.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or JAN-DEC), day of
week (0-7, 0 and 7 are Sunday, or SUN-SAT); each a `*`, a value, a range `a-b`, a step
`*/n`, `a-b/n` or `a/n` (from a to the field's end), or a comma list of those. The macros
@yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly stand for their
usual expressions. As in Vixie cron, when both day fields are restricted (neither starts
with `*`) a day matches either of them; otherwise it must match both.

Times are wall-clock times in the zone; daylight saving time is handled as ISC/Vixie
cron does it:
- spring forward: a scheduled wall time inside the skipped hour runs at the instant it
  would have had without the jump (02:30 in Europe/Berlin on the last Sunday of March
  runs at 03:30 CEST, once); wildcard-hour schedules get no extra or missing instant.
- fall back: the repeated hour runs once (its first pass) for schedules with a fixed
  hour; schedules whose hour field starts with `*` run in both passes, since they follow
  real hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
# (name, lowest, highest, names for lowest.. onwards)
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
# Far enough for any satisfiable expression: February 29th can be 8 years away (2096-2104).
HORIZON_DAYS = 366 * 9
# More than any daylight saving shift of a wall clock (one or two hours).
SHIFT = dt.timedelta(hours=3)


class CronError(ValueError):
    """The expression or the time zone cannot be used; the message says why."""


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
    lowered = text.lower()
    if names and lowered in names:
        return low + names.index(lowered)
    if not text.isascii() or not text.isdigit():
        raise CronError(f"the {name} field has '{text}', which is no number")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"the {name} field has {value}, outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isascii() or not step_text.isdigit() or int(step_text) < 1:
                raise CronError(f"the {name} field has the step '{step_text}', no positive number")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            start, _, end = base.partition("-")
            first = _number(start, name, low, high, names)
            last = _number(end, name, low, high, names)
            if first > last:
                raise CronError(f"the {name} field has the range '{base}', which runs backwards")
        else:
            first = _number(base, name, low, high, names)
            last = high if slash else first
        values.update(range(first, last + 1, step))
    return values


def parse(expression: str) -> Cron:
    """The expression's schedule, or CronError saying what is wrong with it."""
    text = MACROS.get(expression.strip().lower(), expression)
    parts = text.split()
    if len(parts) != 5:
        raise CronError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"but '{expression}' has {len(parts)}"
        )
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
    """The IANA time zone `name` ("Europe/Berlin", "UTC"), or CronError."""
    if not name or name.startswith(("/", ".")) or ".." in name or "\\" in name:
        raise CronError(f"'{name}' is no IANA time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(f"'{name}' is no IANA time zone name") from None


def _instants(day: dt.date, hour: int, minute: int, tz: ZoneInfo, both: bool) -> Iterator[int]:
    """The instants a wall time of `day` stands for: one, its shifted self in a gap (fold
    0 takes the offset from before the jump), or, with `both`, each pass of a repeat."""
    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    first = int(local.timestamp())
    yield first
    if both:
        second = int(local.replace(fold=1).timestamp())
        # only a wall time that really happens twice: in a gap, fold 1 lands elsewhere
        wall = dt.datetime.fromtimestamp(second, tz).replace(tzinfo=None)
        if second != first and wall == local.replace(tzinfo=None):
            yield second


def next_after(cron: Cron, tz: ZoneInfo, after: float) -> int | None:
    """The first occurrence strictly after `after` (Unix seconds), as Unix seconds; None
    when the expression never occurs (February 30th)."""
    now = dt.datetime.fromtimestamp(after, tz).replace(tzinfo=None)
    # Wall times and instants keep their order but for DST shifts (under SHIFT): a wall
    # time that far before `now` is past, and one that far after the first hit is later.
    skip_before = now - SHIFT
    best: int | None = None
    stop: dt.datetime | None = None
    for offset in range(-1, HORIZON_DAYS):
        day = now.date() + dt.timedelta(days=offset)
        if stop is not None and dt.datetime(day.year, day.month, day.day) > stop:
            break
        if not cron.matches_day(day):
            continue
        for hour in cron.hours:
            for minute in cron.minutes:
                wall = dt.datetime(day.year, day.month, day.day, hour, minute)
                if wall < skip_before:
                    continue
                if stop is not None and wall > stop:
                    return best
                for instant in _instants(day, hour, minute, tz, cron.any_hour):
                    if instant > after and (best is None or instant < best):
                        best = instant
                        stop = stop or wall + SHIFT
    return best
