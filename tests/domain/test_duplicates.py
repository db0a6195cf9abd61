"""Finding likely duplicates: an exact example of each kind, what is never a duplicate, and the properties of the
groups (each item at most once, never with itself, only items that take the same time, whatever the input order)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st

from domain.duplicates import (
    BlockFacts,
    BookingFacts,
    DuplicateGroup,
    DuplicateKind,
    ItemKind,
    ItemRef,
    WrittenEvent,
    find_duplicates,
    same_event,
)
from domain.intervals import Span

T0 = datetime(2030, 3, 4, 9, tzinfo=UTC)
TITLE = "Boiler check – Cleo Customer"
WORK, HOME, FAMILY = 1, 2, 3  # calendar ids; WORK is the destination


def at(hour: int, hours: int = 1) -> Span:
    return Span(T0 + timedelta(hours=hour), T0 + timedelta(hours=hour + hours))


def booking(booking_id: int, hour: int = 0, *, anchor: int | None = None, title: str = TITLE) -> BookingFacts:
    return BookingFacts(booking_id, anchor or booking_id, at(hour), title, anchor is not None)


def block(block_id: int, calendar: int, hour: int = 0, title: str = "Boiler check Cleo", *, all_day: bool = False,
          duplicate_of: ItemRef | None = None) -> BlockFacts:
    return BlockFacts(block_id, calendar, at(hour), title, all_day, duplicate_of)


def ref(kind: ItemKind, pk: int) -> ItemRef:
    return ItemRef(kind, pk)


EVENT, BLOCK, BOOKING = ItemKind.BOOKING_EVENT, ItemKind.BUSY_BLOCK, ItemKind.BOOKING


def test_a_booking_written_by_two_connections_is_one_group_keeping_the_destination_event() -> None:
    groups = find_duplicates([booking(7)], [WrittenEvent(30, 7, HOME), WrittenEvent(31, 7, WORK)], [],
                             frozenset({WORK}))
    assert groups == [DuplicateGroup(DuplicateKind.BOOKING_WRITTEN_TWICE, (ref(EVENT, 30), ref(EVENT, 31)),
                                     ref(EVENT, 31), 7)]


def test_an_event_copied_by_hand_keeps_lockstep_s_title_and_counts_as_a_second_copy() -> None:
    copy = block(40, WORK, title="boiler check - cleo customer")
    groups = find_duplicates([booking(7)], [WrittenEvent(31, 7, WORK)], [copy], frozenset({WORK}))
    assert groups == [DuplicateGroup(DuplicateKind.BOOKING_WRITTEN_TWICE, (ref(EVENT, 31), ref(BLOCK, 40)),
                                     ref(EVENT, 31), 7)]


def test_a_block_with_a_similar_title_at_the_booking_s_exact_time_mirrors_it() -> None:
    mirror = block(40, HOME, title="Cleo")
    groups = find_duplicates([booking(7)], [WrittenEvent(31, 7, WORK)], [mirror], frozenset({WORK}))
    assert groups == [DuplicateGroup(DuplicateKind.BLOCK_MIRRORS_BOOKING, (ref(EVENT, 31), ref(BLOCK, 40)),
                                     ref(EVENT, 31), 7)]


def test_a_booking_with_no_event_is_itself_the_item_to_keep() -> None:
    groups = find_duplicates([booking(7)], [], [block(40, HOME)])
    assert groups == [DuplicateGroup(DuplicateKind.BLOCK_MIRRORS_BOOKING, (ref(BOOKING, 7), ref(BLOCK, 40)),
                                     ref(BOOKING, 7), 7)]


def test_the_same_personal_event_in_two_calendars_keeps_the_one_imported_first() -> None:
    dentist = [block(52, HOME, 3, "Dentist"), block(50, FAMILY, 3, "dentist!"), block(51, WORK, 5, "Dentist")]
    groups = find_duplicates([], [], dentist)
    assert groups == [DuplicateGroup(DuplicateKind.SAME_EVENT_IN_TWO_CALENDARS, (ref(BLOCK, 50), ref(BLOCK, 52)),
                                     ref(BLOCK, 50))]


def test_a_series_written_twice_is_one_group_of_its_events_and_its_occurrences_mirrors_are_theirs() -> None:
    occurrences = [booking(7, 0, anchor=7), booking(8, 24 * 7, anchor=7)]
    events = [WrittenEvent(31, 7, WORK), WrittenEvent(32, 7, HOME)]
    mirror = BlockFacts(40, HOME, at(24 * 7), "Boiler check", False)
    groups = find_duplicates(occurrences, events, [mirror], frozenset({WORK}))
    assert groups == [
        DuplicateGroup(DuplicateKind.BOOKING_WRITTEN_TWICE, (ref(EVENT, 31), ref(EVENT, 32)), ref(EVENT, 31), 7),
        DuplicateGroup(DuplicateKind.BLOCK_MIRRORS_BOOKING, (ref(BOOKING, 8), ref(BLOCK, 40)), ref(BOOKING, 8), 8)]


def test_what_is_never_a_duplicate() -> None:
    bookings = [booking(7)]
    events = [WrittenEvent(31, 7, WORK)]
    blocks = [
        block(40, HOME, 0, "Dentist"),  # the booking's time, another title
        BlockFacts(41, HOME, Span(at(0).start, at(0).end + timedelta(minutes=15)), TITLE, False),  # another end
        block(42, HOME, 0, TITLE, all_day=True),  # an all-day event
        block(43, HOME, 2, "Lunch"), block(44, HOME, 2, "Lunch"),  # the same time twice, but in one calendar
        block(45, HOME, 4, ""), block(46, FAMILY, 4, ""),  # no title tells untitled events apart
        block(47, HOME, 6, "Gym"), block(48, FAMILY, 6, "Gym", all_day=True),
    ]
    assert find_duplicates(bookings, events, blocks, frozenset({WORK})) == []


def test_a_dropped_duplicate_is_settled_while_what_it_duplicates_keeps_its_time() -> None:
    kept, dropped = block(50, HOME, 3, "Dentist"), block(51, FAMILY, 3, "Dentist", duplicate_of=ref(BLOCK, 50))
    assert find_duplicates([], [], [kept, dropped]) == []
    # once the one kept moves, the two are different events and the other counts again
    moved = block(50, HOME, 4, "Dentist")
    assert find_duplicates([], [], [moved, dropped]) == []
    third = block(52, WORK, 3, "Dentist")
    assert [group.items for group in find_duplicates([], [], [moved, dropped, third])] == [
        (ref(BLOCK, 51), ref(BLOCK, 52))]
    mirror = block(40, HOME, duplicate_of=ref(BOOKING, 7))
    assert find_duplicates([booking(7)], [], [mirror]) == []


titles = st.sampled_from(["Dentist", "dentist", "Boiler check", TITLE, "Cleo", "Gym", ""])
hours = st.integers(min_value=0, max_value=3)
block_facts = st.builds(lambda block_id, calendar, hour, length, title, all_day: BlockFacts(
    block_id, calendar, at(hour, length), title, all_day), st.integers(1, 40), st.integers(1, 3), hours,
    st.integers(1, 2), titles, st.booleans())


@st.composite
def schedules(draw: st.DrawFn) -> tuple[list[BookingFacts], list[WrittenEvent], list[BlockFacts]]:
    # Confirmed bookings of one staff member never overlap: at most one per hour, an hour long.
    booked = draw(st.lists(hours, unique=True, max_size=3))
    bookings = [booking(100 + hour, hour, title=draw(titles) or TITLE) for hour in booked]
    events = [WrittenEvent(200 + index, item.booking_id, calendar) for index, (item, calendar) in enumerate(
        (item, calendar) for item in bookings for calendar in draw(st.lists(st.integers(1, 3), unique=True,
                                                                            max_size=2)))]
    blocks = draw(st.lists(block_facts, unique_by=lambda item: item.block_id, max_size=10))
    return bookings, events, blocks


def _spans(bookings: list[BookingFacts], events: list[WrittenEvent], blocks: list[BlockFacts]) -> dict[ItemRef, Span]:
    spans = {ref(BOOKING, item.booking_id): item.span for item in bookings}
    spans.update({ref(BLOCK, item.block_id): item.span for item in blocks})
    by_booking = {item.booking_id: item.span for item in bookings}
    spans.update({ref(EVENT, item.mapping_id): by_booking[item.anchor_id] for item in events})
    return spans


@settings(max_examples=300, deadline=None)
@given(schedules(), st.randoms(use_true_random=False))
def test_groups_hold_distinct_items_that_take_the_same_time_whatever_the_input_order(
        schedule: tuple[list[BookingFacts], list[WrittenEvent], list[BlockFacts]], shuffle: object) -> None:
    bookings, events, blocks = schedule
    groups = find_duplicates(bookings, events, blocks, frozenset({1}))
    items = [item for group in groups for item in group.items]
    assert len(items) == len(set(items))  # no item twice, so never paired with itself
    spans = _spans(bookings, events, blocks)
    for group in groups:
        assert len(group.items) >= 2 and group.suggested_keep in group.items
        assert len({spans[item] for item in group.items}) == 1  # nothing that does not take the same time
    reordered = (list(bookings), list(events), list(blocks))
    for part in reordered:
        shuffle.shuffle(part)  # type: ignore[attr-defined]
    assert find_duplicates(reordered[0], reordered[1], reordered[2], frozenset({1})) == groups


@settings(max_examples=300, deadline=None)
@given(block_facts, block_facts)
def test_being_the_same_event_is_symmetric_and_never_holds_within_one_calendar(first: BlockFacts,
                                                                              second: BlockFacts) -> None:
    assert same_event(first, second) == same_event(second, first)
    assert not same_event(first, first)
    if same_event(first, second):
        assert first.span == second.span and first.calendar_id != second.calendar_id


@settings(max_examples=200, deadline=None)
@given(st.lists(block_facts, unique_by=lambda item: item.block_id, max_size=8))
def test_blocks_that_do_not_overlap_are_never_grouped(blocks: list[BlockFacts]) -> None:
    for group in find_duplicates([], [], blocks):
        spans = [next(item.span for item in blocks if item.block_id == member.pk) for member in group.items]
        assert all(span.start < other.end and other.start < span.end for span in spans for other in spans)
