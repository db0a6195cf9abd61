"""Finding likely duplicates among a staff member's bookings, the events Lockstep wrote for them, and the busy blocks
imported from their calendars.

Terms:
- *item*: what a group holds and what a merge keeps or removes: a BOOKING_EVENT (the event Lockstep wrote for a
  booking in one calendar: an event mapping), a BUSY_BLOCK (an imported event's occurrence), or the BOOKING itself
  (only in a group where the booking has no event at all, so that it can be kept).
- *mirror*: a block that takes exactly a confirmed booking's span (same start, same end, not all-day) and whose
  title is similar to the title Lockstep writes for the booking (domain.titles).
- *copy of the booking*: an event of the booking Lockstep wrote, or a mirror with exactly the title Lockstep writes
  (an event copied by hand keeps it).
- *the same event*: two blocks of different calendars with the same span, both all-day or both not, and similar
  titles.
- *settled duplicate*: a block a merge dropped as a duplicate of another block or of a booking, while that one still
  takes exactly its span. It is not shown and never found again; once they differ it is an event like any other.

Groups (each item is in at most one):
- BOOKING_WRITTEN_TWICE: a booking with two copies or more (two connections wrote it; an event was copied by hand),
  with its mirrors; for a recurring series, its events (one per calendar) form the group.
- BLOCK_MIRRORS_BOOKING: a booking with mirrors but fewer than two copies.
- SAME_EVENT_IN_TWO_CALENDARS: blocks linked by being the same event, none of them a mirror.
The suggested keep is the booking's event in its destination calendar, else another of its events, else the
booking; for the same event, the block imported first (lowest id).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.intervals import Span
from domain.titles import same_title, similar_titles


class ItemKind(StrEnum):
    BOOKING = "booking"
    BOOKING_EVENT = "booking_event"
    BUSY_BLOCK = "busy_block"


class DuplicateKind(StrEnum):
    BOOKING_WRITTEN_TWICE = "booking_written_twice"
    BLOCK_MIRRORS_BOOKING = "block_mirrors_booking"
    SAME_EVENT_IN_TWO_CALENDARS = "same_event_in_two_calendars"


@dataclass(frozen=True, order=True)
class ItemRef:
    kind: ItemKind
    pk: int


@dataclass(frozen=True)
class BookingFacts:
    """A confirmed booking. `anchor_id` is the booking its events hang on (itself, or its series' first
    occurrence: a series has one event per calendar); `title` is what Lockstep writes as its event's title."""

    booking_id: int
    anchor_id: int
    span: Span
    title: str
    in_series: bool = False


@dataclass(frozen=True)
class WrittenEvent:
    """An event Lockstep wrote (or took over) for the booking `anchor_id` in one calendar."""

    mapping_id: int
    anchor_id: int
    calendar_id: int


@dataclass(frozen=True)
class BlockFacts:
    """An imported block. `duplicate_of`: the item a merge dropped it as a duplicate of, if any."""

    block_id: int
    calendar_id: int
    span: Span
    title: str
    all_day: bool
    duplicate_of: ItemRef | None = None


@dataclass(frozen=True)
class DuplicateGroup:
    """`items` sorted; `booking_id` is the booking a booking group is about (None for the same event)."""

    kind: DuplicateKind
    items: tuple[ItemRef, ...]
    suggested_keep: ItemRef
    booking_id: int | None = None


def is_mirror(block: BlockFacts, booking: BookingFacts) -> bool:
    return not block.all_day and block.span == booking.span and similar_titles(block.title, booking.title)


def same_event(first: BlockFacts, second: BlockFacts) -> bool:
    return (first.calendar_id != second.calendar_id and first.span == second.span
            and first.all_day == second.all_day and similar_titles(first.title, second.title))


def is_settled_duplicate(block: BlockFacts, spans: Mapping[ItemRef, Span]) -> bool:
    """`spans`: the span of every confirmed booking (as BOOKING items) and block (as BUSY_BLOCK items) known."""
    return block.duplicate_of is not None and spans.get(block.duplicate_of) == block.span


