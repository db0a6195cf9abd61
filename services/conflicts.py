"""Listing and settling sync conflicts: a booking and the staff member's calendar disagree and a person decides.

Terms (see domain.conflicts): a conflict is *open* until someone settles it with a *choice*, keep the booking or
accept the calendar; domain.conflicts.settle turns kind and choice into the *resolution* carried out here. While a
moved or deleted event's conflict is open nothing is pushed over the calendar's copy; settling puts the booking's
event back in the queue (rewritten from scratch, or created again if it was deleted).
"""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.conflicts import ConflictKind, SettleChoice, SyncResolution, settle
from models import Booking, ConflictStatus, EventMapping, EventMappingState, SyncConflict
from services import live
from services.access import require_schedule_manager, require_signed_in
from services.auth import Viewer
from services.bookings import cancel_bookings_for_calendar, move_booking_for_calendar
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from services.locks import hold_staff
from services.sync_dispatch import anchor_id
from services.sync_health import log_action, notify_staff
from services.sync_queries import managed_staff
from services.transactions import committed

_HAND_EDITS = [ConflictKind.EVENT_MOVED.value, ConflictKind.EVENT_DELETED.value]
_SETTLED = {
    SyncResolution.RESTORE_EVENT: "A conflict was settled: the booking stands and its event is written back",
    SyncResolution.RESCHEDULE_BOOKING: "A conflict was settled: the booking moved to the calendar's time",
    SyncResolution.CANCEL_BOOKING: "A conflict was settled: the booking was cancelled, as the calendar has it",
    SyncResolution.KEEP_BOTH: "A conflict was settled: the booking and the calendar's event both stay",
}


async def list_conflicts(viewer: Viewer, staff_id: int, status: ConflictStatus | None) -> list[SyncConflict]:
    """The staff member's conflicts, newest first, with their bookings."""
    staff = await managed_staff(viewer, staff_id, ["staffId"])
    query = SyncConflict.filter(staff_id=staff.id)
    if status is not None:
        query = query.filter(status=status)
    return await query.order_by("-id").select_related("booking")


async def _conflict_to_settle(viewer: Viewer, conflict_id: int) -> SyncConflict:
    require_signed_in(viewer)
    conflict = await SyncConflict.get_or_none(id=conflict_id).select_related("staff")
    if conflict is None:
        raise NotFoundError("Conflict", ["input", "conflictId"])
    try:
        await require_schedule_manager(viewer, conflict.staff)
    except NotAuthorizedError:
        raise NotFoundError("Conflict", ["input", "conflictId"]) from None  # not yours reads as absent
    if conflict.status != ConflictStatus.OPEN:
        raise InvalidInputError(["input", "conflictId"], "This conflict is already settled")
    return conflict


async def settle_conflict(viewer: Viewer, conflict_id: int, choice: SettleChoice, now: datetime) -> SyncConflict:
    """Settle an open conflict with `choice`, in one transaction: the conflict, the booking moved or cancelled, its
    event queued again, the log entry and the notifications commit together (their live events after the commit).
    A reschedule onto time that is no longer free is refused (SlotUnavailableError) and leaves the conflict open and
    everything as it was."""
    conflict = await _conflict_to_settle(viewer, conflict_id)
    kind = ConflictKind(conflict.kind)
    resolution = settle(kind, choice)
    async with committed() as db:
        await hold_staff(conflict.staff_id, db)  # the lock order (services.locks): the staff member first
        # Claimed first, so two people settling at once cannot both move or cancel the booking.
        claimed = await SyncConflict.filter(id=conflict.id, status=ConflictStatus.OPEN).using_db(db).update(
            status=ConflictStatus.SETTLED, resolution=resolution.value, settled_at=now,
            settled_by_id=viewer.user_id)
        if claimed != 1:
            raise InvalidInputError(["input", "conflictId"], "This conflict is already settled")
        await _carry_out(resolution, conflict, now, db)  # a refusal rolls all of it back: the conflict stays open
        mapping = await _requeue_event(conflict, kind, resolution, now, db)
        await log_action(conflict.connection_id, "none", "settle_conflict", "ok", booking_id=conflict.booking_id,
                         mapping_id=mapping.id if mapping else None, detail=f"{kind.value}: {resolution.value}",
                         using_db=db)
        await live.publish_notifications_added(await notify_staff(
            conflict.staff_id, "conflict_settled", _SETTLED[resolution],
            {"bookingId": conflict.booking_id, "conflictId": conflict.id, "resolution": resolution.value},
            using_db=db))
    return await SyncConflict.get(id=conflict.id).select_related("booking")


async def _carry_out(resolution: SyncResolution, conflict: SyncConflict, now: datetime, db: BaseDBAsyncClient
                     ) -> None:
    if resolution == SyncResolution.RESCHEDULE_BOOKING:
        if conflict.proposed_start is None:
            raise InvalidInputError(["input", "choice"], "The calendar gave no new time for this booking")
        await move_booking_for_calendar(conflict.booking_id, conflict.proposed_start, now, db=db)
    elif resolution == SyncResolution.CANCEL_BOOKING:
        await cancel_bookings_for_calendar([conflict.booking_id], now, db=db)


async def _requeue_event(conflict: SyncConflict, kind: ConflictKind, resolution: SyncResolution, now: datetime,
                         db: BaseDBAsyncClient) -> EventMapping | None:
    """Make the booking's event in the conflict's calendar pending again, to be written in full (version 0), or
    created again when it was deleted there. Another open hand-edit conflict of the same event keeps it held back."""
    if conflict.connection_id is None:
        return None
    booking = await Booking.get(id=conflict.booking_id, using_db=db)
    anchor = await anchor_id(booking)
    mapping = await EventMapping.get_or_none(booking_id=anchor, external_calendar__connection_id=conflict.connection_id,
                                             using_db=db)
    if mapping is None or mapping.state == EventMappingState.UNLINKED or resolution == SyncResolution.KEEP_BOTH:
        return mapping
    values: dict[str, object] = {"version_written": 0, "attempts": 0, "next_attempt_at": now, "last_error": ""}
    if kind == ConflictKind.EVENT_DELETED:
        values.update(external_event_id="", etag="")
    series = [anchor] if booking.series_id is None else await Booking.filter(
        series_id=booking.series_id).using_db(db).values_list("id", flat=True)
    held = await SyncConflict.filter(connection_id=conflict.connection_id, booking_id__in=list(series),
                                     status=ConflictStatus.OPEN, kind__in=_HAND_EDITS).using_db(db).exists()
    if not held:
        values["state"] = EventMappingState.PENDING
    await EventMapping.filter(id=mapping.id).using_db(db).update(**values)
    return mapping
