"""Reading an invitation the way three different calendars would, and insisting they agree.

``invitation_of`` finds the invitation in a mail as iMIP carries it and reads it with ``read_invitation``, which
parses the ICS bytes of an invitation with icalendar and with the independent ``ical`` package,
and reads every local time a third way: through the VTIMEZONE's own STANDARD/DAYLIGHT parts by the letter of
RFC 5545 3.6.5 (a part's onset is its DTSTART read in its TZOFFSETFROM), as a client that does not know the zone's
name does. It checks the framing that mail clients rely on (CRLF line ends, lines folded at 75 octets, PRODID,
VERSION 2.0, METHOD, one VTIMEZONE per TZID used, one VEVENT without RECURRENCE-ID, and for a series one more per
moved occurrence, with the same UID and SEQUENCE) and returns what all readers agree on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import icalendar
from ical.calendar_stream import IcsCalendarStream
from ical.types import RecurrenceId

_MAX_LINE_OCTETS = 75


@dataclass(frozen=True)
class ReadInvitation:
    uid: str
    sequence: int
    method: str
    status: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC
    rrule: str | None  # the RRULE value, FREQ first and the other parts by name (each parser orders them its way)
    exdates: tuple[datetime, ...]  # aware, UTC, ascending
    time_zone: str | None  # DTSTART's TZID (None when written in UTC)
    organizer_email: str
    organizer_name: str | None
    attendee_email: str
    attendee_name: str | None
    attendee_params: dict[str, str]  # ROLE, PARTSTAT, RSVP as written
    summary: str
    description: str | None
    location: str | None
    # A series' occurrences away from their rule's time: (RECURRENCE-ID, start, end), aware UTC, by RECURRENCE-ID.
    moved: tuple[tuple[datetime, datetime, datetime], ...] = ()


def invitation_of(message: EmailMessage, method: str) -> ReadInvitation:
    """The message's invitation, as iMIP carries it: a text/calendar alternative with the iTIP method, and the same
    object as an .ics attachment; read by two independent parsers (read_invitation)."""
    (calendar,) = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert calendar.get_param("method") == method
    (attachment,) = [part for part in message.iter_attachments()]
    assert attachment.get_filename() == ("cancel.ics" if method == "CANCEL" else "invite.ics")
    data = calendar.get_payload(decode=True)
    assert isinstance(data, bytes) and attachment.get_payload(decode=True) == data
    read = read_invitation(data)
    assert read.method == method
    return read


def read_invitation(data: bytes) -> ReadInvitation:
    """What an invitation says, read by icalendar and by ``ical``; AssertionError when they disagree anywhere."""
    _assert_framing(data)
    first = _read_with_icalendar(data)
    second = _read_with_ical(data)
    assert first == second, f"the two parsers disagree:\nicalendar: {first}\nical:      {second}"
    return first


def _assert_framing(data: bytes) -> None:
    assert data.endswith(b"\r\n"), "an iCalendar stream ends with CRLF"
    lines = data[:-2].split(b"\r\n")
    assert not any(b"\n" in line or b"\r" in line for line in lines), "every line ends with CRLF, none with a bare LF"
    too_long = [line for line in lines if len(line) > _MAX_LINE_OCTETS]
    assert not too_long, f"lines longer than {_MAX_LINE_OCTETS} octets are not folded: {too_long}"
    data.decode("utf-8")  # raises for anything but UTF-8


def _email(address: str) -> str:
    assert address.lower().startswith("mailto:"), f"a calendar address is a mailto URI, got {address!r}"
    return address[len("mailto:"):]


def _canonical_rule(value: str) -> str:
    parts = dict(part.split("=", 1) for part in value.split(";"))
    return ";".join([f"FREQ={parts.pop('FREQ')}", *(f"{name}={parts[name]}" for name in sorted(parts))])


def _utc(value: datetime) -> datetime:
    assert value.tzinfo is not None and value.utcoffset() is not None, f"a floating time: {value!r}"
    return value.astimezone(UTC)


def _read_with_icalendar(data: bytes) -> ReadInvitation:
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    masters = [event for event in calendar.walk("VEVENT") if "RECURRENCE-ID" not in event]
    assert len(masters) == 1, f"one VEVENT without RECURRENCE-ID per invitation, got {len(masters)}"
    event = masters[0]
    zones = {str(zone["TZID"]): zone for zone in calendar.walk("VTIMEZONE")}
    instances = [item for item in calendar.walk("VEVENT") if "RECURRENCE-ID" in item]
    assert not instances or "RRULE" in event, "a moved occurrence belongs to a series"
    for instance in instances:
        assert (str(instance["UID"]), str(instance["SEQUENCE"])) == (str(event["UID"]), str(event["SEQUENCE"]))
    moved = tuple(sorted((_agreeing_instant(item["RECURRENCE-ID"], zones), _agreeing_instant(item["DTSTART"], zones),
                          _agreeing_instant(item["DTEND"], zones)) for item in instances))
    assert len(zones) == len(calendar.walk("VTIMEZONE")), "one VTIMEZONE per TZID"
    time_zone = event["DTSTART"].params.get("TZID")
    used = {prop.params["TZID"] for prop in _time_properties(event) if "TZID" in prop.params}
    assert used <= set(zones), f"TZIDs without a VTIMEZONE: {used - set(zones)}"
    attendees = event.get("ATTENDEE")
    assert isinstance(attendees, icalendar.vCalAddress), f"one ATTENDEE, got {attendees!r}"
    organizer = event["ORGANIZER"]
    rrule = event.get("RRULE")
    exdates = tuple(sorted(_read_through_vtimezone(item.dt, prop.params.get("TZID"), zones)
                           for prop in _listed(event.get("EXDATE")) for item in prop.dts))
    return ReadInvitation(
        uid=str(event["UID"]),
        sequence=int(str(event["SEQUENCE"])),
        method=str(calendar["METHOD"]),
        status=str(event["STATUS"]),
        starts_at=_agreeing_instant(event["DTSTART"], zones),
        ends_at=_agreeing_instant(event["DTEND"], zones),
        rrule=None if rrule is None else _canonical_rule(rrule.to_ical().decode()),
        exdates=exdates,
        time_zone=time_zone,
        organizer_email=_email(str(organizer)),
        organizer_name=organizer.params.get("CN"),
        attendee_email=_email(str(attendees)),
        attendee_name=attendees.params.get("CN"),
        attendee_params={name: str(attendees.params[name]) for name in ("ROLE", "PARTSTAT", "RSVP")
                         if name in attendees.params},
        summary=str(event["SUMMARY"]),
        description=None if "DESCRIPTION" not in event else str(event["DESCRIPTION"]),
        location=None if "LOCATION" not in event else str(event["LOCATION"]),
        moved=moved,
    )


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _time_properties(event: Any) -> list[Any]:
    return [event["DTSTART"], event["DTEND"], *_listed(event.get("EXDATE"))]


def _agreeing_instant(prop: Any, zones: dict[str, Any]) -> datetime:
    """The instant icalendar reads for a DATE-TIME, after checking the VTIMEZONE alone reads the same."""
    instant = _utc(prop.dt)
    assert _read_through_vtimezone(prop.dt, prop.params.get("TZID"), zones) == instant, (
        f"{prop.to_ical()!r} reads differently through its VTIMEZONE than through its zone's name")
    return instant


def _read_through_vtimezone(value: datetime, tzid: str | None, zones: dict[str, Any]) -> datetime:
    """``value``'s wall time read through the VTIMEZONE ``tzid`` alone (a UTC value as it is)."""
    if tzid is None:
        return _utc(value)
    wall = value.replace(tzinfo=None)
    parts = sorted((part["DTSTART"].dt.replace(tzinfo=None) - part["TZOFFSETFROM"].td, part["TZOFFSETTO"].td)
                   for part in zones[tzid].subcomponents)
    readings = []
    for index, (onset, offset) in enumerate(parts):
        until = parts[index + 1][0] if index + 1 < len(parts) else datetime.max
        if onset <= wall - offset < until:
            readings.append(wall - offset)
    assert readings, f"{wall} {tzid} is outside the VTIMEZONE's range or in a gap it defines"
    return min(readings).replace(tzinfo=UTC)  # RFC 5545 3.3.5: a repeated local time means the first


