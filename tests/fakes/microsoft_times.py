"""Times and recurrence as the fake Microsoft Graph reads and writes them.

Terms:
- *dateTimeTimeZone*: Graph's `{"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "W. Europe Standard Time"}`:
  a wall-clock time without offset, and the zone it is read in (a Windows zone name or an IANA one).
- *patternedRecurrence*: Graph's `{"pattern": {...}, "range": {...}}`; the fake translates it to an RFC 5545 rule and
  expands it with dateutil in the series' own zone, so a weekly 9:00 stays at 9:00 local across DST.
- *original start*: the UTC instant the rule puts an occurrence at (whatever an exception later moved it to); it names
  the occurrence.
Graph answers times in UTC unless `Prefer: outlook.timezone` names another zone; an all-day event keeps its local
midnights whichever zone it is written in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, FR, MO, MONTHLY, SA, SU, TH, TU, WE, WEEKLY, YEARLY, rrule, weekday

from tests.fakes.microsoft_errors import GraphError

MAX_OCCURRENCES = 2000  # a bound on one expansion, as the real service bounds long series
WINDOWS_ZONES = {  # the Windows names a test is likely to send; IANA names are accepted as they are
    "UTC": "UTC", "GMT Standard Time": "Europe/London", "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris", "Central Europe Standard Time": "Europe/Budapest",
    "Eastern Standard Time": "America/New_York", "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver", "Pacific Standard Time": "America/Los_Angeles",
    "AUS Eastern Standard Time": "Australia/Sydney", "Tokyo Standard Time": "Asia/Tokyo",
    "India Standard Time": "Asia/Kolkata",
}
_DAYS: dict[str, weekday] = {"monday": MO, "tuesday": TU, "wednesday": WE, "thursday": TH, "friday": FR,
                             "saturday": SA, "sunday": SU}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FREQUENCY = {"daily": DAILY, "weekly": WEEKLY, "absoluteMonthly": MONTHLY, "relativeMonthly": MONTHLY,
              "absoluteYearly": YEARLY, "relativeYearly": YEARLY}


def zone(name: str | None) -> ZoneInfo:
    """The zone a dateTimeTimeZone or a Prefer header names; 400 as Graph answers an unknown one."""
    try:
        return ZoneInfo(WINDOWS_ZONES.get(name or "", name or ""))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise GraphError(400, "TimeZoneNotSupportedException",
                         f"A valid TimeZone value must be specified. The following TimeZone value is not supported: "
                         f"'{name or ''}'.") from exc


def wall_clock(value: Any) -> tuple[datetime, str]:
    """A dateTimeTimeZone as (aware datetime in its zone, the zone's name as sent)."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise GraphError(400, "ErrorInvalidRequest", "A dateTimeTimeZone needs dateTime and timeZone.")
    name = value.get("timeZone") or "UTC"
    where = zone(name)
    try:
        parsed = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidRequest", f"Cannot read the date-time {value['dateTime']!r}.") from exc
    if parsed.tzinfo is not None:
        return parsed.astimezone(where), name
    return parsed.replace(tzinfo=where), name


def query_instant(value: str | None, name: str) -> datetime:
    """startDateTime/endDateTime of a window: its own offset, or UTC when it has none."""
    if not value:
        raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window specified by the query "
                                                       "string parameters StartDateTime and EndDateTime.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidParameter",
                         f"The value '{value}' of parameter '{name}' is invalid.") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def graph_date_time(moment: datetime) -> str:
    """Graph's wall-clock form, seven fractional digits and no offset."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "0"


def utc_timestamp(moment: datetime) -> str:
    """A UTC Timestamp as Graph writes originalStart, createdDateTime and the like."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "0Z"


def render(moment: datetime, all_day: bool, answer_zone: str) -> dict[str, str]:
    """A dateTimeTimeZone in the answer's zone; an all-day event's local midnight stays that midnight."""
    if all_day:
        return {"dateTime": graph_date_time(datetime.combine(moment.date(), time())), "timeZone": answer_zone}
    return {"dateTime": graph_date_time(moment.astimezone(zone(answer_zone))), "timeZone": answer_zone}


