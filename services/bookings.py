"""Booking, rescheduling and cancelling: the paths that must never double-book.

Every change runs in one transaction that first writes the staff member's `booking_lock` row (serialising all booking
changes of that person: a row lock on PostgreSQL, the database write lock on SQLite), then re-checks availability
from the database, then writes the booking rows, one outbox row per changed booking and the mail the change owes its
customer (services.booking_mail). On PostgreSQL an exclusion constraint backs this up. Nothing here talks to a
calendar provider or a mail server. Once a change has committed it is announced to live subscribers (services.live),
best effort: a booking never waits for, or fails because of, Redis. A new booking that names no staff member goes
to the one its service's assignment policy picks, chosen under the candidates' locks (services.assignment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from domain.availability import why_unbookable
from domain.intervals import Span
from models import (
    Booking,
    BookingSeries,
    BookingStatus,
    OutboxEntry,
    Service,
)
from services import live, validation
from services.access import is_member
from services.assignment import assign_staff
from services.auth import Viewer
from services.availability import load_availability, slot_rules
from services.booking_mail import booking_made, booking_moved, bookings_cancelled
from services.booking_party import BookingRequest, booking_party
from services.booking_queries import get_booking, refuse_provider_owned
from services.booking_rules import occurrences, qualified_staff, refuse_inactive
from services.customer_notices import CANCELLED, MOVED, tell_customers
from services.errors import (
    InvalidInputError,
    NotAuthorizedError,
    NotFoundError,
    ServiceArchivedError,
    SlotUnavailableError,
    StaffInactiveError,
)
from services.locks import lock_staff
from services.transactions import savepoint


def outbox_row(topic: str, booking: Booking) -> OutboxEntry:
    """The outbox row a change of `booking` owes (written in the change's transaction; services.sync_dispatch)."""
    return OutboxEntry(topic=topic, aggregate_id=booking.id,
                       payload={"booking_id": booking.id, "version": booking.version,
                                "series_id": booking.series_id})


async def create_booking(viewer: Viewer, request: BookingRequest, now: datetime) -> list[Booking]:
    """Book one time, or every occurrence of a recurring rule all or nothing. Returns the rows, first one first.
    Every invalid field of the request is reported at once."""
    service = await Service.get_or_none(id=request.service_id)
    if service is None:
        raise NotFoundError("Service", ["input", "serviceId"])
    if service.archived_at is not None:
        raise ServiceArchivedError(["input", "serviceId"])
    checks = validation.FieldChecks()
    start = checks.check(validation.instant, request.starts_at, ["input", "startsAt"])
    customer_rules, party = await booking_party(viewer, service, request, checks)
    notes = {
        "customer_notes": checks.check(validation.text, request.customer_notes, ["input", "customerNotes"],
                                       max_length=2000, required=False),
        "merchant_notes": checks.check(validation.text, request.merchant_notes, ["input", "merchantNotes"],
                                       max_length=2000, required=False),
    }
    candidates = await qualified_staff(service, None if request.staff_id is None else [request.staff_id],
                                       ["input", "staffId"], indexed=False)
    if start is not None and candidates:
        # The rule is read in each candidate's zone below; it is checked here with the first one's.
        checks.check(occurrences, request.recurrence, start.astimezone(UTC), candidates[0].time_zone)
    checks.done()
    first = start.astimezone(UTC)
    if not candidates:
        raise SlotUnavailableError([first])
    # Every candidate's starts, before the transaction: a bad rule is refused without taking a lock.
    starts_of = {staff.id: occurrences(request.recurrence, first, staff.time_zone) for staff in candidates}
    rules = slot_rules(service)
    try:
        async with in_transaction() as connection:
            assigned = await assign_staff(service, candidates, starts_of, now, customer_rules, connection,
                                           named=request.staff_id is not None)
            staff, starts = assigned.staff, assigned.starts
            series = None
            if request.recurrence is not None:
                series = await BookingSeries.create(business_id=service.business_id, rrule=request.recurrence,
                                                    time_zone=staff.time_zone, starts_at=starts[0],
                                                    using_db=connection)
            rows = []
            for index, start in enumerate(starts):
                booking = await Booking.create(
                    using_db=connection, business_id=service.business_id, staff_id=staff.id, service_id=service.id,
                    starts_at=start, ends_at=start + rules.duration,
                    buffered_start=start - rules.buffer_before,
                    buffered_end=start + rules.duration + rules.buffer_after,
                    series=series, occurrence_index=index if series else None, created_by_id=viewer.user_id,
                    **party, **notes)
                rows.append(booking)
            await OutboxEntry.bulk_create([outbox_row("booking.created", row) for row in rows], using_db=connection)
            await booking_made(rows, now, connection)
    except IntegrityError as exc:  # the exclusion constraint caught a race the staff locks should have prevented
        raise SlotUnavailableError([first]) from exc
    await live.publish_booking_rows("created", rows)
    return rows


def _customer_may_still_change(booking: Booking, now: datetime) -> None:
    """A customer changes a booking only before it starts; after that it is the business's record."""
    if booking.starts_at <= now:
        raise NotAuthorizedError("This booking has already started; contact the business to change it")


async def reschedule_booking(
    viewer: Viewer, booking_id: int, starts_at: datetime, staff_id: int | None, now: datetime
) -> Booking:
    start = validation.instant(starts_at, ["input", "startsAt"]).astimezone(UTC)
    booking = await get_booking(viewer, booking_id, ["input", "id"])
    if booking.status != BookingStatus.CONFIRMED:
        raise InvalidInputError(["input", "id"], "A cancelled booking cannot be rescheduled")
    await refuse_provider_owned(booking)
    customer_rules = not await is_member(viewer, booking.business_id)
    if customer_rules:
        _customer_may_still_change(booking, now)
    if customer_rules and staff_id is not None and staff_id != booking.staff_id:
        raise NotAuthorizedError("Customers cannot move a booking to other staff")
    target_id = booking.staff_id if staff_id is None else staff_id
    return await _move(booking, target_id, start, now, customer_rules=customer_rules)


async def _move(booking: Booking, staff_id: int, start: datetime, now: datetime, *, customer_rules: bool,
                db: BaseDBAsyncClient | None = None) -> Booking:
    """Move a confirmed booking to `start` (keeping its length and buffers) if that time is free, else raise
    SlotUnavailableError. Bumps the version and writes the outbox row in the same transaction (a savepoint in the
    caller's `db` when given: a refusal undoes this move alone)."""
    (staff,) = await qualified_staff(booking.service, [staff_id], ["input", "staffId"], indexed=False)
    before = booking.starts_at - booking.buffered_start
    after = booking.buffered_end - booking.ends_at
    length = booking.ends_at - booking.starts_at
    rules = replace(slot_rules(booking.service), duration=length, buffer_before=before, buffer_after=after)
    try:
        async with savepoint(db) as connection:
            # Both schedules change when a booking moves to someone else: the one it leaves gets a new version too
            # (cached slot answers would otherwise keep its freed time taken). Locked in order, like every lock.
            for staff_to_lock in sorted({booking.staff_id, staff.id}):
                await lock_staff(staff_to_lock, connection)
            await refuse_inactive(staff.id, ["input", "staffId"], connection)  # deactivated meanwhile
            around = Span(start - before, start + length + after)
            (availability,) = await load_availability([staff], around, ignore_booking_ids=[booking.id],
                                                      connection=connection)
            if why_unbookable(availability, rules, start, now, customer_rules=customer_rules) is not None:
                raise SlotUnavailableError([start])
            changed = await Booking.filter(id=booking.id, version=booking.version,
                                           status=BookingStatus.CONFIRMED).using_db(connection).update(
                staff_id=staff.id, starts_at=start, ends_at=start + length, buffered_start=start - before,
                buffered_end=start + length + after, version=F("version") + 1)
            if changed != 1:
                raise SlotUnavailableError([start])  # changed by someone else meanwhile; the caller retries
            moved = await Booking.get(id=booking.id, using_db=connection)
            await outbox_row("booking.rescheduled", moved).save(using_db=connection)
            await booking_moved(booking, moved, now, connection)
            told = [] if customer_rules else await tell_customers(MOVED, [moved], connection)
    except IntegrityError as exc:
        raise SlotUnavailableError([start]) from exc
    await live.publish_booking_rows("rescheduled", [moved], earlier=[booking])
    await live.publish_notifications_added(told)
    return moved


async def move_booking_for_calendar(booking_id: int, start: datetime, now: datetime, *,
                                    db: BaseDBAsyncClient | None = None) -> Booking:
    """The staff member moved the booking's event in their own calendar: follow it if the time is free (by the
    business's rules, not a customer's: minimum notice and horizon don't apply), else SlotUnavailableError.
    With `db`, inside the caller's transaction (services.transactions.committed)."""
    booking = await Booking.get(id=booking_id, using_db=db).prefetch_related("service")
    if booking.status != BookingStatus.CONFIRMED:
        raise SlotUnavailableError([start])
    try:
        return await _move(booking, booking.staff_id, start.astimezone(UTC), now, customer_rules=False, db=db)
    except StaffInactiveError as exc:  # a deactivated staff member is given no new time, from anywhere
        raise SlotUnavailableError([start]) from exc


async def cancel_bookings_for_calendar(booking_ids: Sequence[int], now: datetime, *,
                                       db: BaseDBAsyncClient | None = None) -> list[Booking]:
    """Cancel bookings because the calendar side won a conflict (the event was deleted there). With `db`, inside
    the caller's transaction (services.transactions.committed)."""
    return await cancel_confirmed(Booking.filter(id__in=list(booking_ids)), now, db=db)


async def cancel_confirmed(query: QuerySet[Booking], now: datetime, *, customer_rules: bool = False,
                  db: BaseDBAsyncClient | None = None, reason: str = "") -> list[Booking]:
    """Cancel the confirmed bookings of `query`, bump their versions and write their outbox rows. Under customer
    rules every one of them must still be ahead (checked inside the transaction, so nothing is cancelled otherwise)."""
    async with savepoint(db) as connection:
        targets = await query.filter(status=BookingStatus.CONFIRMED).using_db(connection)
        if customer_rules:
            for target in targets:
                _customer_may_still_change(target, now)
        # Freed time is a schedule change: the new schedule version retires the cached slot answers.
        for staff_id in sorted({target.staff_id for target in targets}):
            await lock_staff(staff_id, connection)
        for target in targets:
            await Booking.filter(id=target.id).using_db(connection).update(
                status=BookingStatus.CANCELLED, cancelled_at=now, version=F("version") + 1, cancel_reason=reason)
        cancelled = await Booking.filter(id__in=[t.id for t in targets]).using_db(connection).order_by("starts_at")
        await OutboxEntry.bulk_create([outbox_row("booking.cancelled", row) for row in cancelled], using_db=connection)
        await bookings_cancelled(cancelled, now, connection)
        told = [] if customer_rules else await tell_customers(CANCELLED, cancelled, connection)
    await live.publish_booking_rows("cancelled", cancelled)
    await live.publish_notifications_added(told)
    return cancelled


CANCEL_THIS = "this"
CANCEL_FOLLOWING = "following"


async def cancel_booking(viewer: Viewer, booking_id: int, scope: str, now: datetime, *,
                         reason: str = "") -> list[Booking]:
    """Cancel one booking, or this occurrence and every later one of its series. Cancelling twice changes nothing.
    `reason` is kept on the booking (and told to the appointment provider a booking came from)."""
    clean_reason = validation.text(reason, ["input", "reason"], max_length=500, required=False)
    booking = await get_booking(viewer, booking_id, ["input", "id"])
    if scope not in (CANCEL_THIS, CANCEL_FOLLOWING):
        raise InvalidInputError(["input", "scope"], "Unknown scope")
    customer_rules = not await is_member(viewer, booking.business_id)
    if scope == CANCEL_FOLLOWING and booking.series_id is None:
        raise InvalidInputError(["input", "scope"], "Only a recurring booking has following occurrences")
    query = Booking.filter(id=booking.id)
    if scope == CANCEL_FOLLOWING:
        # By position in the series, not by time: a moved occurrence keeps its place.
        query = Booking.filter(series_id=booking.series_id, occurrence_index__gte=booking.occurrence_index)
    # Every occurrence the scope touches is checked, not only the one named: naming an earlier, already cancelled
    # occurrence must not reach one that has started.
    cancelled = await cancel_confirmed(query, now, customer_rules=customer_rules, reason=clean_reason)
    return cancelled or [await Booking.get(id=booking.id)]


async def update_booking_notes(
    viewer: Viewer, booking_id: int, customer_notes: str | None, merchant_notes: str | None
) -> Booking:
    booking = await get_booking(viewer, booking_id, ["input", "id"])
    member = await is_member(viewer, booking.business_id)
    if merchant_notes is not None and not member:
        raise NotAuthorizedError("Only the business may write merchant notes")
    values: dict[str, object] = {}
    if customer_notes is not None:
        values["customer_notes"] = validation.text(customer_notes, ["input", "customerNotes"], max_length=2000,
                                                   required=False)
    if merchant_notes is not None:
        values["merchant_notes"] = validation.text(merchant_notes, ["input", "merchantNotes"], max_length=2000,
                                                   required=False)
    if not values:
        return booking
    async with in_transaction() as connection:
        await Booking.filter(id=booking.id).using_db(connection).update(version=F("version") + 1, **values)
        updated = await Booking.get(id=booking.id, using_db=connection)
        await outbox_row("booking.updated", updated).save(using_db=connection)
    await live.publish_booking_rows("updated", [updated], time_changed=False)
    return updated


