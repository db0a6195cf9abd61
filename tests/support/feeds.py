"""Reading a calendar feed (or an export) the way two independent calendars would, and insisting they agree.

``read_feed`` parses the bytes with icalendar and with the independent ``ical`` package, as
tests/support/invitations.py reads an invitation: the same framing checks (CRLF line ends, lines folded at 75
octets, UTF-8), and every local time read a third way, through the VTIMEZONE's own parts alone. It also checks what
makes it a feed rather than a message: VERSION 2.0, a PRODID, a name, no METHOD, no ORGANIZER or ATTENDEE, a VTIMEZONE
for every TZID used. Both parsers must agree on every VEVENT. ``shown_occurrences`` expands the feed into what a
calendar shows (recurring_ical_events over icalendar, and ical's own timeline), again insisting the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import icalendar
import recurring_ical_events
from ical.calendar_stream import IcsCalendarStream

from tests.support.invitations import (
    _assert_framing,
    _canonical_rule,
    _listed,
    _read_through_vtimezone,
    _recurrence_id,
    _utc,
)


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    sequence: int
    status: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    summary: str
    description: str | None
    location: str | None
    rrule: str | None  # FREQ first, the other parts by name
    exdates: tuple[datetime, ...]  # aware, UTC, ascending
    recurrence_id: datetime | None  # an instance of a series: its planned start (aware, UTC)
    time_zone: str | None  # DTSTART's TZID (None when written in UTC)


@dataclass(frozen=True)
class ReadFeed:
    name: str
    events: tuple[FeedEvent, ...]  # by UID, the series' own VEVENT before its instances

    def uids(self) -> list[str]:
        return sorted({event.uid for event in self.events})

    def of(self, uid: str) -> list[FeedEvent]:
        return [event for event in self.events if event.uid == uid]


@dataclass(frozen=True)
class Shown:
    """One occurrence as a calendar shows it."""

    uid: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    summary: str


_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _order(event: FeedEvent) -> tuple[str, datetime]:
    return event.uid, event.recurrence_id or _EARLIEST


def read_feed(data: bytes) -> ReadFeed:
    """What a feed holds, read by icalendar and by ``ical``; AssertionError when they disagree anywhere."""
    _assert_framing(data)
    name, first = _read_with_icalendar(data)
    second = _read_with_ical(data)
    assert first == second, f"the two parsers disagree:\nicalendar: {first}\nical:      {second}"
    return ReadFeed(name, first)


def _read_with_icalendar(data: bytes) -> tuple[str, tuple[FeedEvent, ...]]:
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"])
    assert "METHOD" not in calendar, "a feed is published, not an iTIP message"
    zones = {str(zone["TZID"]): zone for zone in calendar.walk("VTIMEZONE")}
    assert len(zones) == len(calendar.walk("VTIMEZONE")), "one VTIMEZONE per TZID"
    events = []
    for event in calendar.walk("VEVENT"):
        assert "ORGANIZER" not in event and "ATTENDEE" not in event, "a feed invites nobody"
        times = [event["DTSTART"], event["DTEND"], *_listed(event.get("EXDATE"))]
        if "RECURRENCE-ID" in event:
            times.append(event["RECURRENCE-ID"])
        used = {prop.params["TZID"] for prop in times if "TZID" in prop.params}
        assert used <= set(zones), f"TZIDs without a VTIMEZONE: {used - set(zones)}"
        read = [_through_vtimezone(prop, zones) for prop in (event["DTSTART"], event["DTEND"])]
        rrule = event.get("RRULE")
        events.append(FeedEvent(
            uid=str(event["UID"]), sequence=int(str(event["SEQUENCE"])), status=str(event["STATUS"]),
            starts_at=read[0], ends_at=read[1], summary=str(event["SUMMARY"]),
            description=None if "DESCRIPTION" not in event else str(event["DESCRIPTION"]),
            location=None if "LOCATION" not in event else str(event["LOCATION"]),
            rrule=None if rrule is None else _canonical_rule(rrule.to_ical().decode()),
            exdates=tuple(sorted(_read_through_vtimezone(item.dt, prop.params.get("TZID"), zones)
                                 for prop in _listed(event.get("EXDATE")) for item in prop.dts)),
            recurrence_id=(None if "RECURRENCE-ID" not in event
                           else _through_vtimezone(event["RECURRENCE-ID"], zones)),
            time_zone=event["DTSTART"].params.get("TZID")))
    return str(calendar["X-WR-CALNAME"]), tuple(sorted(events, key=_order))


def _through_vtimezone(prop: Any, zones: dict[str, Any]) -> datetime:
    instant = _utc(prop.dt)
    assert _read_through_vtimezone(prop.dt, prop.params.get("TZID"), zones) == instant, (
        f"{prop.to_ical()!r} reads differently through its VTIMEZONE than through its zone's name")
    return instant


def _read_with_ical(data: bytes) -> tuple[FeedEvent, ...]:
    calendar = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    assert calendar.version == "2.0"
    events = []
    for event in calendar.events:
        assert isinstance(event.dtstart, datetime) and isinstance(event.dtend, datetime)
        assert event.status is not None and not event.attendees and event.organizer is None
        tzinfo = event.dtstart.tzinfo
        events.append(FeedEvent(
            uid=event.uid, sequence=int(event.sequence or 0), status=str(event.status.value),
            starts_at=_utc(event.dtstart), ends_at=_utc(event.dtend), summary=event.summary or "",
            description=event.description, location=event.location,
            rrule=None if event.rrule is None else _canonical_rule(event.rrule.as_rrule_str()),
            exdates=tuple(sorted(_utc(value) for value in event.exdate if isinstance(value, datetime))),
            recurrence_id=None if event.recurrence_id is None else _recurrence_id(event.recurrence_id),
            time_zone=getattr(tzinfo, "key", None) if tzinfo is not UTC and tzinfo is not None else None))
    return tuple(sorted(events, key=_order))


def shown_occurrences(data: bytes, start: datetime, end: datetime) -> list[Shown]:
    """The occurrences a calendar shows from ``start`` to ``end`` (aware), soonest first: expanded by
    recurring_ical_events over icalendar and by ical's timeline, which must agree."""
    calendar = icalendar.Calendar.from_ical(data)
    first = sorted((Shown(str(item["UID"]), _utc(item["DTSTART"].dt), _utc(item["DTEND"].dt), str(item["SUMMARY"]))
                    for item in recurring_ical_events.of(calendar).between(start, end)),
                   key=lambda shown: (shown.starts_at, shown.uid))
    timeline = IcsCalendarStream.calendar_from_ics(data.decode("utf-8")).timeline
    second = sorted((Shown(item.uid, _utc(item.dtstart), _utc(item.dtend), item.summary or "")
                     for item in timeline.overlapping(start, end)
                     if isinstance(item.dtstart, datetime) and isinstance(item.dtend, datetime)),
                    key=lambda shown: (shown.starts_at, shown.uid))
    assert first == second, f"the two calendars show different occurrences:\n{first}\n{second}"
    return first
