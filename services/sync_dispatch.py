"""Turning committed changes into sync work, and handing out work that is due.

The database is the source of truth for what is owed to calendars: outbox rows become *pending* mappings here,
and a pending mapping stays pending until a push succeeds. The job queue only carries IDs of due work, so losing
the queue (Redis down, a worker killed) loses nothing: the scheduler hands the same work out again once its
lease (`next_attempt_at`, `next_pull_at`) has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q, Subquery
from tortoise.transactions import in_transaction

from models import (
    Booking,
    BookingStatus,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    OutboxEntry,
    SyncDirection,
    SyncFrequency,
)

# A claimed item is handed out again after this if its job never reported back (its worker died): as short as the
# calendar's sync lease, so a dead worker holds up nothing for longer than that.
LEASE = timedelta(seconds=30)
_LIVE = [ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED, ConnectionHealth.REAUTHORIZATION_REQUIRED]
_REOPEN = [EventMappingState.SYNCED, EventMappingState.PENDING, EventMappingState.FAILED]


async def anchor_id(booking: Booking) -> int:
    """The booking a mapping hangs on: itself, or its series' first occurrence."""
    if booking.series_id is None:
        return booking.id
    first = await Booking.filter(series_id=booking.series_id).order_by("occurrence_index").first()
    return booking.id if first is None else first.id


async def push_version(anchor: int, db: Any = None) -> int:
    """The version a push compares with the one last written (jobs.booking_events): the booking's own, or for a
    series the sum over its occurrences (versions only grow, so any change to any occurrence raises the sum)."""
    booking = await Booking.get(id=anchor, using_db=db)
    if booking.series_id is None:
        return booking.version
    return sum(cast(list[int], await Booking.filter(series_id=booking.series_id).using_db(db).values_list(
        "version", flat=True)))


async def destinations(staff_id: int) -> list[ExternalCalendar]:
    """The staff member's destination calendars that take bookings now (at most one per connection kind)."""
    return await ExternalCalendar.filter(
        is_destination=True, connection__staff_id=staff_id, connection__health__in=_LIVE,
        connection__direction__in=[SyncDirection.TWO_WAY, SyncDirection.EXPORT_ONLY])


async def dispatch_outbox(now: datetime, limit: int = 500) -> list[int]:
    """Turn unprocessed outbox rows into pending mappings (creating them for the staff member's destination
    calendars as they are now) and mark the rows done, in one transaction. Returns the mappings now due."""
    due: set[int] = set()
    async with in_transaction() as db:
        rows = await OutboxEntry.filter(processed_at=None, available_at__lte=now).order_by("id").limit(
            limit).using_db(db)
        for row in rows:
            booking = await Booking.get_or_none(id=row.aggregate_id, using_db=db)
            if booking is not None:
                due |= await _owe_push(booking, now, db)
        await OutboxEntry.filter(id__in=[row.id for row in rows]).using_db(db).update(processed_at=now)
    return sorted(due)


async def _owe_push(booking: Booking, now: datetime, db: BaseDBAsyncClient) -> set[int]:
    anchor = await anchor_id(booking)
    calendar_ids = {calendar.id for calendar in await destinations(booking.staff_id)}
    # Calendars that already show the event (the booking may have moved to another staff member) must hear too.
    calendar_ids |= {mapping.external_calendar_id
                     for mapping in await EventMapping.filter(booking_id=anchor).using_db(db)}
    owed = set()
    for calendar_id in sorted(calendar_ids):
        mapping, _ = await EventMapping.get_or_create(booking_id=anchor, external_calendar_id=calendar_id,
                                                      using_db=db)
        if mapping.state in _REOPEN:
            await EventMapping.filter(id=mapping.id).using_db(db).update(
                state=EventMappingState.PENDING, attempts=0, next_attempt_at=now, queued=F("queued") + 1,
                failed_by_outage=False)
            owed.add(mapping.id)
    return owed


