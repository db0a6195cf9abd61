"""Invitations: a booking as the customer's own calendar should hold it, sent as an iTIP message (RFC 5546).

An *invitation* is one booking, or one recurring series, written as one VEVENT inside a VCALENDAR whose METHOD says
what the message asks of the customer's calendar: REQUEST (add this event, or replace the copy you hold) when a
booking is confirmed or rescheduled, CANCEL (remove it) when it is cancelled. The calendar that receives it finds its
copy by the event's *UID*, which never changes for a booking or series, and keeps the revision with the highest
*SEQUENCE*: the booking's version, which grows with every change, so a reschedule replaces the old time and a late
duplicate of an older mail changes nothing.

Times are written in the staff member's zone (DTSTART;TZID=...) with a VTIMEZONE that spells out that zone's real
UTC offsets over the years the event touches, each change at the local time it happened (RFC 5545 3.6.5), so a
reader that ignores the zone's name and follows the VTIMEZONE alone still finds the same instants. A single time
whose local reading happens twice (the hour repeated when clocks fall back) and that is the SECOND of the two is
written in UTC: a local time with a TZID means the first (RFC 5545 3.3.5). A series keeps local time for its first
start, which its RRULE repeats, the way ``domain.recurrence`` expands it. An occurrence of a series that was moved away
from its rule's time is a second VEVENT of the same UID whose RECURRENCE-ID is its planned start (RFC 5545 3.8.4.4):
the calendar replaces just that instance of the series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar

from domain.ical_timezones import vtimezone
from domain.recurrence import bounded_rule, occurrence_starts
from domain.text import printable
from domain.zones import load_zone, local_wall, to_utc

PRODID = "-//Lockstep//Invitations//EN"
METHODS = ("REQUEST", "CANCEL")
UID_KINDS = ("booking", "series")


@dataclass(frozen=True)
class Party:
    """Someone named in an invitation: the business as organizer, the customer as attendee."""

    name: str
    email: str


@dataclass(frozen=True)
class MovedOccurrence:
    """One occurrence of a series that takes place away from its rule's time: planned at ``planned_start`` (its
    RECURRENCE-ID, one of the series' planned starts), now from ``starts_at`` to ``ends_at``. It may also be one
    whose text differs from the series' (in a calendar feed, an occurrence with another staff member): ``summary``
    and ``description``, when given, replace the series' own in its instance."""

    planned_start: datetime
    starts_at: datetime
    ends_at: datetime
    summary: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Invitation:
    """One booking (or recurring series) as the customer's calendar should hold it.

    For a series, ``starts_at`` and ``ends_at`` are its first planned occurrence, which ``rrule`` repeats; cancelled
    occurrences are ``exdates`` (each one of the planned starts ``domain.recurrence.occurrence_starts`` gives)."""

    uid: str                 # stable per booking or series: invitation_uid(...)
    sequence: int            # grows with each change of the booking (the caller passes the booking's version)
    method: str              # "REQUEST" (confirm, reschedule) or "CANCEL"
    summary: str             # the service's name (and the business's)
    description: str         # service, staff member, the business's contact details
    location: str            # the business's address ("" when none)
    starts_at: datetime      # aware
    ends_at: datetime
    time_zone: str           # the staff member's IANA zone: DTSTART/DTEND written in it, with its VTIMEZONE
    organizer: Party | None  # the business (None in a calendar feed, which is no scheduling message)
    attendee: Party | None   # the customer (None in a calendar feed)
    stamp: datetime          # DTSTAMP (aware)
    rrule: str | None = None            # a recurring series: its RRULE (as stored for bookings, domain/recurrence.py)
    exdates: tuple[datetime, ...] = ()  # planned starts of cancelled occurrences of a series
    moved: tuple[MovedOccurrence, ...] = ()  # occurrences of a series away from their planned start


