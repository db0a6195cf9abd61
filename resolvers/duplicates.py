"""Linking an imported event to a booking, finding likely duplicates and merging them (services.event_links,
services.duplicates, services.merging)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.errors import pk, typed_errors
from resolvers.permissions import IS_BUSINESS_SIDE, permission, viewer_of
from schema.duplicate_types import (
    CannotLinkEvent,
    CannotMergeDuplicates,
    DuplicateCandidates,
    DuplicateCandidatesResult,
    DuplicateGroup,
    DuplicateItem,
    DuplicateItemKind,
    DuplicateKind,
    LinkEventToBookingInput,
    LinkEventToBookingResult,
    LinkRefusal,
    MergeAction,
    MergeDuplicatesInput,
    MergeDuplicatesPayload,
    MergeDuplicatesResult,
    MergeStep,
)
from schema.ids import decode_id, encode_id
from schema.sync_types import ExternalCalendar, SyncItem
from schema.types import Booking, BusyBlock
from services import duplicates, event_links, merging
from services.duplicates import CandidateItem
from services.errors import InvalidInputError, NotFoundError
from services.merging import ItemKind, ItemRef

_TYPE_OF = {ItemKind.BOOKING: "Booking", ItemKind.BOOKING_EVENT: "SyncItem", ItemKind.BUSY_BLOCK: "BusyBlock"}
_KIND_OF = {type_name: kind for kind, type_name in _TYPE_OF.items()}
From = Annotated[datetime, strawberry.argument(name="from")]


def item_id(ref: ItemRef) -> strawberry.ID:
    return encode_id(_TYPE_OF[ref.kind], ref.pk)


def item_ref(value: str, path: list[str | int]) -> ItemRef:
    """The item a Booking, SyncItem or BusyBlock ID names."""
    decoded = decode_id(value)
    if decoded is None or decoded.type_name not in _KIND_OF:
        raise InvalidInputError(path, "Not a Booking, SyncItem or BusyBlock ID")
    if decoded.pk is None:
        raise NotFoundError(decoded.type_name, path)
    return ItemRef(_KIND_OF[decoded.type_name], decoded.pk)


def _item(item: CandidateItem) -> DuplicateItem:
    return DuplicateItem(
        item_id=item_id(item.ref), kind=DuplicateItemKind(item.ref.kind.value), starts_at=item.starts_at,
        ends_at=item.ends_at, title=item.title,
        calendar=ExternalCalendar.from_model(item.calendar) if item.calendar else None,
        booking=Booking.from_model(item.booking, for_business=True) if item.booking else None,
        busy_block=BusyBlock.from_model(item.block, item.title) if item.block else None,
        sync_item=SyncItem.from_model(item.mapping) if item.mapping else None)


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def duplicate_candidates(staff_id: strawberry.ID, from_: From, to: datetime, info: Info
                               ) -> DuplicateCandidatesResult:
    """Likely duplicates among the staff member's bookings, their events and imported busy time in [from, to) (at
    most 62 days), for the staff member and the owner."""
    report = await duplicates.duplicate_candidates(viewer_of(info), pk(staff_id, "StaffMember", ["staffId"]), from_,
                                                   to)
    return DuplicateCandidates(truncated=report.truncated, groups=[
        DuplicateGroup(kind=DuplicateKind(group.kind.value), items=[_item(item) for item in group.items],
                       suggested_keep_id=item_id(group.suggested_keep)) for group in report.groups])


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def link_event_to_booking(input: LinkEventToBookingInput, info: Info) -> LinkEventToBookingResult:
    """Make an imported event the booking's event in its calendar: Lockstep takes it over (the next push writes the
    booking onto it) instead of writing a second one, and it no longer counts as busy time."""
    try:
        row = await event_links.link_event_to_booking(
            viewer_of(info), pk(input.busy_block_id, "BusyBlock", ["input", "busyBlockId"]),
            pk(input.booking_id, "Booking", ["input", "bookingId"]), info.context.now())
    except event_links.EventLinkRefusedError as refused:
        return CannotLinkEvent(message=refused.message, reason=LinkRefusal(refused.reason.value))
    return SyncItem.from_model(row)


@permission(IS_BUSINESS_SIDE)
@typed_errors
async def merge_duplicates(input: MergeDuplicatesInput, info: Info) -> MergeDuplicatesResult:
    """Keep one item of a group of likely duplicates and settle the others, all or nothing."""
    if len(input.remove) > merging.MAX_REMOVED:  # checked before any item is read
        raise InvalidInputError(["input", "remove"], f"Remove at most {merging.MAX_REMOVED} items at once")
    keep = item_ref(input.keep, ["input", "keep"])
    remove = [item_ref(value, ["input", "remove", index]) for index, value in enumerate(input.remove)]
    try:
        outcome = await merging.merge_duplicates(viewer_of(info), keep, remove, info.context.now())
    except event_links.EventLinkRefusedError as refused:
        return CannotMergeDuplicates(message=refused.message, reason=LinkRefusal(refused.reason.value),
                                     path=[str(part) for part in refused.path])
    return MergeDuplicatesPayload(kept_id=item_id(outcome.kept), steps=[
        MergeStep(action=MergeAction(step.kind.value), item_id=item_id(step.item)) for step in outcome.steps])
