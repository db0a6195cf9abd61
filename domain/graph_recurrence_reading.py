"""Reading a Microsoft Graph patternedRecurrence back: as an RRULE (`rrule_of_graph`) and as the UTC starts of its
occurrences (`graph_occurrence_starts`), with Graph's meanings (domain/graph_recurrence.py lists them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import rrulestr

from domain.graph_events import zone_name
from domain.graph_recurrence import (
    _CODES,
    _INDEXES,
    _LATEST,
    _NAMES,
    _UNTIL_MARGIN,
    UnreadableGraphRecurrence,
    _NotExpressible,
    _parts,
    _until_instant,
)
from domain.zones import load_zone, local_wall, to_utc


def _day_part(day: Any) -> str:
    """BYMONTHDAY (and BYSETPOS) for Graph's dayOfMonth: past the 28th, the day or the month's last if it lacks it."""
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
        raise UnreadableGraphRecurrence("dayOfMonth must be 1 to 31")
    if day <= 28:
        return f"BYMONTHDAY={day}"
    return f"BYMONTHDAY={','.join(str(value) for value in range(28, day + 1))};BYSETPOS=-1"


def _day_codes(pattern: dict[str, Any]) -> list[str]:
    days = pattern.get("daysOfWeek")
    if not isinstance(days, list) or not days or not all(day in _NAMES for day in days):
        raise UnreadableGraphRecurrence("daysOfWeek must name days of the week")
    return [_CODES[_NAMES.index(day)] for day in sorted(set(days), key=_NAMES.index)]


def _relative_part(pattern: dict[str, Any]) -> str:
    codes = _day_codes(pattern)
    index = _INDEXES.get(pattern.get("index", "first"))
    if index is None:
        raise UnreadableGraphRecurrence("index must be first, second, third, fourth or last")
    return f"BYDAY={index}{codes[0]}" if len(codes) == 1 else f"BYDAY={','.join(codes)};BYSETPOS={index}"


def _month_part(pattern: dict[str, Any]) -> str:
    month = pattern.get("month")
    if not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12:
        raise UnreadableGraphRecurrence("month must be 1 to 12")
    return f"BYMONTH={month}"


def _pattern_parts(pattern: dict[str, Any]) -> list[str]:
    kind = pattern.get("type")
    interval = pattern.get("interval", 1)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise UnreadableGraphRecurrence("interval must be a positive whole number")
    if kind == "daily":
        return ["FREQ=DAILY", f"INTERVAL={interval}"]
    if kind == "weekly":
        first_day = pattern.get("firstDayOfWeek", "sunday")
        if first_day not in _NAMES:
            raise UnreadableGraphRecurrence("firstDayOfWeek must name a day of the week")
        return ["FREQ=WEEKLY", f"INTERVAL={interval}", f"BYDAY={','.join(_day_codes(pattern))}",
                f"WKST={_CODES[_NAMES.index(first_day)]}"]
    if kind == "absoluteMonthly":
        return ["FREQ=MONTHLY", f"INTERVAL={interval}", _day_part(pattern.get("dayOfMonth"))]
    if kind == "relativeMonthly":
        return ["FREQ=MONTHLY", f"INTERVAL={interval}", _relative_part(pattern)]
    if kind == "absoluteYearly":
        return ["FREQ=YEARLY", f"INTERVAL={interval}", _month_part(pattern), _day_part(pattern.get("dayOfMonth"))]
    if kind == "relativeYearly":
        return ["FREQ=YEARLY", f"INTERVAL={interval}", _month_part(pattern), _relative_part(pattern)]
    raise UnreadableGraphRecurrence(f"unknown pattern type {kind!r}")


def _range_part(bounds: dict[str, Any]) -> list[str]:
    kind = bounds.get("type")
    if kind == "noEnd":
        return []
    if kind == "numbered":
        count = bounds.get("numberOfOccurrences")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise UnreadableGraphRecurrence("numberOfOccurrences must be a positive whole number")
        return [f"COUNT={count}"]
    if kind == "endDate":
        try:
            last = date.fromisoformat(str(bounds.get("endDate")))
        except ValueError as exc:
            raise UnreadableGraphRecurrence("endDate must be a date") from exc
        zone = zone_name(bounds.get("recurrenceTimeZone"))
        if zone is None:
            return [f"UNTIL={last:%Y%m%d}T235959"]
        end = to_utc(datetime.combine(last + timedelta(days=1), time()), load_zone(zone)) - timedelta(seconds=1)
        return [f"UNTIL={end:%Y%m%dT%H%M%SZ}"]
    raise UnreadableGraphRecurrence(f"unknown range type {kind!r}")


def rrule_of_graph(recurrence: dict[str, Any]) -> str:
    """The RRULE value (without "RRULE:") of a patternedRecurrence, with Graph's meanings (see the module). An
    endDate becomes an UNTIL at the last second of that local day in recurrenceTimeZone (floating when the range
    names no zone we read). Raises UnreadableGraphRecurrence for anything that is not a patternedRecurrence."""
    pattern, bounds = recurrence.get("pattern"), recurrence.get("range")
    if not isinstance(pattern, dict) or not isinstance(bounds, dict):
        raise UnreadableGraphRecurrence("a recurrence needs a pattern and a range")
    return ";".join([*_pattern_parts(pattern), *_range_part(bounds)])


def graph_occurrence_starts(recurrence: dict[str, Any], first_start: datetime, zone: str,
                            until: datetime) -> list[datetime]:
    """The UTC starts of the series with this recurrence whose first start is `first_start` (aware), up to and
    including `until`: expanded on the wall clock in the IANA `zone` (a 9:00 stays 9:00 across DST; a wall time in a
    DST gap is read as domain.zones.to_utc reads it). Like Graph, and unlike RFC 5545's DTSTART, a first start that
    the pattern does not match is not an occurrence."""
    if first_start.tzinfo is None or until.tzinfo is None:
        raise ValueError("first_start and until must be aware datetimes")
    tz = load_zone(zone)
    first_start = first_start.astimezone(UTC)
    parts = _parts_of_graph(rrule_of_graph(recurrence))
    count = int(parts.pop("COUNT")) if "COUNT" in parts else None
    bound = min(until.astimezone(UTC), _LATEST)
    if "UNTIL" in parts:
        bound = min(bound, _until_instant(parts.pop("UNTIL"), zone))
    if bound < first_start:
        return []
    first_wall = local_wall(first_start, tz)
    dtstart = first_wall.replace(microsecond=0)  # dateutil drops microseconds; they are put back on every start
    stop = local_wall(bound, tz) + _UNTIL_MARGIN
    rule = ";".join([*(f"{name}={value}" for name, value in parts.items()), f"UNTIL={stop:%Y%m%dT%H%M%S}"])
    starts: list[datetime] = []
    for wall in rrulestr(rule, dtstart=dtstart):
        if count is not None and len(starts) >= count:
            break
        instant = first_start if wall == dtstart else to_utc(wall.replace(microsecond=first_wall.microsecond), tz)
        if instant > bound:
            break  # occurrences are whole days apart, so later ones are later instants too
        starts.append(instant)
    return starts


def _parts_of_graph(rrule: str) -> dict[str, str]:
    try:
        return _parts(rrule)
    except _NotExpressible as exc:  # rrule_of_graph writes only parts _parts reads
        raise UnreadableGraphRecurrence("not a recurrence rule") from exc