def _read_with_ical(data: bytes) -> ReadInvitation:
    calendar = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    assert calendar.version == "2.0"
    masters = [item for item in calendar.events if item.recurrence_id is None]
    assert len(masters) == 1, f"one VEVENT without RECURRENCE-ID per invitation, got {len(masters)}"
    event = masters[0]
    moved = tuple(sorted((_recurrence_id(item.recurrence_id), _utc(item.dtstart), _utc(item.dtend))
                         for item in calendar.events if item.recurrence_id is not None
                         and isinstance(item.dtstart, datetime) and isinstance(item.dtend, datetime)))
    assert len(event.attendees) == 1, f"one ATTENDEE, got {event.attendees}"
    attendee, organizer = event.attendees[0], event.organizer
    assert organizer is not None and event.dtend is not None and event.status is not None
    assert isinstance(event.dtstart, datetime) and isinstance(event.dtend, datetime)
    tzinfo = event.dtstart.tzinfo
    time_zone = getattr(tzinfo, "key", None) if tzinfo is not UTC and tzinfo is not None else None
    attendee_params = {"ROLE": attendee.role, "PARTSTAT": attendee.status,
                       "RSVP": None if attendee.rsvp is None else str(attendee.rsvp).upper()}
    return ReadInvitation(
        uid=event.uid,
        sequence=int(event.sequence or 0),
        method=str(calendar.method),
        status=str(event.status.value),
        starts_at=_utc(event.dtstart),
        ends_at=_utc(event.dtend),
        rrule=None if event.rrule is None else _canonical_rule(event.rrule.as_rrule_str()),
        exdates=tuple(sorted(_utc(value) for value in event.exdate if isinstance(value, datetime))),
        time_zone=time_zone,
        organizer_email=_email(organizer.uri),
        organizer_name=organizer.common_name,
        attendee_email=_email(attendee.uri),
        attendee_name=attendee.common_name,
        attendee_params={name: value for name, value in attendee_params.items() if value is not None},
        summary=event.summary or "",
        description=event.description,
        location=event.location,
        moved=moved,
    )


def _recurrence_id(value: Any) -> datetime:
    """A RECURRENCE-ID as ``ical`` keeps it: the written date-time as text, its zone beside it."""
    written = RecurrenceId.to_value(str(value))
    assert isinstance(written, datetime), f"a date-time RECURRENCE-ID, got {value!r}"
    return _utc(written if written.tzinfo is not None else written.replace(tzinfo=value.tzinfo))

