"""Recurring bookings: expanding an RFC 5545 RRULE into booking start instants.

The rule is expanded in the booking's LOCAL wall-clock time, so "every Monday
at 9:00" stays 9:00 on the clock on both sides of a DST change, and each wall
time is then read as UTC the RFC 5545 way (see ``domain.zones.to_utc``).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

from domain.zones import load_zone, local_wall, to_utc

MAX_OCCURRENCES = 52
MAX_RULE_LENGTH = 500  # the column that keeps the rule

_ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY")
# Rule parts a booking rule may use. Parts that move the time of day (BYHOUR,
# BYMINUTE, ...) or pick among a set (BYSETPOS, ...) are refused: a recurring
# booking repeats one time of day on whole days.
_ALLOWED_PARTS = frozenset({"FREQ", "COUNT", "UNTIL", "INTERVAL", "BYDAY", "BYMONTHDAY", "WKST"})
_POSITIVE_INT = re.compile(r"[0-9]{1,6}")
_UNTIL = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})(?:T([0-9]{2})([0-9]{2})([0-9]{2})(Z?))?")
# dateutil compares UNTIL with naive local wall times; give it room and apply
# the exact UTC bound ourselves.
_UNTIL_MARGIN = timedelta(days=2)
# A series' *reach*: it must have all its occurrences within this many periods
# (FREQ times INTERVAL) of its first. That is twice what 52 occurrences need at
# one a period, room for months without a 31st. Past it a rule matches too
# rarely to be a series, and expanding it means walking period after period
# (356,000 of them for a daily rule that can never match, running to 2999).
MAX_PERIODS = 2 * MAX_OCCURRENCES
_PERIOD = {"DAILY": relativedelta(days=1), "WEEKLY": relativedelta(weeks=1), "MONTHLY": relativedelta(months=1)}


class RecurrenceError(ValueError):
    """The recurrence rule cannot be used for a booking; ``reason`` says why, for humans."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _parse_parts(rrule: str) -> dict[str, str]:
    if not isinstance(rrule, str):
        raise RecurrenceError("the recurrence rule must be text")
    value = rrule.strip()
    if value[:6].upper() == "RRULE:":
        value = value[6:]
    value = value.rstrip(";")  # some calendar clients end the rule with a stray ';'
    if not value:
        raise RecurrenceError("the recurrence rule is empty")
    if re.search(r"[\s:]", value):
        raise RecurrenceError("the recurrence rule must be a single RRULE value such as 'FREQ=WEEKLY;COUNT=10'")
    parts: dict[str, str] = {}
    for item in value.split(";"):
        name, sep, part = item.partition("=")
        name = name.upper()
        if not sep or not name or not part:
            raise RecurrenceError(f"malformed rule part {item!r}: expected NAME=VALUE")
        if name in parts:
            raise RecurrenceError(f"rule part {name} is given twice")
        if name not in _ALLOWED_PARTS:
            raise RecurrenceError(f"rule part {name} is not supported for bookings")
        parts[name] = part.upper()
    return parts


def _positive(parts: dict[str, str], name: str) -> int | None:
    if name not in parts:
        return None
    if not _POSITIVE_INT.fullmatch(parts[name]):
        raise RecurrenceError(f"{name} must be a whole number, got {parts[name]!r}")
    return int(parts[name])


def _until_instant(text: str, zone_name: str) -> datetime:
    """The last instant UNTIL allows. A UTC date-time ('...Z') is exact; a date-time
    without 'Z' is a local wall time; a bare date allows its whole local day."""
    match = _UNTIL.fullmatch(text)
    if match is None:
        raise RecurrenceError(f"UNTIL must look like 20260630T235959Z, got {text!r}")
    year, month, day, hour, minute, second, zulu = match.groups()
    try:
        if hour is None:
            next_day = date(int(year), int(month), int(day)) + timedelta(days=1)
            end_of_day = datetime(next_day.year, next_day.month, next_day.day)
            return to_utc(end_of_day, load_zone(zone_name)) - timedelta(microseconds=1)
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except (ValueError, OverflowError) as exc:
        raise RecurrenceError(f"UNTIL is not a valid date: {text!r}") from exc
    return stamp.replace(tzinfo=UTC) if zulu else to_utc(stamp, load_zone(zone_name))


def _period(parts: dict[str, str]) -> str:
    """How often the rule comes round at the least: its FREQ, except that a DAILY rule kept to some weekdays
    (BYDAY) comes round weekly, and one kept to some days of the month (BYMONTHDAY) monthly."""
    if parts["FREQ"] == "DAILY" and "BYMONTHDAY" in parts:
        return "MONTHLY"
    if parts["FREQ"] == "DAILY" and "BYDAY" in parts:
        return "WEEKLY"
    return parts["FREQ"]


