"""Turning committed changes into sync work, and handing out work that is due.

The database is the source of truth for what is owed to calendars: outbox rows become *pending* mappings here,
and a pending mapping stays pending until a push succeeds. The job queue only carries IDs of due work, so losing
the queue (Redis down, a worker killed) loses nothing: the scheduler hands the same work out again once its
lease (`next_attempt_at`, `next_pull_at`) has passed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
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
from models.claims import Claim, placeholders, run_claim

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


async def dispatch_outbox(now: datetime, limit: int = 500) -> list[int]:
    """Turn unprocessed outbox rows into pending mappings (creating them for the staff member's destination
    calendars as they are now) and mark the rows done, in one transaction. Returns the mappings now due.

    A batch costs the same few statements however many rows it holds, and an empty outbox one indexed read (no
    transaction, so no write lock on SQLite)."""
    due = OutboxEntry.filter(processed_at=None, available_at__lte=now)
    if not await due.exists():
        return []
    async with in_transaction() as db:
        rows = cast(list[tuple[int, int]], await due.order_by("id").limit(limit).using_db(db).values_list(
            "id", "aggregate_id"))
        owed = await _owe_pushes(sorted({booking_id for _, booking_id in rows}), now, db)
        await OutboxEntry.filter(id__in=[row_id for row_id, _ in rows]).using_db(db).update(processed_at=now)
    return owed


async def _anchors(booking_ids: list[int], db: BaseDBAsyncClient) -> dict[int, tuple[int, int]]:
    """Each existing booking's anchor (anchor_id) and staff member, in two statements for the whole batch."""
    bookings = cast(list[tuple[int, int | None, int]], await Booking.filter(id__in=booking_ids).using_db(
        db).values_list("id", "series_id", "staff_id"))
    series = sorted({series_id for _, series_id, _ in bookings if series_id is not None})
    first: dict[int, tuple[int, int]] = {}  # series -> (occurrence index, booking id) of its first occurrence
    if series:
        for series_id, index, booking_id in cast(list[tuple[int, int, int]], await Booking.filter(
                series_id__in=series).using_db(db).values_list("series_id", "occurrence_index", "id")):
            if series_id not in first or (index, booking_id) < first[series_id]:
                first[series_id] = (index, booking_id)
    return {booking_id: (booking_id if series_id is None else first[series_id][1], staff_id)
            for booking_id, series_id, staff_id in bookings}


async def _owe_pushes(booking_ids: list[int], now: datetime, db: BaseDBAsyncClient) -> list[int]:
    """Reopen (or create) the mappings of the bookings' anchors in every calendar that must hear of the change: the
    staff member's destinations, and the calendars already showing the event (the booking may have moved to another
    staff member). Returns the reopened mappings' IDs."""
    anchors = await _anchors(booking_ids, db)
    staff_of = {anchor: staff_id for anchor, staff_id in anchors.values()}
    if not staff_of:
        return []
    destination_rows = cast(list[tuple[int, int]], await ExternalCalendar.filter(
        is_destination=True, connection__staff_id__in=sorted(set(staff_of.values())),
        connection__health__in=_LIVE, connection__direction__in=[SyncDirection.TWO_WAY, SyncDirection.EXPORT_ONLY],
    ).using_db(db).values_list("id", "connection__staff_id"))
    calendars_of: dict[int, set[int]] = {}
    for calendar_id, staff_id in destination_rows:
        calendars_of.setdefault(staff_id, set()).add(calendar_id)
    mappings = EventMapping.filter(booking_id__in=sorted(staff_of)).using_db(db)
    existing = {(booking_id, calendar_id) for booking_id, calendar_id in cast(
        list[tuple[int, int]], await mappings.values_list("booking_id", "external_calendar_id"))}
    missing = sorted({(anchor, calendar_id) for anchor, staff_id in staff_of.items()
                      for calendar_id in calendars_of.get(staff_id, ())} - existing)
    if missing:
        await EventMapping.bulk_create([EventMapping(booking_id=anchor, external_calendar_id=calendar_id)
                                        for anchor, calendar_id in missing], ignore_conflicts=True, using_db=db)
    rows = cast(list[tuple[int, int, str, int, bool]], await EventMapping.filter(
        booking_id__in=sorted(staff_of), state__in=_REOPEN).using_db(db).values_list(
        "id", "booking_id", "state", "version_written", "external_calendar__writable"))
    # In a calendar Lockstep never writes (an appointment provider's), a mapping that already holds its booking's
    # version has nothing to do: the booking's own creation would otherwise cost a push job that sends nothing. (A
    # written calendar's push may still owe a write at the same version: the follow-up of a hand edit.)
    versions = dict(cast(list[tuple[int, int]], await Booking.filter(
        id__in=sorted({row[1] for row in rows if not row[4]}), series_id=None).using_db(db).values_list(
        "id", "version"))) if any(not row[4] for row in rows) else {}
    owed = sorted(mapping_id for mapping_id, booking_id, state, written, writable in rows
                  if writable or not (state == EventMappingState.SYNCED and versions.get(booking_id) == written))
    # Only the states read: a mapping unlinked meanwhile (a provider cancelled the appointment itself) stays so.
    await EventMapping.filter(id__in=owed, state__in=_REOPEN).using_db(db).update(
        state=EventMappingState.PENDING, attempts=0, next_attempt_at=now, queued=F("queued") + 1,
        failed_by_outage=False)
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