def invitation_uid(kind: str, target_id: int, host: str) -> str:
    """The UID of the invitations for one booking ("booking") or one series ("series"), e.g.
    "invitation-booking-42@book.example.com". The same arguments give the same UID for every mail about it; the
    "invitation-" prefix keeps it apart from the UID of the event Lockstep writes into the staff member's own
    calendar (``domain.sync.event_marker``), so neither calendar mistakes one for the other."""
    if kind not in UID_KINDS:
        raise ValueError(f"kind must be one of {UID_KINDS}, got {kind!r}")
    if isinstance(target_id, bool) or not isinstance(target_id, int) or target_id < 0:
        raise ValueError(f"target_id must be a whole number, got {target_id!r}")
    name = host.strip().lower().rstrip(".")
    if not name or any(c.isspace() or c in "@/:" for c in name) or _forbidden(name):
        raise ValueError(f"host must be a bare host name such as 'book.example.com', got {host!r}")
    return f"invitation-{kind}-{target_id}@{name}"


def invitation_filename(invitation: Invitation) -> str:
    """The attachment's file name: "invite.ics" for a REQUEST, "cancel.ics" for a CANCEL."""
    _check_method(invitation.method)
    return "cancel.ics" if invitation.method == "CANCEL" else "invite.ics"


def invitation_events(invitation: Invitation) -> list[icalendar.Event]:
    """The VEVENTs of ``invitation``: the booking (or the series, with its RRULE and EXDATEs), then one instance per
    moved occurrence of a series, each with its RECURRENCE-ID. Their times carry the TZID of ``invitation.time_zone``,
    whose VTIMEZONE (domain.ical_timezones.vtimezone) over ``invitation_years`` the enclosing calendar must hold.

    Raises ValueError for a method other than REQUEST or CANCEL, a negative sequence, a naive time, an end not after
    the start, an e-mail address that is not one, or an EXDATE or moved occurrence that is not a planned start of the
    series (each moved one distinct and not cancelled);
    UnknownTimeZone for a bad zone and RecurrenceError for a rule a booking cannot have."""
    _check(invitation)
    zone = load_zone(invitation.time_zone)
    planned = _planned_starts(invitation)
    recurring = invitation.rrule is not None
    event = _event(invitation, invitation.starts_at.astimezone(zone) if recurring else
                   _written(invitation.starts_at, zone), _written(invitation.ends_at, zone))
    if invitation.rrule is not None:
        event.add("RRULE", icalendar.vRecur.from_ical(bounded_rule(invitation.rrule, planned)))
        if invitation.exdates:
            # In local time like the rule's own occurrences, which the reader matches them against.
            event.add("EXDATE", [instant.astimezone(zone) for instant in sorted(invitation.exdates)])
    events = [event]
    for moved in sorted(invitation.moved, key=lambda item: item.planned_start):
        instance = _event(invitation, _written(moved.starts_at, zone), _written(moved.ends_at, zone),
                          summary=moved.summary, description=moved.description)
        instance.add("RECURRENCE-ID", moved.planned_start.astimezone(zone))
        events.append(instance)
    return events


def invitation_years(invitation: Invitation) -> tuple[int, int]:
    """The local calendar years (in the invitation's zone) from its first start to its last end: what its VTIMEZONE
    must cover. Raises as ``invitation_events`` does."""
    _check(invitation)
    zone = load_zone(invitation.time_zone)
    planned = _planned_starts(invitation)
    last_end = max([planned[-1] + (invitation.ends_at - invitation.starts_at),
                    *(moved.ends_at for moved in invitation.moved)])
    first_start = min([planned[0], *(moved.starts_at for moved in invitation.moved)])
    return local_wall(first_start, zone).year, local_wall(last_end, zone).year


def invitation_ics(invitation: Invitation) -> bytes:
    """The iTIP message for ``invitation``: UTF-8 iCalendar text, CRLF line ends, long lines folded. Raises as
    ``invitation_events`` does, and ValueError for an invitation without its organizer and attendee."""
    if invitation.organizer is None or invitation.attendee is None:
        raise ValueError("an iTIP message names its organizer and its attendee")
    events = invitation_events(invitation)
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("METHOD", invitation.method)
    calendar.add_component(vtimezone(invitation.time_zone, *invitation_years(invitation)))
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()


