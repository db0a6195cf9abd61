"""The journal's statuses and their colours: worked examples and the rules as properties."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from domain.journal import EventStatus, block_status, booking_status, status_colour, wanted_statuses

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("status", "colour"), [
    (EventStatus.CONFIRMED, "#2563eb"),
    (EventStatus.TENTATIVE, "#eab308"),
    (EventStatus.PENDING, "#eab308"),
    (EventStatus.CANCELLED, "#dc2626"),
    (EventStatus.COMPLETED, "#16a34a"),
])
def test_each_status_has_the_colour_of_the_scheme(status: EventStatus, colour: str) -> None:
    assert status_colour(status) == colour


@pytest.mark.parametrize(("cancelled", "ends_at", "moving", "status"), [
    (False, NOW + timedelta(minutes=1), False, EventStatus.CONFIRMED),
    (False, NOW + timedelta(minutes=1), True, EventStatus.PENDING),
    (False, NOW, False, EventStatus.COMPLETED),  # it ended exactly now
    (False, NOW - timedelta(days=3), True, EventStatus.COMPLETED),
    (True, NOW + timedelta(days=1), False, EventStatus.CANCELLED),
    (True, NOW - timedelta(days=1), True, EventStatus.CANCELLED),
])
def test_a_booking_is_confirmed_until_it_ends_then_completed_and_cancelled_wins(
    cancelled: bool, ends_at: datetime, moving: bool, status: EventStatus,
) -> None:
    assert booking_status(cancelled=cancelled, ends_at=ends_at, now=NOW, moving=moving) == status


@pytest.mark.parametrize(("tentative", "moving", "status"), [
    (False, False, EventStatus.CONFIRMED),
    (True, False, EventStatus.TENTATIVE),
    (False, True, EventStatus.PENDING),
    (True, True, EventStatus.PENDING),
])
def test_a_block_is_confirmed_tentative_or_pending(tentative: bool, moving: bool, status: EventStatus) -> None:
    assert block_status(tentative=tentative, moving=moving) == status


@given(st.booleans(), st.integers(-10_000, 10_000), st.booleans())
def test_a_booking_is_yellow_only_while_it_is_moving_and_green_only_once_it_ended(
    cancelled: bool, minutes_left: int, moving: bool,
) -> None:
    ends_at = NOW + timedelta(minutes=minutes_left)
    colour = status_colour(booking_status(cancelled=cancelled, ends_at=ends_at, now=NOW, moving=moving))
    assert (colour == "#eab308") == (moving and not cancelled and ends_at > NOW)
    assert (colour == "#16a34a") == (not cancelled and ends_at <= NOW)
    assert (colour == "#dc2626") == cancelled


@given(st.booleans(), st.booleans())
def test_a_block_is_never_cancelled_nor_completed(tentative: bool, moving: bool) -> None:
    assert block_status(tentative=tentative, moving=moving) not in (EventStatus.CANCELLED, EventStatus.COMPLETED)


def test_a_filter_leaves_out_cancelled_entries_unless_it_lists_them_or_includes_them() -> None:
    everything_open = {EventStatus.CONFIRMED, EventStatus.TENTATIVE, EventStatus.PENDING, EventStatus.COMPLETED}
    assert wanted_statuses(None, False) == everything_open
    assert wanted_statuses(None, True) == set(EventStatus)
    assert wanted_statuses([EventStatus.CANCELLED], False) == {EventStatus.CANCELLED}
    assert wanted_statuses([EventStatus.TENTATIVE, EventStatus.TENTATIVE], True) == {EventStatus.TENTATIVE,
                                                                                    EventStatus.CANCELLED}
    assert wanted_statuses([], False) == set()