def _reach_end(parts: dict[str, str], dtstart: datetime) -> datetime:
    """The local wall time MAX_PERIODS periods after ``dtstart``: the series' reach."""
    periods = MAX_PERIODS * int(parts.get("INTERVAL", "1"))
    try:
        return dtstart + _PERIOD[_period(parts)] * periods
    except (ValueError, OverflowError):  # past year 9999: the calendar ends first
        return datetime.max.replace(microsecond=0)


_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


def _kept_by_daily_filters(parts: dict[str, str], wall: datetime) -> bool:
    """Whether a day of a DAILY rule passes its BYDAY and BYMONTHDAY (both limit the days, RFC 5545 3.3.10)."""
    if "BYDAY" in parts and wall.weekday() not in {_WEEKDAYS[day[-2:]] for day in parts["BYDAY"].split(",")}:
        return False
    if "BYMONTHDAY" in parts:
        month_length = calendar.monthrange(wall.year, wall.month)[1]
        wanted = {int(day) for day in parts["BYMONTHDAY"].split(",")}
        return wall.day in wanted or wall.day - month_length - 1 in wanted
    return True


def _walls(parts: dict[str, str], dtstart: datetime, until_wall: datetime) -> list[datetime]:
    """The rule's local wall times from ``dtstart`` up to ``until_wall``: enough of them to fill
    or overfill MAX_OCCURRENCES (DTSTART included when the rule matches it)."""
    bound = f"UNTIL={until_wall:%Y%m%dT%H%M%S}"
    rule_parts = [f"{name}={value}" for name, value in parts.items() if name not in ("COUNT", "UNTIL")]
    try:
        rule = rrulestr(";".join([*rule_parts, bound]), dtstart=dtstart)  # also checks the parts' syntax
        if parts["FREQ"] != "DAILY":
            return list(islice(rule, MAX_OCCURRENCES + 2))
        # dateutil looks for a next match regardless of UNTIL, up to the year 9999, so a daily rule whose BYDAY or
        # BYMONTHDAY never matches would cost seconds. For DAILY both only filter days: walk the unfiltered days (at
        # most MAX_PERIODS before the bound) and filter them here.
        unfiltered = [part for part in rule_parts if not part.startswith(("BYDAY=", "BYMONTHDAY="))]
        days = rrulestr(";".join([*unfiltered, bound]), dtstart=dtstart)
        return list(islice((wall for wall in days if _kept_by_daily_filters(parts, wall)), MAX_OCCURRENCES + 2))
    except (ValueError, KeyError, TypeError, IndexError, OverflowError) as exc:
        raise RecurrenceError(f"invalid recurrence rule: {exc}") from exc


