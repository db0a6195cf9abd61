"""What a delivered bookingChanged shows: the bookings read once per event for all of its subscribers, afresh for
every later event (even an equal one), and a failed read is not kept."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from models import Booking, BookingStatus
from services import live, live_access
from tests.support.sync import book, given_connected_staff

START = datetime(2030, 1, 8, 9, tzinfo=UTC)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[live.BookingsChanged]:
    """The events whose bookings were read from the database, one entry per read."""
    counted: list[live.BookingsChanged] = []
    read = live_access._read_bookings

    async def counting(event: live.BookingsChanged) -> Sequence[Booking]:
        counted.append(event)
        return await read(event)

    monkeypatch.setattr(live_access, "_read_bookings", counting)
    return counted


async def test_subscribers_of_one_event_share_one_read_and_the_next_event_reads_again(
        db: str, reads: list[live.BookingsChanged]) -> None:
    given = await given_connected_staff()
    (booking,) = await book(given, START, START - timedelta(days=1))

    def created() -> live.BookingsChanged:
        return live.BookingsChanged("created", given.staff.business_id, (given.staff.id,), (booking.id,))

    # when fifty subscribers are handed one event at once
    event = created()
    seen = await asyncio.gather(*(live_access.changed_bookings(event) for _ in range(50)))
    # then the bookings were read once, and every subscriber sees them
    assert len(reads) == 1
    assert all([row.id for row in rows] == [booking.id] for rows in seen)
    # when the booking changes and an equal event (another object) arrives, it is read again and shows the change
    await Booking.filter(id=booking.id).update(status=BookingStatus.CANCELLED)
    (row,) = await live_access.changed_bookings(created())
    assert len(reads) == 2
    assert row.status == BookingStatus.CANCELLED


async def test_a_failed_read_is_tried_again_by_the_next_subscriber(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = 0

    async def flaky(event: live.BookingsChanged) -> Sequence[Booking]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("database went away")
        return ()

    monkeypatch.setattr(live_access, "_read_bookings", flaky)
    event = live.BookingsChanged("created", 1, (1,), (1,))
    with pytest.raises(ConnectionError):
        await live_access.changed_bookings(event)
    assert await live_access.changed_bookings(event) == ()
    assert attempts == 2