async def owe_upcoming_bookings(calendar_id: int, staff_id: int, now: datetime, db: BaseDBAsyncClient) -> int:
    """A calendar that has just become the staff member's destination receives every booking that has not ended
    (a series once); the calendars that showed them before are due a push too, which takes the events out of a
    calendar that is no longer the destination. Returns how many bookings were owed."""
    upcoming = await Booking.filter(staff_id=staff_id, status=BookingStatus.CONFIRMED, ends_at__gt=now).using_db(db)
    anchors = {await anchor_id(booking) for booking in upcoming}
    for anchor in sorted(anchors):
        await EventMapping.get_or_create(booking_id=anchor, external_calendar_id=calendar_id, using_db=db)
    await EventMapping.filter(booking_id__in=sorted(anchors), state__in=_REOPEN).using_db(db).update(
        state=EventMappingState.PENDING, attempts=0, next_attempt_at=now, queued=F("queued") + 1,
        failed_by_outage=False)
    return len(anchors)


async def claim_due_pushes(now: datetime, limit: int = 500) -> list[int]:
    """Pending mappings whose time has come, leased for LEASE so they are not handed out twice meanwhile."""
    async with in_transaction() as db:
        # An import-only connection writes nothing: its pending items wait (unclaimed) until it writes again.
        ids = cast(list[int], await EventMapping.filter(
            state=EventMappingState.PENDING, next_attempt_at__lte=now,
            external_calendar__connection__health__in=[ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED],
            external_calendar__connection__direction__in=[SyncDirection.TWO_WAY, SyncDirection.EXPORT_ONLY],
        ).order_by("next_attempt_at").limit(limit).using_db(db).values_list("id", flat=True))
        await EventMapping.filter(id__in=ids).using_db(db).update(next_attempt_at=now + LEASE)
    return ids


def _pullable() -> Q:
    return Q(Q(import_busy=True) | Q(is_destination=True),
             connection__health__in=[ConnectionHealth.ACTIVE, ConnectionHealth.DEGRADED],
             connection__direction__in=[SyncDirection.TWO_WAY, SyncDirection.IMPORT_ONLY])


async def claim_due_pulls(now: datetime, limit: int = 500) -> list[int]:
    """Calendars due a pull, leased likewise. A calendar never pulled is due unless its connection is manual; a
    manual one is due only when "sync now" (or connecting) set its time, since each pull puts it far off."""
    async with in_transaction() as db:
        ids = cast(list[int], await ExternalCalendar.filter(
            Q(next_pull_at__lte=now) | Q(Q(next_pull_at=None), ~Q(connection__frequency=SyncFrequency.MANUAL)),
            _pullable(),
        ).order_by("next_pull_at").limit(limit).using_db(db).values_list("id", flat=True))
        await ExternalCalendar.filter(id__in=ids).using_db(db).update(next_pull_at=now + LEASE)
    return ids


async def claim_pull_now(calendar_id: int, now: datetime) -> bool:
    """A calendar that a push notification names is due a pull now: lease it at once for whoever hands its job out
    without waiting for the scheduler. One conditional UPDATE (marking it due, then claiming it, took two commits on
    the notification's path). False when the calendar is not pulled (then nothing changed). A pull already queued
    or running does not stop this one: the notification may tell of a change it listed too early to see."""
    pullable = Subquery(ExternalCalendar.filter(_pullable(), id=calendar_id).values("id"))
    return await ExternalCalendar.filter(id=calendar_id, id__in=pullable).update(next_pull_at=now + LEASE) == 1


async def request_pull(connection_id: int, now: datetime) -> list[int]:
    """"Sync now": every calendar of the connection is due at once (the scheduler hands them out within a tick),
    and so is every pending push. Returns the calendars' IDs."""
    ids = cast(list[int], await ExternalCalendar.filter(connection_id=connection_id).values_list("id", flat=True))
    await ExternalCalendar.filter(id__in=ids).update(next_pull_at=now)
    await EventMapping.filter(external_calendar_id__in=ids, state=EventMappingState.PENDING).update(
        next_attempt_at=now)
    return ids


async def retry_mapping(mapping_id: int, now: datetime) -> bool:
    """Put one failed item back in the queue alone. False when it is not failed (nothing to retry)."""
    changed = await EventMapping.filter(id=mapping_id, state=EventMappingState.FAILED).update(
        state=EventMappingState.PENDING, attempts=0, next_attempt_at=now, last_error="", failed_by_outage=False)
    return changed == 1


async def connection_of_calendar(calendar_id: int) -> CalendarConnection:
    calendar = await ExternalCalendar.get(id=calendar_id)
    return await CalendarConnection.get(id=calendar.connection_id)
