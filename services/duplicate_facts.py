"""What duplicate finding and merging read of one staff member around a span: their confirmed bookings, the events
Lockstep wrote for them in calendars it writes to, the blocks imported from their calendars, and those calendars,
as domain.duplicates and domain.merging take them, with the rows they came from.

A booking's event counts when its mapping holds an event (synced, pending, failed, or unlinked: an unlinked event
stays in the calendar) in one of the staff member's calendars that Lockstep writes to; an event under an open
conflict is left alone until the conflict is settled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from domain.duplicates import (
    BlockFacts,
    BookingFacts,
    DuplicateGroup,
    ItemKind,
    ItemRef,
    WrittenEvent,
    find_duplicates,
    is_settled_duplicate,
)
from domain.intervals import Span
from domain.merging import CalendarFacts, write_refusal
from domain.titles import booking_event_title
from models import (
    Booking,
    BookingStatus,
    BusyBlock,
    BusyBlockSource,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    SyncDirection,
)

_WRITTEN = [EventMappingState.SYNCED, EventMappingState.PENDING, EventMappingState.FAILED, EventMappingState.UNLINKED]


def span_of(row: Booking | BusyBlock) -> Span:
    return Span(row.starts_at.astimezone(UTC), row.ends_at.astimezone(UTC))


def block_facts(block: BusyBlock) -> BlockFacts:
    duplicate_of = (ItemRef(ItemKind.BUSY_BLOCK, block.duplicate_of_block_id) if block.duplicate_of_block_id
                    else ItemRef(ItemKind.BOOKING, block.duplicate_of_booking_id) if block.duplicate_of_booking_id
                    else None)
    return BlockFacts(block.id, block.external_calendar_id or 0, span_of(block), block.title, block.all_day,
                      duplicate_of)


def without_settled_duplicates(blocks: list[BusyBlock], bookings: list[Booking]) -> list[BusyBlock]:
    """The blocks to show beside these confirmed bookings: none that a merge dropped as a duplicate of one of them
    or of another of the blocks while that one still takes exactly its span (domain.duplicates)."""
    spans = {ItemRef(ItemKind.BOOKING, row.id): span_of(row) for row in bookings}
    spans.update({ItemRef(ItemKind.BUSY_BLOCK, row.id): span_of(row) for row in blocks})
    return [row for row in blocks if not is_settled_duplicate(block_facts(row), spans)]


async def settled_duplicates(staff_ids: list[int], span: Span) -> list[int]:
    """The IDs of the staff's blocks overlapping `span` that a merge dropped as duplicates and that stay hidden (as
    without_settled_duplicates says), read with what they duplicate in one query."""
    dropped = await BusyBlock.filter(staff_id__in=staff_ids, ends_at__gt=span.start, starts_at__lt=span.end).filter(
        Q(duplicate_of_block_id__isnull=False) | Q(duplicate_of_booking_id__isnull=False)).select_related(
        "duplicate_of_block", "duplicate_of_booking")
    return [row.id for row in dropped if is_settled_duplicate(block_facts(row), _duplicated_spans(row))]


def _duplicated_spans(row: BusyBlock) -> dict[ItemRef, Span]:
    found: dict[ItemRef, Span] = {}
    if row.duplicate_of_block is not None:
        found[ItemRef(ItemKind.BUSY_BLOCK, row.duplicate_of_block.id)] = span_of(row.duplicate_of_block)
    booking = row.duplicate_of_booking
    if booking is not None and booking.status == BookingStatus.CONFIRMED:
        found[ItemRef(ItemKind.BOOKING, booking.id)] = span_of(booking)
    return found


def calendar_facts(calendar: ExternalCalendar) -> CalendarFacts:
    """`calendar.connection` must be loaded."""
    connection = calendar.connection
    return CalendarFacts(calendar.id, calendar.writable, connection.direction == SyncDirection.IMPORT_ONLY,
                         connection.health != ConnectionHealth.DISCONNECTED, calendar.is_destination)


@dataclass
class StaffDuplicates:
    """The rows read (by primary key), their facts, and the groups found among them. `anchors` maps each booking
    to the booking its events hang on; `conflicted` and `unlinked` each anchor to the calendars where its event has
    an open conflict, or was unlinked."""

    bookings: dict[int, Booking]
    mappings: dict[int, EventMapping]
    blocks: dict[int, BusyBlock]
    calendars: dict[int, ExternalCalendar]
    anchors: dict[int, int]
    conflicted: dict[int, set[int]] = field(default_factory=dict)
    unlinked: dict[int, set[int]] = field(default_factory=dict)
    groups: list[DuplicateGroup] = field(default_factory=list)

    def group_of(self, item: ItemRef) -> DuplicateGroup | None:
        return next((group for group in self.groups if item in group.items), None)


async def read_duplicates(staff_id: int, span: Span, db: BaseDBAsyncClient | None = None) -> StaffDuplicates:
    """Everything of the staff member's that overlaps `span`, and the duplicate groups among it."""
    bookings = {row.id: row for row in await Booking.filter(
        staff_id=staff_id, status=BookingStatus.CONFIRMED, starts_at__lt=span.end, ends_at__gt=span.start,
    ).select_related("service").using_db(db)}
    anchors = await _anchors(list(bookings.values()), db)
    missing = sorted(set(anchors.values()) - set(bookings))
    for row in await Booking.filter(id__in=missing).select_related("service").using_db(db):
        bookings[row.id] = row  # a series' first occurrence before the span: its events are the series'
    calendars = {row.id: row for row in await ExternalCalendar.filter(
        connection__staff_id=staff_id).select_related("connection").using_db(db)}
    writes = [calendar_id for calendar_id, row in calendars.items() if write_refusal(calendar_facts(row)) is None]
    mapped = await EventMapping.filter(booking_id__in=sorted(set(anchors.values())),
                                       external_calendar_id__in=sorted(calendars)).using_db(db)
    mappings = {mapping.id: mapping for mapping in mapped if mapping.external_event_id
                and mapping.state in _WRITTEN and mapping.external_calendar_id in writes}
    held: dict[EventMappingState, dict[int, set[int]]] = {EventMappingState.CONFLICT: {},
                                                          EventMappingState.UNLINKED: {}}
    for mapping in mapped:
        if mapping.state in held:
            held[mapping.state].setdefault(mapping.booking_id, set()).add(mapping.external_calendar_id)
    blocks = {row.id: row for row in await BusyBlock.filter(
        staff_id=staff_id, source=BusyBlockSource.EXTERNAL, external_calendar_id__not_isnull=True,
        starts_at__lt=span.end, ends_at__gt=span.start).using_db(db)}
    found = StaffDuplicates(bookings, mappings, blocks, calendars, anchors, held[EventMappingState.CONFLICT],
                            held[EventMappingState.UNLINKED])
    found.groups = find_duplicates(
        [_booking_facts(row, anchors[row.id]) for row_id, row in bookings.items() if row_id in anchors],
        [WrittenEvent(row.id, row.booking_id, row.external_calendar_id) for row in mappings.values()],
        [block_facts(row) for row in blocks.values()],
        frozenset(calendar_id for calendar_id, row in calendars.items() if row.is_destination))
    return found


def _booking_facts(booking: Booking, anchor: int) -> BookingFacts:
    title = booking_event_title(booking.service.name, booking.customer_name, booking.walk_in)
    return BookingFacts(booking.id, anchor, span_of(booking), title, booking.series_id is not None)


async def _anchors(bookings: list[Booking], db: BaseDBAsyncClient | None) -> dict[int, int]:
    """Each booking's anchor (itself, or its series' first occurrence), in one statement for every series."""
    series = sorted({row.series_id for row in bookings if row.series_id is not None})
    first: dict[int, tuple[int, int]] = {}
    if series:
        rows = cast(list[tuple[int, int | None, int]], await Booking.filter(series_id__in=series).using_db(
            db).values_list("series_id", "occurrence_index", "id"))
        for series_id, index, booking_id in rows:
            if series_id not in first or (index or 0, booking_id) < first[series_id]:
                first[series_id] = (index or 0, booking_id)
    return {row.id: row.id if row.series_id is None else first[row.series_id][1] for row in bookings}