def find_duplicates(bookings: Iterable[BookingFacts], events: Iterable[WrittenEvent], blocks: Iterable[BlockFacts],
                    destinations: frozenset[int] = frozenset()) -> list[DuplicateGroup]:
    """Every group of likely duplicates (see the module's terms), sorted by kind and items. `destinations` are the
    calendars bookings are written to. The answer does not depend on the order of the inputs."""
    bookings = sorted(bookings, key=lambda booking: booking.booking_id)
    blocks = sorted(blocks, key=lambda block: block.block_id)
    spans = {ItemRef(ItemKind.BOOKING, b.booking_id): b.span for b in bookings}
    spans.update({ItemRef(ItemKind.BUSY_BLOCK, b.block_id): b.span for b in blocks})
    live = [block for block in blocks if not is_settled_duplicate(block, spans)]
    by_span: dict[Span, list[BlockFacts]] = defaultdict(list)
    for block in live:
        by_span[block.span].append(block)
    events_of: dict[int, list[WrittenEvent]] = defaultdict(list)
    for event in sorted(events, key=lambda event: event.mapping_id):
        events_of[event.anchor_id].append(event)
    groups: list[DuplicateGroup] = []
    taken: set[int] = set()
    for booking in bookings:
        mirrors = [block for block in by_span.get(booking.span, ())
                   if block.block_id not in taken and is_mirror(block, booking)]
        taken.update(block.block_id for block in mirrors)
        group = _booking_group(booking, [] if booking.in_series else events_of[booking.booking_id], mirrors,
                               destinations)
        if group is not None:
            groups.append(group)
    for anchor in sorted({booking.anchor_id for booking in bookings if booking.in_series}):
        if len(events_of[anchor]) >= 2:
            groups.append(_written_twice(anchor, events_of[anchor], [], destinations))
    groups.extend(_same_events([block for block in live if block.block_id not in taken]))
    return sorted(groups, key=lambda group: (list(DuplicateKind).index(group.kind), group.items))


def _booking_group(booking: BookingFacts, events: Sequence[WrittenEvent], mirrors: Sequence[BlockFacts],
                   destinations: frozenset[int]) -> DuplicateGroup | None:
    copies = len(events) + sum(same_title(block.title, booking.title) for block in mirrors)
    if copies >= 2 and events:
        return _written_twice(booking.booking_id, events, mirrors, destinations)
    if not mirrors:
        return None
    keep = _preferred(events, destinations) or ItemRef(ItemKind.BOOKING, booking.booking_id)
    items = [*(_event_ref(event) for event in events), *(_block_ref(block) for block in mirrors)]
    if not events:
        items.append(ItemRef(ItemKind.BOOKING, booking.booking_id))
    kind = DuplicateKind.BOOKING_WRITTEN_TWICE if copies >= 2 else DuplicateKind.BLOCK_MIRRORS_BOOKING
    return DuplicateGroup(kind, tuple(sorted(items)), keep, booking.booking_id)


def _written_twice(booking_id: int, events: Sequence[WrittenEvent], mirrors: Sequence[BlockFacts],
                   destinations: frozenset[int]) -> DuplicateGroup:
    items = sorted([*(_event_ref(event) for event in events), *(_block_ref(block) for block in mirrors)])
    keep = _preferred(events, destinations)
    assert keep is not None
    return DuplicateGroup(DuplicateKind.BOOKING_WRITTEN_TWICE, tuple(items), keep, booking_id)


def _preferred(events: Sequence[WrittenEvent], destinations: frozenset[int]) -> ItemRef | None:
    if not events:
        return None
    best = min(events, key=lambda event: (event.calendar_id not in destinations, event.mapping_id))
    return _event_ref(best)


def _same_events(blocks: Sequence[BlockFacts]) -> list[DuplicateGroup]:
    """Blocks joined by being the same event, as connected groups (a union-find over pairs of equal span)."""
    parent = {block.block_id: block.block_id for block in blocks}

    def root(block_id: int) -> int:
        while parent[block_id] != block_id:
            parent[block_id] = parent[parent[block_id]]
            block_id = parent[block_id]
        return block_id

    by_span: dict[tuple[Span, bool], list[BlockFacts]] = defaultdict(list)
    for block in blocks:
        by_span[(block.span, block.all_day)].append(block)
    for bucket in by_span.values():
        for index, first in enumerate(bucket):
            for second in bucket[index + 1:]:
                if same_event(first, second):
                    low, high = sorted((root(first.block_id), root(second.block_id)))
                    parent[high] = low
    members: dict[int, list[int]] = defaultdict(list)
    for block in blocks:
        members[root(block.block_id)].append(block.block_id)
    return [DuplicateGroup(DuplicateKind.SAME_EVENT_IN_TWO_CALENDARS,
                           tuple(ItemRef(ItemKind.BUSY_BLOCK, block_id) for block_id in sorted(ids)),
                           ItemRef(ItemKind.BUSY_BLOCK, min(ids)))
            for ids in members.values() if len(ids) >= 2]


def _event_ref(event: WrittenEvent) -> ItemRef:
    return ItemRef(ItemKind.BOOKING_EVENT, event.mapping_id)


def _block_ref(block: BlockFacts) -> ItemRef:
    return ItemRef(ItemKind.BUSY_BLOCK, block.block_id)
