"""The staff member's side of a calendar, as calendar apps write it: personal events and hand moves of Lockstep's
events, with times zoned, in UTC, as floating wall time, or as a DURATION (and transparent events that take no time),
plus reading UIDs back."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from domain.intervals import Span

TIME_STYLES = ("zoned", "utc", "floating", "duration")


def set_times(event: Any, span: Span, style: str, zone: ZoneInfo) -> None:
    """DTSTART and DTEND (or DURATION) as some calendar app writes them: zoned, UTC or floating wall time."""
    start, end = ((i.astimezone(zone) if style in ("zoned", "floating") else i) for i in (span.start, span.end))
    if style == "floating":
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    event.add("DTSTART", start)
    event.add("DURATION", span.duration) if style == "duration" else event.add("DTEND", end)


def personal_event(uid: str, span: Span, style: str, zone: ZoneInfo) -> str:
    """A staff member's own event (a dentist appointment); `style` is one of TIME_STYLES or "transparent" (an event
    that takes no time)."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Some calendar app//EN")
    calendar.add("VERSION", "2.0")
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", datetime(2030, 1, 1, tzinfo=UTC))
    event.add("SUMMARY", "Dentist")
    set_times(event, span, "utc" if style == "transparent" else style, zone)
    if style == "transparent":
        event.add("TRANSP", "TRANSPARENT")
    calendar.add_component(event)
    if style == "zoned":
        calendar.add_missing_timezones()
    return str(calendar.to_ical().decode())


def moved_by_hand(payload: str, span: Span, style: str, zone: ZoneInfo) -> str:
    """The staff member drags an event: only its times change."""
    calendar = icalendar.Calendar.from_ical(payload)
    for event in calendar.walk("VEVENT"):
        for name in ("DTSTART", "DTEND", "DURATION"):
            event.pop(name, None)
        set_times(event, span, style, zone)
    return str(calendar.to_ical().decode())


@lru_cache(maxsize=4096)
def uids(payload: str) -> tuple[str, ...]:
    """The UIDs of an object's master VEVENTs (payloads never change in place, so each is parsed once)."""
    return tuple(str(event["UID"]) for event in icalendar.Calendar.from_ical(payload).walk("VEVENT")
                 if event.get("RECURRENCE-ID") is None)
