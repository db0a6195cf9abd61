"""iCalendar text for the events Lockstep writes (CalDAV stores it as is; the memory fake keeps it too).

One calendar object per booking or series: a master VEVENT whose UID is the marker, plus one VEVENT per moved
occurrence (same UID, RECURRENCE-ID = its planned start). Times are written in the staff member's zone with a
VTIMEZONE, so a weekly 9:00 series stays at 9:00 local across DST in every client.
"""

from __future__ import annotations

from datetime import date, datetime

import icalendar

from domain.colours import CSS_COLOURS, nearest_colour
from domain.zones import load_zone
from providers.base import OutgoingEvent

PRODID = "-//Lockstep//Bookings//EN"


def _vevent(event: OutgoingEvent, starts_at: datetime, ends_at: datetime, stamp: datetime) -> icalendar.Event:
    zone = load_zone(event.time_zone)
    vevent = icalendar.Event()
    vevent.add("UID", event.marker)
    vevent.add("DTSTAMP", stamp)
    vevent.add("DTSTART", starts_at.astimezone(zone))
    vevent.add("DTEND", ends_at.astimezone(zone))
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
    master = _vevent(event, event.starts_at, event.ends_at, stamp)
    if event.rrule:
        master.add("RRULE", icalendar.vRecur.from_ical(event.rrule))
        for planned in sorted(event.exdates):
            master.add("EXDATE", planned.astimezone(zone))
    calendar.add_component(master)
    for moved in sorted(event.moved, key=lambda m: m.planned_start):
        override = _vevent(event, moved.starts_at, moved.ends_at, stamp)
        override.add("RECURRENCE-ID", moved.planned_start.astimezone(zone))
        calendar.add_component(override)
    # Only the years the event can touch (a series spans at most 52 weeks): a whole-history VTIMEZONE is large.
    calendar.add_missing_timezones(first_date=date(event.starts_at.year - 1, 1, 1),
                                   last_date=date(event.starts_at.year + 3, 1, 1))
    return calendar.to_ical().decode()