def occurrence_starts(rrule: str, first_start: datetime, zone: str) -> list[datetime]:
    """Expand an RFC 5545 RRULE value (e.g. 'FREQ=WEEKLY;COUNT=10', optionally prefixed 'RRULE:')
    anchored at first_start's LOCAL wall time in `zone`, so a weekly 9:00 stays 9:00 local across DST.

    Returns UTC instants, first_start included as the first occurrence (as in RFC 5545,
    DTSTART counts as the first occurrence and towards COUNT even when the rule would not
    generate it). Each later wall time is converted with to_utc (RFC 5545 reading).
    Allowed: FREQ DAILY, WEEKLY, MONTHLY only; COUNT or UNTIL required (exactly one; an
    unbounded rule is an error); at most 52 occurrences (a rule that would produce more is
    an error, not truncated); INTERVAL, BYDAY, BYMONTHDAY and WKST allowed. UNTIL is
    inclusive: a UTC date-time ('Z') is compared as an instant, a floating date-time as a
    local wall time, a bare date covers its whole local day.

    Every occurrence must lie within the series' reach (MAX_PERIODS periods of FREQ times
    INTERVAL from the first); a COUNT the rule cannot fill within it, or an UNTIL past it, is
    an error, so expanding a rule costs at most that many periods.

    Raises RecurrenceError (with ``reason``) on bad syntax, a disallowed FREQ or part,
    an unbounded rule, too many, or zero occurrences, or occurrences beyond the reach;
    UnknownTimeZone for a bad ``zone``; ValueError for a naive ``first_start``.
    """
    if len(rrule) > MAX_RULE_LENGTH:
        raise RecurrenceError(f"the rule is longer than {MAX_RULE_LENGTH} characters")
    parts = _parse_parts(rrule)
    tz = load_zone(zone)
    if first_start.tzinfo is None:
        raise ValueError("first_start must be an aware datetime")
    first_start = first_start.astimezone(UTC)

    freq = parts.get("FREQ")
    if freq is None:
        raise RecurrenceError("the rule needs FREQ (DAILY, WEEKLY or MONTHLY)")
    if freq not in _ALLOWED_FREQ:
        raise RecurrenceError(f"FREQ={freq} is not allowed; use DAILY, WEEKLY or MONTHLY")
    count = _positive(parts, "COUNT")
    interval = _positive(parts, "INTERVAL")
    if interval == 0:
        raise RecurrenceError("INTERVAL must be at least 1")
    if count is not None and "UNTIL" in parts:
        raise RecurrenceError("use COUNT or UNTIL, not both")
    if count is None and "UNTIL" not in parts:
        raise RecurrenceError("the rule never ends: give COUNT or UNTIL")
    if freq == "WEEKLY" and "BYMONTHDAY" in parts:
        # RFC 5545 forbids it; dateutil would filter with it and might search for centuries.
        raise RecurrenceError("BYMONTHDAY cannot be used with FREQ=WEEKLY; use FREQ=MONTHLY or FREQ=DAILY")
    for day in parts.get("BYMONTHDAY", "1").split(","):
        # dateutil silently accepts impossible days such as 40 and then never matches.
        if not re.fullmatch(r"[+-]?[0-9]{1,2}", day) or not 1 <= abs(int(day)) <= 31:
            raise RecurrenceError(f"BYMONTHDAY must list days 1..31 or -31..-1, got {parts['BYMONTHDAY']!r}")
    if count == 0:
        raise RecurrenceError("COUNT=0 produces no occurrences")
    if count is not None and count > MAX_OCCURRENCES:
        raise RecurrenceError(f"COUNT={count} is more than {MAX_OCCURRENCES} occurrences")

    until = _until_instant(parts["UNTIL"], zone) if "UNTIL" in parts else None
    if until is not None and until < first_start:
        raise RecurrenceError("UNTIL is before the first occurrence: the rule produces no occurrences")

    try:
        starts = _expand(parts, first_start, tz, count, until)
    except OverflowError as exc:  # occurrences past year 9999
        raise RecurrenceError("the rule reaches dates beyond the supported range") from exc
    if count is not None and len(starts) < count:
        # e.g. FREQ=DAILY;INTERVAL=7;BYDAY=TU from a Monday never matches: booking only the first would mislead.
        raise RecurrenceError(f"the rule matches only {len(starts)} of the {count} occurrences asked for")
    return starts


def bounded_rule(rrule: str, planned: Sequence[datetime]) -> str:
    """The rule as it is written to a calendar: its parts, bounded to the ``planned`` occurrences
    (what occurrence_starts gave for it). A COUNT rule says COUNT of them; an UNTIL rule says
    UNTIL the last one, in UTC, so no calendar server ever expands it past the booked series."""
    parts = _parse_parts(rrule)
    body = [f"{name}={value}" for name, value in parts.items() if name not in ("COUNT", "UNTIL")]
    if "COUNT" in parts:
        return ";".join([*body, f"COUNT={len(planned)}"])
    last = planned[-1].astimezone(UTC)
    if last.microsecond:  # UNTIL has whole seconds: round up so the last occurrence stays in
        last = last.replace(microsecond=0) + timedelta(seconds=1)
    return ";".join([*body, f"UNTIL={last:%Y%m%dT%H%M%SZ}"])


def _expand(
    parts: dict[str, str], first_start: datetime, tz: ZoneInfo, count: int | None, until: datetime | None
) -> list[datetime]:
    first_wall = local_wall(first_start, tz)
    # dateutil drops microseconds from DTSTART; put them back on every occurrence.
    dtstart = first_wall.replace(microsecond=0)
    reach_end = _reach_end(parts, dtstart)
    until_wall = reach_end if until is None else min(local_wall(until, tz) + _UNTIL_MARGIN, reach_end)
    starts = [first_start]
    for wall in _walls(parts, dtstart, until_wall):
        if count is not None and len(starts) >= count:
            break  # a DTSTART the rule does not match still counts towards COUNT
        if wall == dtstart:
            continue  # DTSTART itself is already first_start (which may be a fold's second reading)
        instant = to_utc(wall.replace(microsecond=first_wall.microsecond), tz)
        if until is not None and instant > until:
            break  # occurrences are whole days apart, so later ones are later instants too
        starts.append(instant)
        if len(starts) > MAX_OCCURRENCES:
            raise RecurrenceError(f"the rule produces more than {MAX_OCCURRENCES} occurrences")
    if until is not None and local_wall(until, tz) > reach_end:
        # Fewer than MAX_OCCURRENCES within the reach, and UNTIL says the series goes on past it.
        unit = {"DAILY": "days", "WEEKLY": "weeks", "MONTHLY": "months"}[_period(parts)]
        raise RecurrenceError(
            f"the rule matches too rarely: a series has all its occurrences within {MAX_PERIODS} times INTERVAL "
            f"{unit} of the first, and this UNTIL is later; give COUNT, or an earlier UNTIL")
    return starts
