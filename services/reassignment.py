"""Reassigning a booking to another staff member at the same time (the owner's, typically for the bookings of a staff
member who was deactivated: services.staff_management).

Terms:
- *what moves*: a single booking moves alone. An occurrence of a recurring series moves the whole series, every
  occurrence of it (cancelled and past ones too): Lockstep shows a series as ONE recurring event in one staff
  member's calendar (jobs.booking_events, anchored at its first occurrence) and as one invitation in the
  customer's, so a series has one staff member. To keep who did the past occurrences, cancel the rest of the series
  (THIS_AND_FOLLOWING) and book a new one with the other staff member instead.
- *free*: an occurrence that has not started must fit the new staff member's working hours and be free of their
  bookings and busy time, by the business's rules (as a booking made by staff: neither minimum notice nor
  horizon apply). One that has started (or is over) is only checked against their other confirmed bookings: the
  no-double-booking invariant holds for every instant, past ones included.

Everything happens in one transaction under the staff locks (every staff member concerned, in order), with the
availability re-read under them; the rows' versions grow, one outbox row per moved booking makes the next push take
the event out of the old staff member's calendars (their mappings stay with their calendars) and write it into the
new one's destination (services.sync_dispatch), and the customer is mailed the change. Live events follow the commit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from domain.availability import SlotRules, StaffAvailability, why_unbookable
from domain.intervals import Span
from models import Booking, BookingStatus, OutboxEntry, Staff
from services import live
from services.access import require_owner
from services.auth import Viewer
from services.availability import load_availability, slot_rules
from services.booking_mail import booking_reassigned
from services.booking_queries import get_booking, refuse_provider_owned
from services.booking_rules import qualified_staff
from services.bookings import outbox_row
from services.errors import InvalidInputError, SlotUnavailableError, StaffInactiveError
from services.locks import lock_staff
from services.transactions import committed

REASSIGNED = "booking.reassigned"


async def reassign_booking(viewer: Viewer, booking_id: int, staff_id: int, now: datetime) -> list[Booking]:
    """Give a confirmed booking (or its whole series) to another qualified staff member who is free at its times.
    Returns the bookings moved, the one named first. SlotUnavailableError lists every start that is not free for
    them; then nothing changes."""
    booking = await get_booking(viewer, booking_id, ["input", "bookingId"])
    await require_owner(viewer, booking.business_id)
    if booking.status != BookingStatus.CONFIRMED:
        raise InvalidInputError(["input", "bookingId"], "A cancelled booking cannot be reassigned")
    await refuse_provider_owned(booking)
    if staff_id == booking.staff_id:
        raise InvalidInputError(["input", "staffId"], "The booking is already with this staff member")
    (target,) = await qualified_staff(booking.service, [staff_id], ["input", "staffId"], indexed=False)
    together = Booking.filter(id=booking.id) if booking.series_id is None else Booking.filter(
        series_id=booking.series_id)
    previous = await Staff.get(id=booking.staff_id)
    try:
        async with committed() as db:
            involved = {target.id, *(int(str(member)) for member in await together.using_db(db).values_list(
                "staff_id", flat=True))}
            for member in sorted(involved):
                await lock_staff(member, db)
            rows = list(await together.using_db(db).order_by("occurrence_index", "id"))
            _still_reassignable(booking.id, rows, involved, target.id)
            if not await Staff.filter(id=target.id, active=True).using_db(db).exists():
                raise StaffInactiveError(["input", "staffId"])
            before = [row for row in rows if row.staff_id != target.id]
            await _refuse_taken(booking, before, target, now, db)
            for row in before:
                await Booking.filter(id=row.id).using_db(db).update(staff_id=target.id, version=F("version") + 1)
            moved = list(await Booking.filter(id__in=[row.id for row in before]).using_db(db).order_by(
                "occurrence_index", "id"))
            await OutboxEntry.bulk_create([outbox_row(REASSIGNED, row) for row in moved], using_db=db)
            await booking_reassigned(moved, previous.name, now, db)
            await live.publish_booking_rows("rescheduled", moved, earlier=before)
    except IntegrityError as exc:  # the exclusion constraint caught what the check under the locks should have
        raise SlotUnavailableError([booking.starts_at]) from exc
    return sorted(moved, key=lambda row: row.id != booking.id)


def _still_reassignable(booking_id: int, rows: list[Booking], locked: set[int], target_id: int) -> None:
    """The rows as read under the locks: the named booking still confirmed and not with the target, and every row
    with a staff member whose lock is held (one moved elsewhere meanwhile: SlotUnavailableError, try again)."""
    named = next((row for row in rows if row.id == booking_id), None)
    if named is None or named.status != BookingStatus.CONFIRMED:
        raise InvalidInputError(["input", "bookingId"], "A cancelled booking cannot be reassigned")
    if named.staff_id == target_id:
        raise InvalidInputError(["input", "staffId"], "The booking is already with this staff member")
    if any(row.staff_id not in locked for row in rows):
        raise SlotUnavailableError([named.starts_at])


async def _refuse_taken(named: Booking, rows: list[Booking], target: Staff, now: datetime,
                        db: BaseDBAsyncClient) -> None:
    """SlotUnavailableError with the start of every confirmed row that `target` cannot take (see the module's
    terms), read inside the caller's transaction."""
    confirmed = [row for row in rows if row.status == BookingStatus.CONFIRMED]
    if not confirmed:
        return
    moving = [row.id for row in rows]
    around = Span(min(row.buffered_start for row in confirmed), max(row.buffered_end for row in confirmed))
    (availability,) = await load_availability([target], around, ignore_booking_ids=moving, connection=db)
    taken: list[datetime] = []
    for row in confirmed:
        span = Span(row.buffered_start, row.buffered_end)
        if row.starts_at >= now:
            free = why_unbookable(availability, _rules_of(named, row), row.starts_at, now,
                                  customer_rules=False) is None
        else:
            free = not await Booking.filter(
                staff_id=target.id, status=BookingStatus.CONFIRMED, buffered_start__lt=span.end,
                buffered_end__gt=span.start).exclude(id__in=moving).using_db(db).exists()
        if not free:
            taken.append(row.starts_at)
        # The rows taken so far are the new staff member's too, for the rows after them.
        availability = _with_busy(availability, span)
    if taken:
        raise SlotUnavailableError(taken)


def _rules_of(named: Booking, row: Booking) -> SlotRules:
    """The slot rules of `row` as it was booked: its own length and buffers (the service may have changed since)."""
    return replace(slot_rules(named.service), duration=row.ends_at - row.starts_at,
                   buffer_before=row.starts_at - row.buffered_start, buffer_after=row.buffered_end - row.ends_at)


def _with_busy(availability: StaffAvailability, span: Span) -> StaffAvailability:
    return replace(availability, busy=(*availability.busy, span))
