"""iCalendar text for the events Lockstep writes (CalDAV stores it as is; the memory fake keeps it too).

One calendar object per booking or series: a master VEVENT whose UID is the marker, plus one VEVENT per moved
occurrence (same UID, RECURRENCE-ID = its planned start). Times are written in the staff member's zone with a
VTIMEZONE, so a weekly 9:00 series stays at 9:00 local across DST in every client. An instant whose local time
happens twice (the hour repeated when clocks fall back) is written in UTC instead: a local time with a TZID cannot
say which of the two it means, and a reader taking the other would see the booking moved by an hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

import icalendar

from domain.colours import CSS_COLOURS, nearest_colour
from domain.zones import load_zone
from providers.base import OutgoingEvent

PRODID = "-//Lockstep//Bookings//EN"


def _written_time(instant: datetime, zone: tzinfo) -> datetime:
    """`instant` as local time in `zone`, or in UTC when that local time is ambiguous."""
    local = instant.astimezone(zone)
    wall = local.replace(tzinfo=None)
    readings = {wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    return local if len(readings) == 1 else instant.astimezone(UTC)


def _vevent(event: OutgoingEvent, starts_at: datetime, ends_at: datetime, stamp: datetime, *,
            recurring: bool = False) -> icalendar.Event:
    zone = load_zone(event.time_zone)
    # A recurring master keeps local time even when ambiguous: in UTC its RRULE would drift an hour across DST.
    written_start = starts_at.astimezone(zone) if recurring else _written_time(starts_at, zone)
    vevent = icalendar.Event()
    vevent.add("UID", event.marker)
    vevent.add("DTSTAMP", stamp)
    vevent.add("DTSTART", written_start)
    vevent.add("DTEND", _written_time(ends_at, zone))
    vevent.add("SUMMARY", event.summary)
    if event.description:
        vevent.add("DESCRIPTION", event.description)
    vevent.add("STATUS", "CONFIRMED")
    vevent.add("TRANSP", "OPAQUE")
    if event.colour:
        vevent.add("COLOR", nearest_colour(event.colour, CSS_COLOURS))
    return vevent


def outgoing_to_ical(event: OutgoingEvent, stamp: datetime) -> str:
    """The calendar object for `event`; `stamp` is DTSTAMP (when this version was written, in UTC)."""
    zone = load_zone(event.time_zone)
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    master = _vevent(event, event.starts_at, event.ends_at, stamp, recurring=bool(event.rrule))
    if event.rrule:
        master.add("RRULE", icalendar.vRecur.from_ical(event.rrule))
        for planned in sorted(event.exdates):
            master.add("EXDATE", _written_time(planned, zone))
    calendar.add_component(master)
    for moved in sorted(event.moved, key=lambda m: m.planned_start):
        override = _vevent(event, moved.starts_at, moved.ends_at, stamp)
        override.add("RECURRENCE-ID", _written_time(moved.planned_start, zone))
        calendar.add_component(override)
    # Only the years the event can touch (a series spans at most 52 weeks): a whole-history VTIMEZONE is large.
    calendar.add_missing_timezones(first_date=date(event.starts_at.year - 1, 1, 1),
                                   last_date=date(event.starts_at.year + 3, 1, 1))
    return calendar.to_ical().decode()
