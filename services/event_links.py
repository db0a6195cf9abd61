"""Taking an imported event over as a booking's event (linkEventToBooking), and the steps of settling duplicates
that services.merging also takes: each changes mappings and blocks inside the caller's transaction and writes its
sync log entry. Nothing here talks to a provider: the push (jobs.push) writes and deletes at the provider.

Terms (domain.merging has the rest): *reopening* a mapping makes it due for a push now, counted as a new change (its
`queued` counter moves, so a push already running does not mark it synced).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from domain.conflicts import ConflictKind
from domain.duplicates import ItemKind, ItemRef
from domain.merging import Adoption, Refusal, adoption_refusal
from models import (
    Booking,
    BookingStatus,
    BusyBlock,
    BusyBlockSource,
    ConflictStatus,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    RetiredEvent,
    SyncConflict,
)
from services import live
from services.access import is_member, require_schedule_manager, require_signed_in
from services.auth import Viewer
from services.duplicate_facts import calendar_facts, span_of
from services.errors import NotFoundError, ServiceError
from services.locks import lock_staff
from services.sync_health import log_action
from services.transactions import committed

REFUSALS = {
    Refusal.BLOCKED_TIME: "This is time blocked in Lockstep, not an event imported from a calendar",
    Refusal.OTHER_STAFF_MEMBER: "The booking is another staff member's",
    Refusal.BOOKING_NOT_CONFIRMED: "The booking is cancelled",
    Refusal.RECURRING_BOOKING: "A recurring booking's event is one series; it cannot take over a single event",
    Refusal.RECURRING_EVENT: "The event repeats (or the calendar has not said yet whether it does: sync it first); "
                             "writing a booking onto it would change every occurrence",
    Refusal.DISCONNECTED: "The calendar's connection is disconnected",
    Refusal.IMPORT_ONLY_CONNECTION: "The calendar's connection only imports: Lockstep does not write there",
    Refusal.READ_ONLY_CALENDAR: "The calendar is read-only for Lockstep",
    Refusal.NOT_DESTINATION: "Bookings are written to another calendar: make this one the destination first",
    Refusal.OPEN_CONFLICT: "The booking's event in this calendar has an open conflict: settle it first",
    Refusal.DESTINATION_EVENT: "This is the booking's event in the calendar bookings are written to: keep it, or "
                               "keep an imported event there instead",
    Refusal.BOOKING_ITEM: "The booking itself can only be kept",
}


class EventLinkRefusedError(ServiceError):
    """Nothing was changed: `reason` (domain.merging.Refusal) says why; `path` names the input item refused."""

    def __init__(self, reason: Refusal, path: Sequence[str | int]) -> None:
        super().__init__(REFUSALS[reason])
        self.reason = reason
        self.path = list(path)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


_REOPENED = {"state": EventMappingState.PENDING, "attempts": 0, "last_error": "", "failed_by_outage": False}


async def link_event_to_booking(viewer: Viewer, block_id: int, booking_id: int, now: datetime) -> EventMapping:
    """Make the imported event of `block_id` the booking's event in its calendar (domain.merging: taking over).
    Returns the booking's mapping in that calendar."""
    require_signed_in(viewer)
    block = await BusyBlock.get_or_none(id=block_id).select_related("staff")
    if block is None or not await is_member(viewer, block.staff.business_id):
        raise NotFoundError("BusyBlock", ["input", "busyBlockId"])
    await require_schedule_manager(viewer, block.staff)
    booking = await Booking.get_or_none(id=booking_id)
    if booking is None or booking.business_id != block.staff.business_id:
        raise NotFoundError("Booking", ["input", "bookingId"])
    async with committed() as db:
        await lock_staff(block.staff_id, db)
        # Read again under the lock: a pull may have removed the block, a cancellation the booking, meanwhile.
        block = await BusyBlock.get_or_none(id=block_id, using_db=db)
        booking = await Booking.get_or_none(id=booking_id, using_db=db)
        if block is None or booking is None:
            raise NotFoundError("BusyBlock" if block is None else "Booking",
                                ["input", "busyBlockId" if block is None else "bookingId"])
        calendar = await _calendar_of(block, db)
        conflict = calendar is not None and await EventMapping.filter(
            booking_id=booking.id, external_calendar_id=calendar.id, state=EventMappingState.CONFLICT).using_db(
            db).exists()
        refused = adoption_refusal(Adoption(
            calendar_facts(calendar) if calendar is not None else None, block.staff_id, booking.staff_id,
            booking.status == BookingStatus.CONFIRMED, booking.series_id is not None, block.recurring, conflict))
        if refused is not None:
            raise EventLinkRefusedError(refused, ["input", "busyBlockId"])
        assert calendar is not None
        return await adopt_event(block, booking, calendar, viewer.user_id, now, db)


async def _calendar_of(block: BusyBlock, db: BaseDBAsyncClient) -> ExternalCalendar | None:
    if block.external_calendar_id is None or block.source != BusyBlockSource.EXTERNAL:
        return None
    return await ExternalCalendar.get(id=block.external_calendar_id, using_db=db).select_related("connection")


