"""The duplicateCandidates query: likely duplicates among one staff member's bookings, their events and imported
blocks in a window (domain.duplicates says what counts), each item with what a person needs to choose.

The window is bounded as the staff schedule's is (services.availability.window); an answer holds at most MAX_GROUPS
groups (`truncated` then says so: ask for a shorter window). Block titles are shown as everywhere else
(services.access.block_title).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.duplicates import DuplicateGroup, DuplicateKind, ItemKind, ItemRef
from domain.titles import booking_event_title
from models import Booking, BusyBlock, EventMapping, ExternalCalendar, Staff
from services.access import block_title
from services.auth import Viewer
from services.availability import window
from services.duplicate_facts import StaffDuplicates, read_duplicates, span_of
from services.sync_queries import managed_staff

MAX_GROUPS = 200


@dataclass(frozen=True)
class CandidateItem:
    """One item as shown: its span and title, the calendar it is in (none for the booking itself), and its row."""

    ref: ItemRef
    starts_at: datetime
    ends_at: datetime
    title: str
    calendar: ExternalCalendar | None
    booking: Booking | None
    block: BusyBlock | None = None
    mapping: EventMapping | None = None


@dataclass(frozen=True)
class CandidateGroup:
    kind: DuplicateKind
    items: list[CandidateItem]
    suggested_keep: ItemRef


@dataclass(frozen=True)
class DuplicateReport:
    groups: list[CandidateGroup]
    truncated: bool


async def duplicate_candidates(viewer: Viewer, staff_id: int, starts: datetime, ends: datetime) -> DuplicateReport:
    """For the staff member themself and the business owner (NotAuthorized for anyone else)."""
    staff = await managed_staff(viewer, staff_id, ["staffId"])
    found = await read_duplicates(staff.id, window(starts, ends))
    groups = [_shown(group, found, viewer, staff) for group in found.groups[:MAX_GROUPS]]
    return DuplicateReport(groups, len(found.groups) > MAX_GROUPS)


def _shown(group: DuplicateGroup, found: StaffDuplicates, viewer: Viewer, staff: Staff) -> CandidateGroup:
    return CandidateGroup(group.kind, [_item(ref, found, viewer, staff) for ref in group.items], group.suggested_keep)


def _item(ref: ItemRef, found: StaffDuplicates, viewer: Viewer, staff: Staff) -> CandidateItem:
    if ref.kind == ItemKind.BUSY_BLOCK:
        block = found.blocks[ref.pk]
        span = span_of(block)
        return CandidateItem(ref, span.start, span.end, block_title(viewer, block, staff),
                             found.calendars[block.external_calendar_id or 0], None, block=block)
    if ref.kind == ItemKind.BOOKING_EVENT:
        mapping = found.mappings[ref.pk]
        booking = found.bookings[mapping.booking_id]
        span = span_of(booking)
        return CandidateItem(ref, span.start, span.end, _title(booking), found.calendars[mapping.external_calendar_id],
                             booking, mapping=mapping)
    booking = found.bookings[ref.pk]
    span = span_of(booking)
    return CandidateItem(ref, span.start, span.end, _title(booking), None, booking)


def _title(booking: Booking) -> str:
    return booking_event_title(booking.service.name, booking.customer_name, booking.walk_in)