def shifted(local: datetime, length: timedelta) -> datetime:
    """`length` later on the wall clock of `local`'s zone (an hour's meeting stays an hour of local time)."""
    tz = local.tzinfo
    return (local.replace(tzinfo=None) + length).replace(tzinfo=tz)


def wall_length(start: datetime, end: datetime) -> timedelta:
    """How long from `start` to `end` on the wall clock of `start`'s zone."""
    return end.astimezone(start.tzinfo).replace(tzinfo=None) - start.replace(tzinfo=None)


def _rule_values(pattern: dict[str, Any]) -> dict[str, Any]:
    kind = pattern.get("type")
    if kind not in _FREQUENCY:
        raise GraphError(400, "ErrorInvalidRequest", f"Unknown recurrence pattern type {kind!r}.")
    values: dict[str, Any] = {"freq": _FREQUENCY[kind], "interval": int(pattern.get("interval") or 1)}
    days = [_DAYS[day] for day in pattern.get("daysOfWeek") or []]
    if kind == "weekly":
        if not days:
            raise GraphError(400, "ErrorInvalidRequest", "A weekly pattern needs daysOfWeek.")
        values.update(byweekday=days, wkst=_DAYS[pattern.get("firstDayOfWeek") or "sunday"])
    if kind in ("absoluteMonthly", "absoluteYearly"):
        values["bymonthday"] = int(pattern["dayOfMonth"])
    if kind in ("relativeMonthly", "relativeYearly"):
        if not days:
            raise GraphError(400, "ErrorInvalidRequest", "A relative pattern needs daysOfWeek.")
        values.update(byweekday=days, bysetpos=_INDEX[pattern.get("index") or "first"])
    if kind in ("absoluteYearly", "relativeYearly"):
        values["bymonth"] = int(pattern["month"])
    return values


def series_rule(recurrence: dict[str, Any], first_start: datetime) -> rrule:
    """The rule of a patternedRecurrence whose occurrences start at `first_start`'s wall-clock time, from the range's
    startDate on (aware datetimes in the series' zone)."""
    pattern, span = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    values = _rule_values(pattern)
    tz = first_start.tzinfo
    try:
        start_date = date.fromisoformat(span["startDate"]) if span.get("startDate") else first_start.date()
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidRequest", "Bad recurrence range startDate.") from exc
    values["dtstart"] = datetime.combine(start_date, first_start.timetz().replace(tzinfo=None), tz)
    kind = span.get("type") or "noEnd"
    if kind == "endDate":
        values["until"] = datetime.combine(date.fromisoformat(span["endDate"]), time(23, 59, 59), tz)
    elif kind == "numbered":
        values["count"] = int(span["numberOfOccurrences"])
    elif kind != "noEnd":
        raise GraphError(400, "ErrorInvalidRequest", f"Unknown recurrence range type {kind!r}.")
    return rrule(cache=False, **values)


def original_starts(recurrence: dict[str, Any], first_start: datetime, length: timedelta,
                    window: tuple[datetime, datetime] | None) -> list[datetime]:
    """Original starts (aware, series zone) of the occurrences the rule puts in `window` (overlapping it), or of the
    whole series (at most MAX_OCCURRENCES) when there is no window."""
    rule = series_rule(recurrence, first_start)
    found: list[datetime] = []
    for start in rule:
        if len(found) >= MAX_OCCURRENCES:
            break
        if window is not None:
            if start.astimezone(UTC) >= window[1]:
                break
            if shifted(start, length).astimezone(UTC) <= window[0]:
                continue
        found.append(start)
    return found


def first_occurrence(recurrence: dict[str, Any], first_start: datetime) -> datetime | None:
    rule = series_rule(recurrence, first_start)
    for start in rule:
        return start
    return None
