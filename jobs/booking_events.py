"""What a booking (or a recurring series) looks like as a calendar event, and what Lockstep records of that write.

Terms:
- *anchor*: the booking a mapping hangs on: the booking itself, or a series' first occurrence (a series is ONE
  recurring event).
- *written occurrences*: planned start -> (booking id, span) for every occurrence the event shows. The planned start
  is the occurrence's RECURRENCE-ID (for a single booking: its start as written), so a later pull can compare the
  calendar's copy with it and tell a hand edit from Lockstep's own write.
- *push version*: what plan_push compares with the version last written: the booking's version, or for a series
  the sum of its occurrences' versions (versions only grow, so any change to any occurrence raises the sum).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from domain.recurrence import bounded_rule, occurrence_starts
from domain.sync import BookingSnapshot, event_marker, series_marker
from domain.titles import booking_event_title
from models import Booking, BookingSeries, BookingStatus, Service, Staff
from providers.base import MovedOccurrence, OutgoingEvent
from services.sync_edits import WrittenOccurrences


@dataclass(frozen=True)
class BookingEvent:
    staff_id: int
    snapshot: BookingSnapshot
    event: OutgoingEvent | None  # None when nothing is left to show (every occurrence cancelled)
    written: WrittenOccurrences


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def _description(service: Service, booking: Booking) -> str:
    minutes = int((booking.ends_at - booking.starts_at).total_seconds() // 60)
    lines = [f"Service: {service.name} ({minutes} min)",
             f"Customer: {'Walk-in' if booking.walk_in else booking.customer_name}"]
    contact = ", ".join(part for part in (booking.customer_email, booking.customer_phone) if part)
    if contact:
        lines.append(f"Contact: {contact}")
    if booking.customer_notes:
        lines.append(f"Customer notes: {booking.customer_notes}")
    if booking.merchant_notes:
        lines.append(f"Merchant notes: {booking.merchant_notes}")
    lines.append("Booked with Lockstep: change it there, or move it here and Lockstep follows if the time is free.")
    return "\n".join(lines)


def _summary(service: Service, booking: Booking) -> str:
    return booking_event_title(service.name, booking.customer_name, booking.walk_in)


async def booking_event(anchor_id: int) -> BookingEvent:
    """The event to write now for the mapping anchored at `anchor_id` (always from the current rows)."""
    anchor = await Booking.get(id=anchor_id)
    service = await Service.get(id=anchor.service_id)
    staff = await Staff.get(id=anchor.staff_id)
    if anchor.series_id is None:
        snapshot = BookingSnapshot(anchor.id, anchor.version, anchor.status == BookingStatus.CONFIRMED)
        if not snapshot.confirmed:
            return BookingEvent(anchor.staff_id, snapshot, None, {})
        event = OutgoingEvent(marker=event_marker(anchor.id), summary=_summary(service, anchor),
                              description=_description(service, anchor), starts_at=anchor.starts_at,
                              ends_at=anchor.ends_at, time_zone=staff.time_zone, colour=service.colour)
        written = {_iso(anchor.starts_at): [anchor.id, _iso(anchor.starts_at), _iso(anchor.ends_at)]}
        return BookingEvent(anchor.staff_id, snapshot, event, written)
    return await _series_event(anchor, service, staff)


async def _series_event(anchor: Booking, service: Service, staff: Staff) -> BookingEvent:
    series = await BookingSeries.get(id=anchor.series_id)
    occurrences = await Booking.filter(series_id=series.id).order_by("occurrence_index")
    confirmed = [b for b in occurrences if b.status == BookingStatus.CONFIRMED]
    snapshot = BookingSnapshot(anchor.id, sum(b.version for b in occurrences), bool(confirmed))
    if not confirmed:
        return BookingEvent(anchor.staff_id, snapshot, None, {})
    first = series.starts_at or occurrences[0].starts_at
    planned = occurrence_starts(series.rrule, first.astimezone(UTC), series.time_zone)
    length = occurrences[0].ends_at - occurrences[0].starts_at
    exdates, moved, written = [], [], {}
    for booking in occurrences:
        planned_start = planned[booking.occurrence_index or 0]
        if booking.status != BookingStatus.CONFIRMED:
            exdates.append(planned_start)
            continue
        if booking.starts_at != planned_start or booking.ends_at - booking.starts_at != length:
            moved.append(MovedOccurrence(planned_start, booking.starts_at, booking.ends_at))
        written[_iso(planned_start)] = [booking.id, _iso(booking.starts_at), _iso(booking.ends_at)]
    lead = confirmed[0]
    event = OutgoingEvent(marker=series_marker(series.id), summary=_summary(service, lead),
                          description=_description(service, lead), starts_at=planned[0],
                          ends_at=planned[0] + length, time_zone=series.time_zone,
                          rrule=bounded_rule(series.rrule, planned),
                          exdates=tuple(exdates), moved=tuple(moved), colour=service.colour)
    return BookingEvent(anchor.staff_id, snapshot, event, written)