_WRITING = (SyncDirection.TWO_WAY.value, SyncDirection.EXPORT_ONLY.value)
_READING = (SyncDirection.TWO_WAY.value, SyncDirection.IMPORT_ONLY.value)
_SYNCING = (ConnectionHealth.ACTIVE.value, ConnectionHealth.DEGRADED.value)
# The connection's conditions are a scalar subquery, not a join: the database then walks the claimed table's due
# range and looks each connection up by its key, whatever it guesses about how many rows are due.
_CONNECTION_OF_CALENDAR = "FROM calendarconnection k WHERE k.id = externalcalendar.connection_id"


def push_claim(now: datetime, limit: int = 500) -> Claim:
    """The statement claiming due pushes (see claim_due_pushes)."""
    # An import-only connection writes nothing: its pending items wait (unclaimed) until it writes again.
    return Claim(
        "eventmapping", "next_attempt_at = ?", [now + LEASE],
        "eventmapping.state = ? AND eventmapping.next_attempt_at <= ?"
        f" AND (SELECT k.health IN ({placeholders(_SYNCING)}) AND k.direction IN ({placeholders(_WRITING)})"
        " FROM externalcalendar c JOIN calendarconnection k ON k.id = c.connection_id"
        " WHERE c.id = eventmapping.external_calendar_id)",
        [EventMappingState.PENDING.value, now, *_SYNCING, *_WRITING],
        order="eventmapping.next_attempt_at", limit=limit)


async def claim_due_pushes(now: datetime, limit: int = 500) -> list[int]:
    """Pending mappings whose time has come, leased for LEASE so they are not handed out twice meanwhile. One
    statement over the index of pending mappings by next attempt (models.claims)."""
    return await run_claim(push_claim(now, limit))


def _pull_claim(now: datetime, due: str, due_params: list[object], limit: int, *, not_manual: bool = False
                ) -> Claim:
    manual = " AND k.frequency <> ?" if not_manual else ""
    return Claim(
        "externalcalendar", "next_pull_at = ?", [now + LEASE],
        f"{due} AND (externalcalendar.import_busy OR externalcalendar.is_destination)"
        f" AND (SELECT k.health IN ({placeholders(_SYNCING)}) AND k.direction IN ({placeholders(_READING)}){manual}"
        f" {_CONNECTION_OF_CALENDAR})",
        [*due_params, *_SYNCING, *_READING, *([SyncFrequency.MANUAL.value] if not_manual else [])],
        order="externalcalendar.next_pull_at", limit=limit)


def pull_claims(now: datetime, limit: int = 500) -> tuple[Claim, Claim]:
    """The two index ranges of calendars due a pull: never given a time (and not manual), and whose time came."""
    never = _pull_claim(now, "externalcalendar.next_pull_at IS NULL", [], limit, not_manual=True)
    return never, _pull_claim(now, "externalcalendar.next_pull_at <= ?", [now], limit)


async def claim_due_pulls(now: datetime, limit: int = 500) -> list[int]:
    """Calendars due a pull, leased likewise. A calendar never pulled is due unless its connection is manual; a
    manual one is due only when "sync now" (or connecting) set its time, since each pull puts it far off. Calendars
    are created with a time (services.connections), so the first range is empty but for rows made otherwise."""
    never, due = pull_claims(now, limit)
    first = await run_claim(never)
    return sorted(first + await run_claim(replace(due, limit=limit - len(first))))


async def claim_pull_now(calendar_id: int, now: datetime) -> bool:
    """A calendar that a push notification names is due a pull now: lease it at once for whoever hands its job out
    without waiting for the scheduler. One conditional UPDATE (marking it due, then claiming it, took two commits on
    the notification's path). False when the calendar is not pulled (then nothing changed). A pull already queued
    or running does not stop this one: the notification may tell of a change it listed too early to see."""
    claim = _pull_claim(now, "externalcalendar.id = ?", [calendar_id], 1)
    return await run_claim(replace(claim, skip_locked=False)) == [calendar_id]


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
