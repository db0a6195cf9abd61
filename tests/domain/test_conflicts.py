"""Conflict policies: every cell of the product table, the properties that make the table safe, and settling."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from domain.conflicts import ConflictKind, ConflictPolicy, SettleChoice, SyncResolution, decide, settle

MOVED, DELETED, OVERLAP = ConflictKind.EVENT_MOVED, ConflictKind.EVENT_DELETED, ConflictKind.BUSY_OVERLAP
ASK, PLATFORM, CALENDAR, BOTH = (ConflictPolicy.ASK, ConflictPolicy.PLATFORM_WINS, ConflictPolicy.CALENDAR_WINS,
                                 ConflictPolicy.KEEP_BOTH)
R = SyncResolution


def test_the_stored_values_are_the_ones_models_and_the_api_use() -> None:
    assert [p.value for p in ConflictPolicy] == ["ask", "platform_wins", "calendar_wins", "keep_both"]
    assert [k.value for k in ConflictKind] == ["event_moved", "event_deleted", "busy_overlap"]
    assert [c.value for c in SettleChoice] == ["keep_booking", "accept_calendar"]


@pytest.mark.parametrize("policy", list(ConflictPolicy))
def test_an_event_moved_to_a_free_time_reschedules_the_booking_whatever_the_policy(policy: ConflictPolicy) -> None:
    # given a staff member who moved a booking's event to a time the booking could take
    # when the engine decides, then the booking follows the calendar
    assert decide(MOVED, policy, new_time_free=True) == R.RESCHEDULE_BOOKING


@pytest.mark.parametrize(("kind", "policy", "expected"), [
    (MOVED, ASK, R.OPEN_CONFLICT),
    (MOVED, PLATFORM, R.RESTORE_EVENT),
    (MOVED, CALENDAR, R.OPEN_CONFLICT),  # taking the calendar's time would double-book: a person must choose
    (MOVED, BOTH, R.KEEP_BOTH),
    (DELETED, ASK, R.OPEN_CONFLICT),
    (DELETED, PLATFORM, R.RESTORE_EVENT),
    (DELETED, CALENDAR, R.CANCEL_BOOKING),
    (DELETED, BOTH, R.KEEP_BOTH),
    (OVERLAP, ASK, R.OPEN_CONFLICT),
    (OVERLAP, PLATFORM, R.KEEP_BOTH),
    (OVERLAP, CALENDAR, R.CANCEL_BOOKING),
    (OVERLAP, BOTH, R.KEEP_BOTH),
])
def test_each_cell_of_the_table(kind: ConflictKind, policy: ConflictPolicy, expected: SyncResolution) -> None:
    # given a conflict that is not "moved to a free time", when the engine decides under the policy
    # then it does what the product spec says
    assert decide(kind, policy, new_time_free=False) == expected


@pytest.mark.parametrize("kind", [DELETED, OVERLAP])
@pytest.mark.parametrize("policy", list(ConflictPolicy))
def test_a_free_time_matters_only_for_a_moved_event(kind: ConflictKind, policy: ConflictPolicy) -> None:
    assert decide(kind, policy, new_time_free=True) == decide(kind, policy, new_time_free=False)


def test_plain_stored_strings_decide_like_the_enums() -> None:
    # given the values as a database column holds them
    assert decide(ConflictKind("event_deleted"), ConflictPolicy("calendar_wins"),
                  new_time_free=False) == R.CANCEL_BOOKING


@given(kind=st.sampled_from(ConflictKind), policy=st.sampled_from(ConflictPolicy), free=st.booleans())
def test_the_table_never_reschedules_into_a_busy_time_and_never_cancels_unasked(
        kind: ConflictKind, policy: ConflictPolicy, free: bool) -> None:
    resolution = decide(kind, policy, new_time_free=free)
    if resolution == R.RESCHEDULE_BOOKING:
        assert (kind, free) == (MOVED, True)
    if resolution == R.CANCEL_BOOKING:
        assert policy == CALENDAR
    if policy == ASK:
        # asking never changes either side: the moved-to-a-free-time case is not a conflict at all
        assert resolution == (R.RESCHEDULE_BOOKING if (kind, free) == (MOVED, True) else R.OPEN_CONFLICT)


@pytest.mark.parametrize(("kind", "choice", "expected"), [
    (MOVED, SettleChoice.KEEP_BOOKING, R.RESTORE_EVENT),
    (DELETED, SettleChoice.KEEP_BOOKING, R.RESTORE_EVENT),
    (OVERLAP, SettleChoice.KEEP_BOOKING, R.KEEP_BOTH),
    (MOVED, SettleChoice.ACCEPT_CALENDAR, R.RESCHEDULE_BOOKING),
    (DELETED, SettleChoice.ACCEPT_CALENDAR, R.CANCEL_BOOKING),
    (OVERLAP, SettleChoice.ACCEPT_CALENDAR, R.CANCEL_BOOKING),
])
def test_settling_an_open_conflict(kind: ConflictKind, choice: SettleChoice, expected: SyncResolution) -> None:
    # given an open conflict, when a person chooses, then the engine does that
    assert settle(kind, choice) == expected