def _event(invitation: Invitation, starts_at: datetime, ends_at: datetime, *, summary: str | None = None,
           description: str | None = None) -> icalendar.Event:
    """A VEVENT of the invitation from ``starts_at`` to ``ends_at`` (as written), with what every one shares; an
    instance of a series may say its own ``summary`` and ``description``."""
    event = icalendar.Event()
    event.add("UID", invitation.uid)
    event.add("SEQUENCE", invitation.sequence)
    event.add("DTSTAMP", invitation.stamp.astimezone(UTC))
    event.add("DTSTART", starts_at)
    event.add("DTEND", ends_at)
    event.add("SUMMARY", _text(invitation.summary if summary is None else summary))
    described = invitation.description if description is None else description
    if described:
        event.add("DESCRIPTION", _text(described))
    if invitation.location:
        event.add("LOCATION", _text(invitation.location))
    if invitation.organizer is not None:
        event.add("ORGANIZER", _address(invitation.organizer))
    if invitation.attendee is not None:
        attendee = _address(invitation.attendee)
        # The booking is already confirmed: the customer's calendar shows it as theirs and is asked for no reply.
        attendee.params.update({"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "FALSE"})
        event.add("ATTENDEE", attendee)
    event.add("STATUS", "CANCELLED" if invitation.method == "CANCEL" else "CONFIRMED")
    event.add("TRANSP", "OPAQUE")
    return event


def _forbidden(text: str) -> bool:
    """Whether ``text`` holds a character no iCalendar value may (a control character other than tab and newline)."""
    return printable(text) != text


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _check(invitation: Invitation) -> None:
    _check_method(invitation.method)
    if isinstance(invitation.sequence, bool) or not isinstance(invitation.sequence, int) or invitation.sequence < 0:
        raise ValueError(f"sequence must be a whole number of at least 0, got {invitation.sequence!r}")
    moved_times = [(f"moved.{name}", value) for item in invitation.moved
                   for name, value in (("planned_start", item.planned_start), ("starts_at", item.starts_at),
                                       ("ends_at", item.ends_at))]
    for label, instant in (("starts_at", invitation.starts_at), ("ends_at", invitation.ends_at),
                           ("stamp", invitation.stamp), *(("exdates", e) for e in invitation.exdates),
                           *moved_times):
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"{label} must be an aware datetime, got {instant!r}")
    if invitation.ends_at <= invitation.starts_at:
        raise ValueError("ends_at must be after starts_at")
    if not invitation.uid or _forbidden(invitation.uid) or any(c.isspace() for c in invitation.uid):
        raise ValueError(f"uid must be one word without control characters, got {invitation.uid!r}")
    for party in (invitation.organizer, invitation.attendee):
        if party is None:
            continue
        local, at, domain = party.email.rpartition("@")
        if not at or not local or not domain or _forbidden(party.email) or any(c.isspace() for c in party.email):
            raise ValueError(f"not an e-mail address: {party.email!r}")
    if (invitation.exdates or invitation.moved) and invitation.rrule is None:
        raise ValueError("exdates and moved occurrences belong to a series: give its rrule")
    if any(item.ends_at <= item.starts_at for item in invitation.moved):
        raise ValueError("a moved occurrence must end after it starts")


def _planned_starts(invitation: Invitation) -> list[datetime]:
    """The series' planned starts (just the start for a single booking); every EXDATE must be one of them."""
    if invitation.rrule is None:
        return [invitation.starts_at.astimezone(UTC)]
    planned = occurrence_starts(invitation.rrule, invitation.starts_at, invitation.time_zone)
    unknown = set(e.astimezone(UTC) for e in invitation.exdates) - set(planned)
    if unknown:
        raise ValueError(f"exdates that are not planned starts of the series: {sorted(unknown)}")
    moved = [item.planned_start.astimezone(UTC) for item in invitation.moved]
    cancelled = set(e.astimezone(UTC) for e in invitation.exdates)
    if set(moved) - set(planned) or set(moved) & cancelled or len(set(moved)) != len(moved):
        raise ValueError("each moved occurrence must be a distinct planned start of the series that is not cancelled")
    return planned


def _written(instant: datetime, zone: ZoneInfo) -> datetime:
    """``instant`` in local time, or in UTC when its local time with a TZID would read as another instant."""
    local = instant.astimezone(zone)
    return local if to_utc(local_wall(instant, zone), zone) == instant else instant.astimezone(UTC)


def _text(value: str) -> str:
    """A TEXT value: line ends made newlines (icalendar writes them as \\n), other control characters U+FFFD."""
    return printable(value.replace("\r\n", "\n").replace("\r", "\n"))


def _address(party: Party) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{party.email}")
    if party.name:
        address.params["CN"] = printable(" ".join(party.name.split()))
    return address
