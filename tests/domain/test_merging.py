"""Settling duplicates: when an imported event may be taken over as a booking's, and what a merge does with each
item, as exact examples, and the properties of every plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings, strategies as st

from domain.duplicates import BlockFacts, DuplicateGroup, DuplicateKind, ItemKind, ItemRef, WrittenEvent
from domain.intervals import Span
from domain.merging import (
    Adoption,
    CalendarFacts,
    MergeFacts,
    MergeRefused,
    MergeStep,
    Refusal,
    StepKind,
    adoption_refusal,
    plan_merge,
    write_refusal,
)

SPAN = Span(datetime(2030, 3, 4, 9, tzinfo=UTC), datetime(2030, 3, 4, 10, tzinfo=UTC))
WORK = CalendarFacts(1, writable=True, imports_only=False, connected=True, destination=True)
HOME = CalendarFacts(2, writable=True, imports_only=False, connected=True, destination=False)
SHARED = CalendarFacts(3, writable=False, imports_only=False, connected=True, destination=False)
EVENT, BLOCK, BOOKING = ItemKind.BOOKING_EVENT, ItemKind.BUSY_BLOCK, ItemKind.BOOKING


def ref(kind: ItemKind, pk: int) -> ItemRef:
    return ItemRef(kind, pk)


def adoption(**changes: object) -> Adoption:
    return replace(Adoption(WORK, 5, 5, True, False, False, False), **changes)  # type: ignore[arg-type]


def test_an_event_in_the_destination_may_be_taken_over_by_a_confirmed_single_booking_of_its_staff_member() -> None:
    assert adoption_refusal(adoption()) is None


@pytest.mark.parametrize(("changes", "refusal"), [
    ({"calendar": None}, Refusal.BLOCKED_TIME),
    ({"booking_staff_id": 6}, Refusal.OTHER_STAFF_MEMBER),
    ({"booking_confirmed": False}, Refusal.BOOKING_NOT_CONFIRMED),
    ({"booking_in_series": True}, Refusal.RECURRING_BOOKING),
    ({"recurring": True}, Refusal.RECURRING_EVENT),
    ({"recurring": None}, Refusal.RECURRING_EVENT),
    ({"calendar": replace(WORK, connected=False)}, Refusal.DISCONNECTED),
    ({"calendar": replace(WORK, imports_only=True)}, Refusal.IMPORT_ONLY_CONNECTION),
    ({"calendar": replace(WORK, writable=False)}, Refusal.READ_ONLY_CALENDAR),
    ({"calendar": HOME}, Refusal.NOT_DESTINATION),
    ({"open_conflict": True}, Refusal.OPEN_CONFLICT),
])
def test_why_an_event_cannot_be_taken_over(changes: dict[str, object], refusal: Refusal) -> None:
    assert adoption_refusal(adoption(**changes)) == refusal


def test_lockstep_writes_only_to_writable_calendars_of_connections_that_write() -> None:
    assert [write_refusal(calendar) for calendar in (WORK, HOME, SHARED)] == [None, None, Refusal.READ_ONLY_CALENDAR]


def facts(**changes: object) -> MergeFacts:
    blocks = {40: BlockFacts(40, WORK.calendar_id, SPAN, "Cleo", False), 41: BlockFacts(41, HOME.calendar_id, SPAN,
                                                                                        "Cleo", False),
              42: BlockFacts(42, SHARED.calendar_id, SPAN, "Cleo", False)}
    base = MergeFacts(calendars={1: WORK, 2: HOME, 3: SHARED}, blocks=blocks, recurring={40: False, 41: False,
                                                                                          42: False},
                      events={30: WrittenEvent(30, 7, WORK.calendar_id), 31: WrittenEvent(31, 7, HOME.calendar_id)},
                      staff_id=5)
    return replace(base, **changes)  # type: ignore[arg-type]


BOOKING_GROUP = DuplicateGroup(DuplicateKind.BOOKING_WRITTEN_TWICE,
                               (ref(EVENT, 30), ref(EVENT, 31), ref(BLOCK, 40), ref(BLOCK, 41), ref(BLOCK, 42)),
                               ref(EVENT, 30), 7)


def test_keeping_the_destination_event_deletes_the_other_copies_and_drops_what_lockstep_may_not_delete() -> None:
    steps = plan_merge(BOOKING_GROUP, ref(EVENT, 30), [ref(EVENT, 31), ref(BLOCK, 40), ref(BLOCK, 41), ref(BLOCK, 42)],
                       facts())
    assert steps == [MergeStep(StepKind.DELETE_WRITTEN_EVENT, ref(EVENT, 31), 2),
                     MergeStep(StepKind.DELETE_IMPORTED_EVENT, ref(BLOCK, 40), 1),
                     MergeStep(StepKind.DELETE_IMPORTED_EVENT, ref(BLOCK, 41), 2),
                     MergeStep(StepKind.DROP_BLOCK, ref(BLOCK, 42), 3, ref(BOOKING, 7))]


def test_a_repeating_event_or_one_behind_a_held_event_is_dropped_not_deleted() -> None:
    assert plan_merge(BOOKING_GROUP, ref(EVENT, 30), [ref(BLOCK, 41)], facts(recurring={41: True})) == [
        MergeStep(StepKind.DROP_BLOCK, ref(BLOCK, 41), 2, ref(BOOKING, 7))]
    assert plan_merge(BOOKING_GROUP, ref(EVENT, 30), [ref(BLOCK, 41)], facts(unlinked=frozenset({2}))) == [
        MergeStep(StepKind.DROP_BLOCK, ref(BLOCK, 41), 2, ref(BOOKING, 7))]


def test_keeping_an_imported_event_takes_it_over_and_replaces_the_booking_s_event_in_that_calendar() -> None:
    steps = plan_merge(BOOKING_GROUP, ref(BLOCK, 40), [ref(EVENT, 30), ref(EVENT, 31)], facts())
    assert steps == [MergeStep(StepKind.ADOPT_EVENT, ref(BLOCK, 40), 1),
                     MergeStep(StepKind.DELETE_WRITTEN_EVENT, ref(EVENT, 31), 2)]


def test_refusals_name_the_item() -> None:
    cases = [
        (ref(EVENT, 31), [ref(EVENT, 30)], Refusal.DESTINATION_EVENT, 0),
        (ref(EVENT, 30), [ref(BLOCK, 41), ref(BOOKING, 7)], Refusal.BOOKING_ITEM, 1),
        (ref(BLOCK, 41), [ref(EVENT, 31)], Refusal.NOT_DESTINATION, None),
        (ref(BLOCK, 42), [ref(EVENT, 31)], Refusal.READ_ONLY_CALENDAR, None),
    ]
    for keep, remove, reason, index in cases:
        with pytest.raises(MergeRefused) as refused:
            plan_merge(BOOKING_GROUP, keep, remove, facts())
        assert (refused.value.reason, refused.value.index) == (reason, index)
    with pytest.raises(MergeRefused) as refused:
        plan_merge(BOOKING_GROUP, ref(BLOCK, 40), [ref(EVENT, 31)], facts(booking_in_series=True))
    assert refused.value.reason == Refusal.RECURRING_BOOKING


def test_the_same_personal_event_is_dropped_as_a_duplicate_of_the_one_kept_and_never_deleted() -> None:
    group = DuplicateGroup(DuplicateKind.SAME_EVENT_IN_TWO_CALENDARS, (ref(BLOCK, 40), ref(BLOCK, 41)),
                           ref(BLOCK, 40))
    assert plan_merge(group, ref(BLOCK, 41), [ref(BLOCK, 40)], facts()) == [
        MergeStep(StepKind.DROP_BLOCK, ref(BLOCK, 40), 1, ref(BLOCK, 41))]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BOOKING_GROUP.items), st.lists(st.sampled_from(BOOKING_GROUP.items), unique=True, min_size=1),
       st.fixed_dictionaries({40: st.sampled_from([False, True, None]), 41: st.sampled_from([False, True, None]),
                              42: st.sampled_from([False, True, None])}))
def test_a_plan_settles_only_what_was_named_and_deletes_nothing_lockstep_may_not(
        keep: ItemRef, remove: list[ItemRef], recurring: dict[int, bool | None]) -> None:
    remove = [item for item in remove if item != keep] or [ref(BOOKING, 7)]
    given_facts = facts(recurring=recurring)
    try:
        steps = plan_merge(BOOKING_GROUP, keep, remove, given_facts)
    except MergeRefused as refused:
        assert refused.index is None or 0 <= refused.index < len(remove)
        return
    assert {step.item for step in steps} <= {keep, *remove}
    assert ref(BOOKING, 7) not in remove
    for step in steps:
        if step.kind in (StepKind.DELETE_IMPORTED_EVENT, StepKind.ADOPT_EVENT):
            assert recurring[step.item.pk] is False
            assert write_refusal(given_facts.calendars[step.calendar_id]) is None
        if step.kind == StepKind.DELETE_WRITTEN_EVENT:
            assert not given_facts.calendars[step.calendar_id].destination
