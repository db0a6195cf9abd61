"""Events that are a booking's are kept out of an import plan: exact examples and the property that the plan then
neither writes nor keeps a block of theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st

from domain.busy import BusySpan
from domain.intervals import Span
from domain.sync import ImportedEvent, ImportPlan, StoredBlock, apply_plan, plan_import, without_events

T0 = datetime(2030, 1, 7, 9, tzinfo=UTC)


def span(hour: int) -> Span:
    return Span(T0 + timedelta(hours=hour), T0 + timedelta(hours=hour + 1))


def test_an_adopted_event_is_never_written_as_a_block_and_loses_one_it_had() -> None:
    stored = [StoredBlock("adopted", "k", span(0), "Cleo", False), StoredBlock("dentist", "k", span(2), "Dentist",
                                                                               False)]
    listed = [ImportedEvent("adopted", (BusySpan(span(1), "k", "Cleo", False),)),
              ImportedEvent("new", (BusySpan(span(3), "k", "Gym", False),))]
    plan = plan_import(stored, listed, [], complete=False)
    kept_out = without_events(plan, {"adopted"}, [block.key for block in stored])
    assert kept_out == ImportPlan((StoredBlock("new", "k", span(3), "Gym", False),), (("adopted", "k"),))
    assert without_events(plan, set(), [block.key for block in stored]) is plan


def test_whether_an_event_repeats_is_part_of_its_blocks() -> None:
    listed = [ImportedEvent("weekly", (BusySpan(span(0), "k", "Stand-up", False),), recurring=True)]
    (block,) = plan_import([], listed, [], complete=True).upserts
    assert block == StoredBlock("weekly", "k", span(0), "Stand-up", False, recurring=True)
    # a block stored before this was recorded is written again once, when its event is next listed
    unknown = StoredBlock("weekly", "k", span(0), "Stand-up", False, recurring=None)
    assert plan_import([unknown], listed, [], complete=True).upserts == (block,)


events = st.sampled_from(["a", "b", "c", "d"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(events, st.integers(0, 5)), max_size=6), st.lists(st.tuples(events, st.integers(0, 5)),
                                                                           max_size=6), st.sets(events))
def test_a_booking_s_event_is_no_busy_time_after_the_plan(stored_at: list[tuple[str, int]],
                                                         listed_at: list[tuple[str, int]], taken: set[str]) -> None:
    stored = list({(event, "k"): StoredBlock(event, "k", span(hour), "x", False)
                   for event, hour in stored_at}.values())
    listed = list({event: ImportedEvent(event, (BusySpan(span(hour), "k", "x", False),))
                   for event, hour in listed_at}.values())
    plan = without_events(plan_import(stored, listed, [], complete=False), taken, [block.key for block in stored])
    assert not {block.event_id for block in apply_plan(stored, plan)} & taken
