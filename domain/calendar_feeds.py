"""Calendar feeds: bookings written as one iCalendar object that a calendar app subscribes to, read-only (and the
export of a range, written the same way).

Terms:
- *feed*: a VCALENDAR without METHOD (RFC 5545; it is published, not a scheduling message) holding one *entry* per
  booking or recurring series, with one VTIMEZONE per zone its entries use. A calendar that subscribes replaces its
  copy with what the feed holds at each refresh.
- *entry*: a booking, or a series, as an ``Invitation`` without organizer or attendee (domain.invitations writes it):
  the same UID as the customer's invitation mail (``invitation_uid``), the SEQUENCE that mail carries (the booking's
  version; for a series its occurrences' versions summed), DTSTAMP the last change (RFC 5545 3.8.7.2: without
  METHOD, DTSTAMP is when the entry was last revised), so the same bookings always give the same bytes.
- *shown*: an occurrence the feed holds (confirmed, and in its scope: one staff member's, one business's, one
  customer's; for an export also inside the range). A single booking that is not shown (a cancelled one, for one)
  is left out: the calendar drops it at its next refresh. A series is an entry when one of its occurrences is
  shown; each planned start without a shown occurrence is an EXDATE, and each shown occurrence away from its
  planned start, or whose text differs from the series', is an instance of its own (RECURRENCE-ID), as invitations
  write a series.
- *view*: whose calendar the feed is, which decides the text of an entry (``entry_text``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import icalendar

from domain.ical_timezones import vtimezone
from domain.invitations import Invitation, MovedOccurrence, invitation_events, invitation_uid, invitation_years
from domain.recurrence import occurrence_starts

PRODID = "-//Lockstep//Calendar feed//EN"
# How often a subscribing calendar is asked to fetch the feed again (RFC 7986 REFRESH-INTERVAL; X-PUBLISHED-TTL is
# the older name some calendars read).
REFRESH = timedelta(hours=1)


class FeedView(StrEnum):
    """Whose calendar a feed is: one staff member's, a whole business's (the owner's), or one customer's."""

    STAFF = "staff"
    BUSINESS = "business"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class BookingText:
    """What an entry says: its SUMMARY, DESCRIPTION and LOCATION."""

    summary: str
    description: str
    location: str


@dataclass(frozen=True)
class FeedBooking:
    """One booking as a feed reads it: its times (aware), the staff member's zone, its version and last change, the
    text its reader may see, whether it is shown, and for an occurrence its series and place in it."""

    id: int
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    version: int
    changed_at: datetime
    text: BookingText
    shown: bool
    series_id: int | None = None
    occurrence_index: int | None = None


@dataclass(frozen=True)
class FeedSeries:
    """A recurring series: its rule, the zone it repeats in, and its first planned start."""

    id: int
    rrule: str
    time_zone: str
    starts_at: datetime


def entry_text(view: FeedView, *, service: str, customer: str, staff: str, business: str, address: str,
               business_phone: str) -> BookingText:
    """The text of a booking in a feed of ``view``. Staff see the customer's name as their schedule shows it
    ("Boiler check – Cleo Customer"), the business feed adds the staff member, and the customer sees what their
    invitation says ("Boiler check at Fix-It", with whom and how to reach the business). No feed holds contact
    details of the customer or any notes: a feed's address travels to calendar services."""
    if view == FeedView.CUSTOMER:
        contact = f"\nPhone: {business_phone}" if business_phone else ""
        return BookingText(f"{service} at {business}" if business else service,
                           f"{service} with {staff}\n{business}{contact}", address)
    if view == FeedView.BUSINESS:
        return BookingText(f"{service} – {customer} ({staff})", f"Customer: {customer}\nStaff: {staff}\n{business}",
                           address)
    return BookingText(f"{service} – {customer}", f"Customer: {customer}\n{business}", address)


def _single(booking: FeedBooking, host: str) -> Invitation:
    return Invitation(uid=invitation_uid("booking", booking.id, host), sequence=booking.version, method="REQUEST",
                      summary=booking.text.summary, description=booking.text.description,
                      location=booking.text.location, starts_at=booking.starts_at, ends_at=booking.ends_at,
                      time_zone=booking.time_zone, organizer=None, attendee=None, stamp=booking.changed_at)


def _series(series: FeedSeries, rows: Sequence[FeedBooking], host: str) -> Invitation | None:
    """The series' entry from all of its occurrences, or None when none of them is shown."""
    shown = sorted((row for row in rows if row.shown), key=lambda row: row.occurrence_index or 0)
    if not shown:
        return None
    planned = occurrence_starts(series.rrule, series.starts_at, series.time_zone)

    def planned_start(row: FeedBooking) -> datetime:
        index = row.occurrence_index or 0
        return planned[index] if index < len(planned) else row.starts_at

    # The series says what its first shown occurrence says, and lasts as long.
    first = shown[0]
    length = first.ends_at - first.starts_at
    held = {planned_start(row) for row in shown}
    moved = tuple(MovedOccurrence(planned_start(row), row.starts_at, row.ends_at,
                                  summary=None if row.text.summary == first.text.summary else row.text.summary,
                                  description=(None if row.text.description == first.text.description
                                               else row.text.description))
                  for row in shown
                  if (row.starts_at, row.ends_at) != (planned_start(row), planned_start(row) + length)
                  or row.text != first.text)
    return Invitation(uid=invitation_uid("series", series.id, host), sequence=sum(row.version for row in rows),
                      method="REQUEST", summary=first.text.summary, description=first.text.description,
                      location=first.text.location, starts_at=planned[0], ends_at=planned[0] + length,
                      time_zone=series.time_zone, organizer=None, attendee=None,
                      stamp=max(row.changed_at for row in rows), rrule=series.rrule,
                      exdates=tuple(start for start in planned if start not in held), moved=moved)


def feed_entries(bookings: Sequence[FeedBooking], series: Mapping[int, FeedSeries], host: str) -> list[Invitation]:
    """The entries of a feed: one per shown single booking, one per series with a shown occurrence (``bookings``
    holds every occurrence of each series in ``series``), soonest first. ``host`` is the host of the invitation
    UIDs (the public URL's). KeyError for an occurrence whose series is not given."""
    entries = [_single(booking, host) for booking in bookings if booking.series_id is None and booking.shown]
    by_series: dict[int, list[FeedBooking]] = {}
    for booking in bookings:
        if booking.series_id is not None:
            by_series.setdefault(booking.series_id, []).append(booking)
    for series_id, rows in sorted(by_series.items()):
        entry = _series(series[series_id], rows, host)
        if entry is not None:
            entries.append(entry)
    return sorted(entries, key=lambda entry: (entry.starts_at, entry.uid))


def feed_ics(name: str, entries: Sequence[Invitation]) -> bytes:
    """The feed called ``name`` holding ``entries``: UTF-8 iCalendar text, CRLF line ends, long lines folded. Each
    zone's VTIMEZONE covers the local years of every entry in it. Raises as domain.invitations does for an entry
    that cannot be written."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("NAME", name)
    calendar.add("X-WR-CALNAME", name)
    calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", "PT1H")
    years: dict[str, tuple[int, int]] = {}
    events: list[icalendar.Event] = []
    for entry in entries:
        first, last = invitation_years(entry)
        known = years.get(entry.time_zone, (first, last))
        years[entry.time_zone] = (min(first, known[0]), max(last, known[1]))
        events.extend(invitation_events(entry))
    for zone_name, (first, last) in sorted(years.items()):
        calendar.add_component(vtimezone(zone_name, first, last))
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()


def feed_etag(body: bytes) -> str:
    """A strong entity tag of a feed's bytes (RFC 9110 8.8.3): the same bytes, the same tag."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def none_match(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header value names ``etag`` (RFC 9110 13.1.2: weak comparison, ``*`` for any
    current representation), so the answer is 304 Not Modified."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    if "*" in tags:
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == opaque for tag in tags if tag)
