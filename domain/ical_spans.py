"""When a VEVENT takes place: the one reading of DTSTART, DTEND and DURATION that serves a single event and every
occurrence of a recurring one alike.

Terms:
- *reading zone*: where dates are read: an all-day event runs from local midnight to local midnight there.
- *floating zone*: where floating date-times (no TZID, no Z) are read: the calendar's X-WR-TIMEZONE when it names an
  IANA zone (the zone the calendar says it was written in), else the reading zone.
- *expansion window*: the window an expansion of a recurring event is asked for: the import window widened by a day
  on each side. The expansion compares dates and floating times as if they were UTC, while they stand for local
  times up to 14 hours away, so asking for the exact window loses occurrences near its edges; the caller keeps only
  what overlaps the exact window.

Rules (RFC 5545 3.6.1, 3.8.2.5, 3.3.6):
- no DTEND and no DURATION: a date lasts one day; a date-time takes no time;
- DTEND before DTSTART: the span between the two (the expansion of a recurring event reads it so, and so does a
  single event);
- DURATION: its whole days move to the same wall time (for a date, the local midnight) that many days later, its
  hours, minutes and seconds are exact on top; so a date with DURATION:PT10H runs from local midnight for 10 hours;
- *all-day*: the start is a date and the span is whole local days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import recurring_ical_events

from domain.intervals import Span
from domain.zones import is_valid_zone, load_zone, local_wall, to_utc

EXPANSION_MARGIN = timedelta(days=1)  # more than any UTC offset (at most 14 hours)
_DECLARED_ZONE = "X-WR-TIMEZONE"


@dataclass(frozen=True)
class ReadingZones:
    dates: ZoneInfo
    floating: ZoneInfo


def reading_zones(calendar: Any, zone: str) -> ReadingZones:
    """The zones one calendar object is read in, for a connection whose reading zone is `zone`."""
    dates = load_zone(zone)
    declared = str(calendar.get(_DECLARED_ZONE, "")).strip()
    return ReadingZones(dates, load_zone(declared) if is_valid_zone(declared) else dates)


def instant(value: date | datetime, zones: ReadingZones) -> datetime:
    """A DTSTART/DTEND/RECURRENCE-ID value as a UTC instant: a date is its local midnight in the reading zone, a
    floating time is read in the floating zone."""
    if isinstance(value, datetime):
        return to_utc(value, zones.floating) if value.tzinfo is None else value.astimezone(UTC)
    return to_utc(datetime(value.year, value.month, value.day), zones.dates)


def _after(start: date | datetime, length: timedelta, zones: ReadingZones) -> datetime:
    """The instant `length` after `start`: whole days on the wall clock, the rest exact."""
    days = timedelta(days=length.days)
    return instant(start + days, zones) + (length - days)


def _date_start(component: Any, series_from_date: bool) -> tuple[date | datetime, timedelta | None]:
    """DTSTART, and the length of an occurrence that the expansion library turned from a date into a floating
    midnight (it does so for a date with a DURATION in hours): that occurrence is read as its date again."""
    start = component["DTSTART"].dt
    if (series_from_date and isinstance(start, datetime) and start.tzinfo is None and start.time() == time()
            and component.get("DTEND") is not None):
        end = component["DTEND"].dt
        if isinstance(end, datetime) and end.tzinfo is None:
            return start.date(), end - start
    return start, None


def event_span(component: Any, zones: ReadingZones, *, series_from_date: bool = False) -> tuple[Span | None, bool]:
    """Where a VEVENT (or one occurrence of a recurring one) takes place, and whether it is all-day; the span is
    None when it takes no time. `series_from_date`: the occurrence belongs to a series whose DTSTART is a date."""
    start_value, length = _date_start(component, series_from_date)
    start = instant(start_value, zones)
    if length is not None:
        end = _after(start_value, length, zones)
    elif component.get("DTEND") is not None:
        end = instant(component["DTEND"].dt, zones)
    elif component.get("DURATION") is not None:
        end = _after(start_value, component["DURATION"].dt, zones)
    elif isinstance(start_value, datetime):
        end = start
    else:
        end = _after(start_value, timedelta(days=1), zones)
    start, end = min(start, end), max(start, end)
    all_day = (not isinstance(start_value, datetime) and local_wall(start, zones.dates).time() == time()
               and local_wall(end, zones.dates).time() == time())
    return (Span(start, end) if start < end else None), all_day


def expansion_window(window: Span) -> Span:
    return Span(window.start - EXPANSION_MARGIN, window.end + EXPANSION_MARGIN)


def expand(calendar: Any, window: Span) -> list[Any]:
    """Every occurrence of the calendar's events that may overlap `window` (asked over the expansion window; the
    caller checks the overlap exactly). X-WR-TIMEZONE is kept from the expansion library, which would read floating
    times in it on this path only: floating times are read by `instant`, on every path alike."""
    declared = calendar.pop(_DECLARED_ZONE, None)
    try:
        wide = expansion_window(window)
        return list(recurring_ical_events.of(calendar).between(wide.start, wide.end))
    finally:
        if declared is not None:
            calendar[_DECLARED_ZONE] = declared


def starts_from_date(calendar: Any) -> frozenset[str]:
    """The UIDs of the calendar's series whose DTSTART is a date."""
    return frozenset(str(event.get("UID", "")) for event in calendar.walk("VEVENT")
                     if event.get("RECURRENCE-ID") is None and event.get("DTSTART") is not None
                     and not isinstance(event["DTSTART"].dt, datetime))
