"""Recurring series on Microsoft Graph: an RFC 5545 RRULE as a Graph patternedRecurrence (the way back, and the
expansion of a Graph series, are in domain/graph_recurrence_reading.py).

Lockstep writes a recurring booking series to Graph as one event with a `recurrence`: a *pattern* (how it repeats:
daily, weekly, absoluteMonthly, relativeMonthly, absoluteYearly, relativeYearly, every `interval` periods) and a
*range* (from startDate: numbered, up to an inclusive endDate, or noEnd), both read in the range's
recurrenceTimeZone at the wall-clock time of the series' first start.

Terms:
- *expressible*: a rule whose Graph recurrence, from the same first start, has exactly the rule's occurrences (both
  expanded on the local wall clock, so a weekly 9:00 stays 9:00 across DST). Anything else gets None, and the
  caller writes the occurrences as single events; a rule is never translated into one that is almost the same.
- Graph's meanings the translation relies on: a relative pattern with several daysOfWeek takes the index-th of the
  days that are any of them (RRULE's BYDAY with BYSETPOS); index "last" is RRULE's -1; an absolute pattern whose
  dayOfMonth a month lacks falls on that month's last day (where RRULE skips the month, hence no such
  translation); weekly weeks begin on firstDayOfWeek (Graph's default is sunday, RRULE's WKST default is monday,
  so it is always written); an interval is at most 99.
Not expressible: FREQ other than DAILY, WEEKLY, MONTHLY, YEARLY; BYHOUR, BYMINUTE, BYSECOND, BYYEARDAY, BYWEEKNO;
BYSETPOS except as an index over weekdays; several BYMONTHDAY or BYMONTH values; a BYMONTHDAY that some month of
the pattern lacks (29 to 31 monthly, 29 February yearly) or counts from the end; BYDAY with ordinals on several days,
ordinals other than 1 to 4 and -1, or without ordinal (or BYSETPOS) in a monthly or yearly rule; DAILY with BYDAY
unless INTERVAL is 1 (then it is weekly on those days); a first start the rule does not match (Graph's first
occurrence is then not the series' first start), or that its zone's clock shows twice and is the second showing;
COUNT with UNTIL; an UNTIL before the first start.
UNTIL is read as domain.recurrence reads it: a UTC date-time as the instant, a floating one on the wall clock, a
bare date as its whole local day. Graph's endDate is the last local date whose occurrence time UNTIL still allows.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import rrulestr

from domain.zones import load_zone, local_wall, to_utc

_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INDEX_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_INDEXES = {name: number for number, name in _INDEX_NAMES.items()}
_MAX_INTERVAL = 99
_PARTS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"})
_BYDAY = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_NUMBER = re.compile(r"[+-]?[0-9]{1,4}")
_UNTIL = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})(?:T([0-9]{2})([0-9]{2})([0-9]{2})(Z?))?")
# The fewest days each month has: a dayOfMonth up to it falls on the same day every year.
_SHORTEST_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_UNTIL_MARGIN = timedelta(days=2)  # dateutil's bound is a wall time; the exact instant is checked here
_LATEST = datetime(9999, 12, 1, tzinfo=UTC)


class UnreadableGraphRecurrence(ValueError):
    """The value is not a patternedRecurrence we can read."""


class _NotExpressible(Exception):
    pass


def _parts(rrule: str) -> dict[str, str]:
    value = rrule.strip().upper()
    value = value.removeprefix("RRULE:").rstrip(";")
    parts: dict[str, str] = {}
    for item in value.split(";"):
        name, sep, part = item.partition("=")
        if not sep or not part or name in parts or name not in _PARTS:
            raise _NotExpressible
        parts[name] = part
    if "FREQ" not in parts:
        raise _NotExpressible
    return parts


def _numbers(text: str | None) -> list[int]:
    if text is None:
        return []
    values = text.split(",")
    if not all(_NUMBER.fullmatch(value) for value in values):
        raise _NotExpressible
    return [int(value) for value in values]


def _number(text: str) -> int:
    numbers = _numbers(text)
    if len(numbers) != 1:
        raise _NotExpressible
    return numbers[0]


def _weekdays(text: str | None) -> list[tuple[int | None, int]]:
    """BYDAY as (ordinal or None, weekday 0 = Monday) pairs."""
    if text is None:
        return []
    days: list[tuple[int | None, int]] = []
    for value in text.split(","):
        match = _BYDAY.fullmatch(value)
        if match is None:
            raise _NotExpressible
        ordinal = None if match.group(1) is None else int(match.group(1))
        days.append((ordinal, _CODES.index(match.group(2))))
    return days


def _week_order(days: set[int]) -> list[str]:
    return [_NAMES[day] for day in sorted(days)]


def _weekly(days: set[int], parts: dict[str, str], interval: int) -> dict[str, Any]:
    first_day = parts.get("WKST", "MO")
    if first_day not in _CODES:
        raise _NotExpressible
    return {"type": "weekly", "interval": interval, "daysOfWeek": _week_order(days),
            "firstDayOfWeek": _NAMES[_CODES.index(first_day)]}


def _day_of_month(monthdays: list[int], wall: datetime, month: int | None) -> int:
    """The one day of the month an absolute pattern falls on, when every month (or year) of it has that day."""
    if len(monthdays) > 1:
        raise _NotExpressible
    day = monthdays[0] if monthdays else wall.day
    shortest = 28 if month is None else _SHORTEST_MONTH[month - 1]
    if not 1 <= day <= shortest:
        raise _NotExpressible
    return day


def _relative(weekdays: list[tuple[int | None, int]], setpos: list[int]) -> dict[str, Any]:
    """daysOfWeek and index of a relative pattern: BYDAY=2TU, or BYDAY=MO,TU;BYSETPOS=2."""
    if not setpos:
        (ordinal, day), *others = weekdays
        if others or ordinal not in _INDEX_NAMES:
            raise _NotExpressible
        return {"daysOfWeek": [_NAMES[day]], "index": _INDEX_NAMES[ordinal]}
    if len(setpos) > 1 or setpos[0] not in _INDEX_NAMES or any(ordinal is not None for ordinal, _ in weekdays):
        raise _NotExpressible
    return {"daysOfWeek": _week_order({day for _, day in weekdays}), "index": _INDEX_NAMES[setpos[0]]}


def _pattern(parts: dict[str, str], wall: datetime) -> dict[str, Any]:
    freq = parts["FREQ"]
    interval = _number(parts.get("INTERVAL", "1"))
    if not 1 <= interval <= _MAX_INTERVAL:
        raise _NotExpressible
    weekdays, monthdays = _weekdays(parts.get("BYDAY")), _numbers(parts.get("BYMONTHDAY"))
    months, setpos = _numbers(parts.get("BYMONTH")), _numbers(parts.get("BYSETPOS"))
    if freq in {"DAILY", "WEEKLY"}:
        if monthdays or months or setpos or any(ordinal is not None for ordinal, _ in weekdays):
            raise _NotExpressible
        if freq == "DAILY" and not weekdays:
            return {"type": "daily", "interval": interval}
        if freq == "DAILY" and interval != 1:
            raise _NotExpressible
        return _weekly({day for _, day in weekdays} or {wall.weekday()}, parts, interval)
    if freq == "MONTHLY":
        if months:
            raise _NotExpressible
        if not weekdays:
            if setpos:
                raise _NotExpressible
            return {"type": "absoluteMonthly", "interval": interval, "dayOfMonth": _day_of_month(monthdays, wall, None)}
        if monthdays:
            raise _NotExpressible
        return {"type": "relativeMonthly", "interval": interval, **_relative(weekdays, setpos)}
    if freq == "YEARLY":
        # Without BYMONTH, BYMONTHDAY and BYDAY select days of every month, or of the whole year.
        if len(months) > 1 or (not months and (weekdays or monthdays or setpos)):
            raise _NotExpressible
        month = months[0] if months else wall.month
        if not 1 <= month <= 12:
            raise _NotExpressible
        if not weekdays:
            if setpos:
                raise _NotExpressible
            return {"type": "absoluteYearly", "interval": interval, "month": month,
                    "dayOfMonth": _day_of_month(monthdays, wall, month)}
        if monthdays:
            raise _NotExpressible
        return {"type": "relativeYearly", "interval": interval, "month": month, **_relative(weekdays, setpos)}
    raise _NotExpressible


def _until_instant(text: str, zone: str) -> datetime:
    """The last instant UNTIL allows: a UTC date-time exactly, a floating one on the wall clock in `zone`, a bare
    date its whole local day."""
    match = _UNTIL.fullmatch(text)
    if match is None:
        raise _NotExpressible
    year, month, day, hour, minute, second, zulu = match.groups()
    try:
        if hour is None:
            next_day = date(int(year), int(month), int(day)) + timedelta(days=1)
            return to_utc(datetime.combine(next_day, time()), load_zone(zone)) - timedelta(microseconds=1)
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except (ValueError, OverflowError) as exc:
        raise _NotExpressible from exc
    return stamp.replace(tzinfo=UTC) if zulu else to_utc(stamp, load_zone(zone))


def _range(parts: dict[str, str], wall: datetime, zone: str) -> dict[str, Any]:
    bounds: dict[str, Any] = {"startDate": wall.date().isoformat(), "recurrenceTimeZone": zone}
    if "COUNT" in parts and "UNTIL" in parts:
        raise _NotExpressible
    if "COUNT" in parts:
        count = _number(parts["COUNT"])
        if count < 1:
            raise _NotExpressible
        return {"type": "numbered", **bounds, "numberOfOccurrences": count}
    if "UNTIL" not in parts:
        return {"type": "noEnd", **bounds}
    until = _until_instant(parts["UNTIL"], zone)
    tz = load_zone(zone)
    last = local_wall(until, tz).date()
    if to_utc(datetime.combine(last, wall.time()), tz) > until:
        last -= timedelta(days=1)  # that day's occurrence would start after UNTIL
    if last < wall.date():
        raise _NotExpressible
    return {"type": "endDate", **bounds, "endDate": last.isoformat()}


def _first_match(parts: dict[str, str], dtstart: datetime) -> datetime | None:
    rule = ";".join(f"{name}={value}" for name, value in parts.items() if name not in {"COUNT", "UNTIL"})
    return next(iter(rrulestr(rule, dtstart=dtstart)), None)


def graph_recurrence(rrule: str, first_start: datetime, zone: str) -> dict[str, Any] | None:
    """The patternedRecurrence ({"pattern": ..., "range": ...}) of an RRULE value (with or without "RRULE:")
    expanded on the wall clock in the IANA `zone` from `first_start` (aware; the series' first occurrence), or None
    when Graph cannot express the rule exactly (see the module) or the rule is not one we read."""
    if first_start.tzinfo is None:
        raise ValueError("first_start must be an aware datetime")
    tz = load_zone(zone)
    first_start = first_start.astimezone(UTC)
    wall = local_wall(first_start, tz)
    if to_utc(wall, tz) != first_start:
        return None  # the second showing of a repeated hour: a wall time and zone name the first
    try:
        parts = _parts(rrule)
        pattern = _pattern(parts, wall)
        bounds = _range(parts, wall, zone)
        if _first_match(parts, wall.replace(microsecond=0)) != wall.replace(microsecond=0):
            return None
    except (_NotExpressible, ValueError):
        return None
    return {"pattern": pattern, "range": bounds}
