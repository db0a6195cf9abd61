"""Import plans: exact examples and the properties that make a sync safe to repeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st

from domain.busy import BusySpan
from domain.intervals import Span
from domain.sync import (
    EMPTY_CONFIRMED_AFTER,
    SUSPICIOUS_EMPTY_AFTER,
    BookingSnapshot,
    ImportedEvent,
    PushAction,
    StoredBlock,
    WrittenSnapshot,
    apply_plan,
    event_marker,
    plan_import,
    plan_push,
)

T0 = datetime(2030, 1, 7, 9, tzinfo=UTC)


def busy(key: str, hour: int, title: str = "Dentist") -> BusySpan:
    start = T0 + timedelta(hours=hour)
    return BusySpan(Span(start, start + timedelta(hours=1)), key, title, False)


def stored(event_id: str, key: str, hour: int, title: str = "Dentist") -> StoredBlock:
    span = busy(key, hour, title)
    return StoredBlock(event_id, key, span.span, title, False)


def test_a_moved_occurrence_is_rewritten_and_a_vanished_one_deleted() -> None:
    before = [stored("e1", "a", 0), stored("e1", "b", 24)]
    plan = plan_import(before, [ImportedEvent("e1", (busy("a", 2),))], [], complete=False)
    assert plan.upserts == (stored("e1", "a", 2),)
    assert plan.deletes == (("e1", "b"),)


def test_unchanged_blocks_are_not_rewritten() -> None:
    before = [stored("e1", "a", 0)]
    assert plan_import(before, [ImportedEvent("e1", (busy("a", 0),))], [], complete=False).empty


def test_an_incremental_fetch_leaves_unlisted_events_alone_and_a_complete_one_removes_them() -> None:
    before = [stored("e1", "a", 0), stored("e2", "a", 5)]
    listed = [ImportedEvent("e1", (busy("a", 0),))]
    assert plan_import(before, listed, [], complete=False).empty
    assert plan_import(before, listed, [], complete=True).deletes == (("e2", "a"),)


def test_deleted_events_lose_all_their_blocks() -> None:
    before = [stored("e1", "a", 0), stored("e1", "b", 24), stored("e2", "a", 5)]
    assert plan_import(before, [], ["e1"], complete=False).deletes == (("e1", "a"), ("e1", "b"))


def test_an_empty_complete_listing_from_a_busy_calendar_is_suspicious_and_deletes_nothing() -> None:
    before = [stored(f"e{n}", "a", n) for n in range(SUSPICIOUS_EMPTY_AFTER)]
    plan = plan_import(before, [], [], complete=True)
    assert (plan.suspicious, plan.upserts, plan.deletes) == (True, (), ())
    # a calendar that had few events may really be empty now
    few = before[: SUSPICIOUS_EMPTY_AFTER - 1]
    assert len(plan_import(few, [], [], complete=True).deletes) == SUSPICIOUS_EMPTY_AFTER - 1


def test_an_empty_calendar_is_believed_once_enough_listings_in_a_row_agree() -> None:
    # given a busy calendar that has listed empty EMPTY_CONFIRMED_AFTER - 2 times already
    before = [stored(f"e{n}", "a", n) for n in range(SUSPICIOUS_EMPTY_AFTER)]
    still_doubted = plan_import(before, [], [], complete=True, empty_listings_before=EMPTY_CONFIRMED_AFTER - 2)
    assert (still_doubted.suspicious, still_doubted.deletes) == (True, ())
    # when the next complete listing is empty too
    believed = plan_import(before, [], [], complete=True, empty_listings_before=EMPTY_CONFIRMED_AFTER - 1)
    # then every block goes
    assert (believed.suspicious, believed.deletes) == (False, tuple(block.key for block in before))


events = st.lists(
    st.builds(lambda event, keys: ImportedEvent(f"e{event}", tuple(busy(f"k{k}", k) for k in sorted(set(keys)))),
              st.integers(0, 6), st.lists(st.integers(0, 5), max_size=4)),
    max_size=6, unique_by=lambda e: e.event_id)
stored_blocks = st.lists(st.builds(lambda e, k, h: stored(f"e{e}", f"k{k}", h), st.integers(0, 6),
                                   st.integers(0, 5), st.integers(0, 5)),
                         max_size=12, unique_by=lambda b: b.key)


@settings(max_examples=300, deadline=None)
@given(before=stored_blocks, changed=events, deleted=st.lists(st.sampled_from([f"e{n}" for n in range(7)])),
       complete=st.booleans())
def test_planning_again_after_applying_changes_nothing(before: list[StoredBlock], changed: list[ImportedEvent],
                                                        deleted: list[str], complete: bool) -> None:
    deleted = [d for d in deleted if d not in {e.event_id for e in changed}]
    after = apply_plan(before, plan_import(before, changed, deleted, complete=complete))
    again = plan_import(after, changed, deleted, complete=complete)
    assert again.empty or again.suspicious


@settings(max_examples=300, deadline=None)
@given(before=stored_blocks, changed=events, complete=st.booleans())
def test_after_applying_each_listed_event_has_exactly_its_new_blocks(before: list[StoredBlock],
                                                                     changed: list[ImportedEvent],
                                                                     complete: bool) -> None:
    plan = plan_import(before, changed, [], complete=complete)
    if plan.suspicious:
        return
    after = apply_plan(before, plan)
    for event in changed:
        assert {b.occurrence_key for b in after if b.event_id == event.event_id} == {
            s.occurrence_key for s in event.spans}
    if complete:
        assert {b.event_id for b in after} <= {e.event_id for e in changed}


def test_push_creates_updates_deletes_and_then_does_nothing() -> None:
    fresh = BookingSnapshot(7, version=1, confirmed=True)
    assert plan_push(fresh, None) == PushAction.CREATE
    assert plan_push(fresh, WrittenSnapshot("", 0)) == PushAction.CREATE
    assert plan_push(fresh, WrittenSnapshot("evt", 1)) == PushAction.NOTHING
    moved = BookingSnapshot(7, version=2, confirmed=True)
    assert plan_push(moved, WrittenSnapshot("evt", 1)) == PushAction.UPDATE
    cancelled = BookingSnapshot(7, version=3, confirmed=False)
    assert plan_push(cancelled, WrittenSnapshot("evt", 2)) == PushAction.DELETE
    assert plan_push(cancelled, None) == PushAction.NOTHING
    assert event_marker(7) == "booking-7@lockstep"


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.one_of(st.booleans(), st.none()), min_size=1, max_size=20))
def test_push_jobs_interleaved_with_changes_converge_to_the_final_booking(steps: list[bool | None]) -> None:
    # given a booking that changes (True: confirmed, False: cancelled) while push jobs run in between (None),
    # each job reloading the booking as it is when the job runs
    booking = BookingSnapshot(1, version=1, confirmed=True)
    written: WrittenSnapshot | None = None

    def run_job() -> None:
        nonlocal written
        action = plan_push(booking, written)
        if action in (PushAction.CREATE, PushAction.UPDATE):
            written = WrittenSnapshot("evt", booking.version)
        elif action == PushAction.DELETE:
            written = None

    for step in steps:
        if step is None:
            run_job()
        else:
            booking = BookingSnapshot(1, booking.version + 1, confirmed=step)
    # when the last change's job finally runs (late), twice
    run_job()
    run_job()
    # then the calendar holds exactly the final booking, and a further job does nothing
    assert (written is not None) == booking.confirmed
    assert written is None or written.version_written == booking.version
    assert plan_push(booking, written) == PushAction.NOTHING