async def adopt_event(block: BusyBlock, booking: Booking, calendar: ExternalCalendar, by: int | None, now: datetime,
                      db: BaseDBAsyncClient) -> EventMapping:
    """The block's event becomes the (single) booking's event in the calendar: the mapping takes its id, with no
    etag (blocks keep none: the first push writes unconditionally) and version 0, so the next push writes the
    booking and Lockstep's marker onto it. The booking's earlier event there is retired (that push deletes it), and
    the event's blocks go now, so the time counts once: as the booking. `by`: the user who asked."""
    mapping, _ = await EventMapping.get_or_create(booking_id=booking.id, external_calendar_id=calendar.id,
                                                  using_db=db)
    mapping = await EventMapping.filter(id=mapping.id).using_db(db).select_for_update().get()
    earlier = mapping.external_event_id
    if earlier and earlier != block.external_event_id:
        await _retire(mapping, calendar.id, earlier, db)
        await log_action(calendar.connection_id, "none", "replace_event", "ok", booking_id=booking.id,
                         mapping_id=mapping.id, detail="the booking's earlier event here is deleted by the next push",
                         using_db=db)
    await RetiredEvent.filter(external_calendar_id=calendar.id, external_event_id=block.external_event_id).using_db(
        db).delete()  # taken over after all: it stays
    written = {_iso(booking.starts_at): [booking.id, _iso(block.starts_at), _iso(block.ends_at)]}
    await EventMapping.filter(id=mapping.id).using_db(db).update(
        external_event_id=block.external_event_id, etag="", version_written=0, written=written, next_attempt_at=now,
        queued=F("queued") + 1, **_REOPENED)
    await _remove_blocks_of(block, db)
    await settle_overlaps(booking.id, block.external_event_id, by, now, db)
    await log_action(calendar.connection_id, "none", "adopt_event", "ok", booking_id=booking.id,
                     mapping_id=mapping.id, using_db=db,
                     detail="an imported event is now the booking's; the next push writes the booking onto it")
    return await EventMapping.get(id=mapping.id, using_db=db)


async def delete_imported_copy(block: BusyBlock, booking_id: int, anchor: int, calendar_id: int, connection_id: int,
                               by: int | None, now: datetime, db: BaseDBAsyncClient) -> None:
    """An imported copy of the booking (whose events hang on `anchor`): retired on the booking's mapping in its
    calendar (made for the purpose when there is none), so the next push deletes it; its blocks go now."""
    mapping, _ = await EventMapping.get_or_create(booking_id=anchor, external_calendar_id=calendar_id, using_db=db,
                                                  defaults={"state": EventMappingState.SYNCED})
    await _retire(mapping, calendar_id, block.external_event_id, db)
    await EventMapping.filter(id=mapping.id).using_db(db).update(next_attempt_at=now, queued=F("queued") + 1,
                                                                 **_REOPENED)
    await _remove_blocks_of(block, db)
    await settle_overlaps(booking_id, block.external_event_id, by, now, db)
    await log_action(connection_id, "none", "delete_duplicate", "ok", booking_id=anchor, mapping_id=mapping.id,
                     detail="an imported copy of the booking; the next push deletes it", using_db=db)


async def delete_written_event(mapping: EventMapping, connection_id: int, now: datetime,
                               db: BaseDBAsyncClient) -> None:
    """The booking's event in a calendar bookings are not written to: the next push deletes it, as it deletes any
    booking's event from a calendar that is not the destination."""
    await EventMapping.filter(id=mapping.id).using_db(db).update(next_attempt_at=now, queued=F("queued") + 1,
                                                                 **_REOPENED)
    await log_action(connection_id, "none", "delete_duplicate", "ok", booking_id=mapping.booking_id,
                     mapping_id=mapping.id, detail="an extra event of the booking; the next push deletes it",
                     using_db=db)


async def drop_block(block: BusyBlock, duplicate_of: ItemRef, connection_id: int, by: int | None, now: datetime,
                     db: BaseDBAsyncClient) -> None:
    """Keep the block as the calendar holds it, no longer shown while `duplicate_of` takes exactly its span."""
    by_block = duplicate_of.kind == ItemKind.BUSY_BLOCK
    await BusyBlock.filter(id=block.id).using_db(db).update(
        duplicate_of_block_id=duplicate_of.pk if by_block else None,
        duplicate_of_booking_id=None if by_block else duplicate_of.pk)
    if not by_block:
        await settle_overlaps(duplicate_of.pk, block.external_event_id, by, now, db)
    await log_action(connection_id, "none", "drop_duplicate", "ok",
                     booking_id=None if by_block else duplicate_of.pk, using_db=db,
                     detail="a copy of another imported event; it stays in its calendar" if by_block
                     else "a copy of the booking Lockstep may not delete; it stays in its calendar")


async def settle_overlaps(booking_id: int, event_id: str, settled_by: int | None, now: datetime,
                          db: BaseDBAsyncClient) -> None:
    """The booking's open busy-overlap conflicts with the event: explained, since the event is the booking's own (or
    a copy of it) after all. Settled without a resolution of the conflict policy's: nothing else changes."""
    await SyncConflict.filter(booking_id=booking_id, external_event_id=event_id, status=ConflictStatus.OPEN,
                              kind=ConflictKind.BUSY_OVERLAP.value).using_db(db).update(
        status=ConflictStatus.SETTLED, settled_at=now, settled_by_id=settled_by,
        detail="the event is the booking's, or a copy of it")


async def _retire(mapping: EventMapping, calendar_id: int, event_id: str, db: BaseDBAsyncClient) -> None:
    await RetiredEvent.get_or_create(external_calendar_id=calendar_id, external_event_id=event_id,
                                     defaults={"mapping_id": mapping.id}, using_db=db)


async def _remove_blocks_of(block: BusyBlock, db: BaseDBAsyncClient) -> None:
    """Every block of the block's event (one: its event does not repeat), and the change announced after the
    commit."""
    doomed = await BusyBlock.filter(external_calendar_id=block.external_calendar_id,
                                    external_event_id=block.external_event_id).using_db(db)
    await BusyBlock.filter(id__in=[row.id for row in doomed]).using_db(db).delete()
    await live.publish_availability_changed(block.staff_id, [span_of(row) for row in doomed])
