"""Merging duplicates (mergeDuplicates): keep one item of a group of likely duplicates and settle the others.

The group is found again here, under the staff member's lock, from what is stored now (services.duplicate_facts):
the client's idea of it is not trusted. Every item removed must be in the group of the item kept, and every step
must be possible, or nothing changes at all. What each step does is domain.merging's; the steps are
services.event_links'. Events are deleted at the provider by the push, never in this request; every step writes its
sync log entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.duplicates import ItemKind, ItemRef, WrittenEvent
from domain.intervals import Span
from domain.merging import MergeFacts, MergeRefused, MergeStep, StepKind, plan_merge
from models import Booking, BusyBlock, EventMapping, Staff
from services.access import is_member, require_schedule_manager, require_signed_in
from services.auth import Viewer
from services.duplicate_facts import StaffDuplicates, block_facts, calendar_facts, read_duplicates, span_of
from services.errors import InvalidInputError, NotFoundError
from services.event_links import (
    EventLinkRefusedError,
    adopt_event,
    delete_imported_copy,
    delete_written_event,
    drop_block,
)
from services.locks import lock_staff
from services.transactions import committed

MAX_REMOVED = 20  # items one merge may remove (docs/limits.md); a group is rarely more than two or three
_LABELS = {ItemKind.BOOKING: "Booking", ItemKind.BOOKING_EVENT: "SyncItem", ItemKind.BUSY_BLOCK: "BusyBlock"}


@dataclass(frozen=True)
class MergeOutcome:
    kept: ItemRef
    steps: list[MergeStep]


async def merge_duplicates(viewer: Viewer, keep: ItemRef, remove: Sequence[ItemRef], now: datetime) -> MergeOutcome:
    """Keep `keep`, settle each of `remove` (domain.merging), all in one transaction or not at all."""
    _check_list(keep, remove)
    staff, span = await _owner_of(viewer, keep)
    async with committed() as db:
        await lock_staff(staff.id, db)
        found = await read_duplicates(staff.id, span, db)
        group = found.group_of(keep)
        if group is None:
            raise InvalidInputError(["input", "keep"], "No likely duplicates of this item were found")
        for index, item in enumerate(remove):
            if item not in group.items:
                raise InvalidInputError(["input", "remove", index], "Not a likely duplicate of the item kept")
        try:
            steps = plan_merge(group, keep, remove, _facts(found, group.booking_id, staff.id))
        except MergeRefused as refused:
            path: list[str | int] = ["input", "keep"] if refused.index is None else ["input", "remove", refused.index]
            raise EventLinkRefusedError(refused.reason, path) from None
        for step in steps:
            await _apply(step, found, group.booking_id, viewer.user_id, now, db)
    return MergeOutcome(keep, steps)


def _check_list(keep: ItemRef, remove: Sequence[ItemRef]) -> None:
    if not remove:
        raise InvalidInputError(["input", "remove"], "Name at least one item to remove")
    if len(remove) > MAX_REMOVED:
        raise InvalidInputError(["input", "remove"], f"Remove at most {MAX_REMOVED} items at once")
    for index, item in enumerate(remove):
        if item == keep:
            raise InvalidInputError(["input", "remove", index], "The item kept cannot be removed too")
        if item in remove[:index]:
            raise InvalidInputError(["input", "remove", index], "This item is named twice")


async def _owner_of(viewer: Viewer, keep: ItemRef) -> tuple[Staff, Span]:
    """The staff member whose item `keep` is, and its span; the viewer must manage that staff member's schedule
    (NotFound outside their business, as for any private object; NotAuthorized inside it)."""
    require_signed_in(viewer)
    row: Booking | BusyBlock | None
    staff_id: int | None = None
    if keep.kind == ItemKind.BOOKING_EVENT:
        mapping = await EventMapping.get_or_none(id=keep.pk).select_related("booking", "external_calendar__connection")
        row = None if mapping is None else mapping.booking
        staff_id = None if mapping is None else mapping.external_calendar.connection.staff_id
    else:
        row = await (Booking if keep.kind == ItemKind.BOOKING else BusyBlock).get_or_none(id=keep.pk)
        staff_id = None if row is None else row.staff_id
    staff = None if staff_id is None else await Staff.get_or_none(id=staff_id)
    if row is None or staff is None or not await is_member(viewer, staff.business_id):
        raise NotFoundError(_LABELS[keep.kind], ["input", "keep"])
    await require_schedule_manager(viewer, staff)
    return staff, span_of(row)


def _facts(found: StaffDuplicates, booking_id: int | None, staff_id: int) -> MergeFacts:
    anchor = found.anchors.get(booking_id or 0, booking_id or 0)
    booking = found.bookings.get(booking_id or 0)
    return MergeFacts(
        calendars={calendar_id: calendar_facts(row) for calendar_id, row in found.calendars.items()},
        blocks={block_id: block_facts(row) for block_id, row in found.blocks.items()},
        recurring={block_id: row.recurring for block_id, row in found.blocks.items()},
        events={mapping_id: WrittenEvent(mapping_id, row.booking_id, row.external_calendar_id)
                for mapping_id, row in found.mappings.items()},
        staff_id=staff_id, booking_in_series=booking is not None and booking.series_id is not None,
        open_conflicts=frozenset(found.conflicted.get(anchor, ())), unlinked=frozenset(found.unlinked.get(anchor, ())))


async def _apply(step: MergeStep, found: StaffDuplicates, booking_id: int | None, by: int | None, now: datetime,
                 db: BaseDBAsyncClient) -> None:
    connection_id = found.calendars[step.calendar_id].connection_id
    anchor = found.anchors.get(booking_id or 0, booking_id or 0)
    if step.kind == StepKind.ADOPT_EVENT:
        await adopt_event(found.blocks[step.item.pk], found.bookings[anchor], found.calendars[step.calendar_id], by,
                          now, db)
    elif step.kind == StepKind.DELETE_WRITTEN_EVENT:
        await delete_written_event(found.mappings[step.item.pk], connection_id, now, db)
    elif step.kind == StepKind.DELETE_IMPORTED_EVENT:
        await delete_imported_copy(found.blocks[step.item.pk], booking_id or 0, anchor, step.calendar_id,
                                   connection_id, by, now, db)
    else:
        assert step.duplicate_of is not None
        await drop_block(found.blocks[step.item.pk], step.duplicate_of, connection_id, by, now, db)
