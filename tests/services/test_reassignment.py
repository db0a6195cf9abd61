"""Reassigning bookings (services.reassignment) and cancelling several at once (services.bulk_cancel) below GraphQL:
what they announce once committed, and how a series' occurrences that have started are checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio.client import PubSub

from domain.intervals import Span
from models import Booking, Staff, WorkingHoursRange
from services import live
from services.bulk_cancel import cancel_bookings
from services.errors import BookingsRefusedError, SlotUnavailableError
from services.reassignment import reassign_booking
from tests.support.live import hearing, next_event
from tests.support.sync import ConnectedStaff, book, given_connected_staff

NOW = datetime.now(UTC).replace(microsecond=0)
# 10:00 UTC on a day well ahead: inside the 08:00-20:00 Berlin hours of given_connected_staff.
AHEAD = (NOW + timedelta(days=10)).replace(hour=10, minute=0, second=0)


@pytest.fixture
async def heard(redis_url: str) -> AsyncIterator[PubSub]:
    async with hearing(redis_url) as pubsub:
        yield pubsub


async def _colleague(given: ConnectedStaff, *, hours: tuple[int, int] = (8, 20)) -> Staff:
    """A second staff member performing the service, working `hours` (Berlin) every day."""
    kim = await Staff.create(business_id=given.staff.business_id, name="Kim Tech", email="kim@example.com",
                             time_zone="Europe/Berlin")
    for weekday in range(7):
        await WorkingHoursRange.create(staff=kim, weekday=weekday, start_minute=hours[0] * 60,
                                       end_minute=hours[1] * 60)
    await given.service.staff.add(kim)
    return kim


async def _heard_booking_made(heard: PubSub) -> None:
    """The announcements of a new booking: its change, and the availability it took."""
    assert isinstance(await next_event(heard), live.BookingsChanged)
    assert isinstance(await next_event(heard), live.AvailabilityChanged)


async def test_a_reassignment_is_announced_for_both_staff_members_once_committed(db: str, heard: PubSub) -> None:
    # given a booking with Sam and a colleague free at its time
    given = await given_connected_staff()
    kim = await _colleague(given)
    (booking,) = await book(given, AHEAD, NOW)
    await _heard_booking_made(heard)
    # when it is reassigned to Kim
    await reassign_booking(given.owner, booking.id, kim.id, NOW)
    # then the booking's change names both staff members, and both schedules changed at its time
    span = (Span(booking.buffered_start, booking.buffered_end),)
    assert await next_event(heard) == live.BookingsChanged("rescheduled", given.staff.business_id,
                                                           tuple(sorted((given.staff.id, kim.id))), (booking.id,))
    assert {await next_event(heard), await next_event(heard)} == {live.AvailabilityChanged(given.staff.id, span),
                                                                 live.AvailabilityChanged(kim.id, span)}
    assert await next_event(heard, wait=0.5) is None


async def test_a_refused_reassignment_or_bulk_cancel_announces_nothing(db: str, heard: PubSub) -> None:
    # given Sam's booking, and Kim busy at its time
    given = await given_connected_staff()
    kim = await _colleague(given)
    (booking,) = await book(given, AHEAD, NOW)
    await Booking.create(business_id=given.staff.business_id, staff_id=kim.id, service_id=given.service.id,
                         customer_name="Dora", starts_at=AHEAD, ends_at=AHEAD + timedelta(hours=1),
                         buffered_start=AHEAD, buffered_end=AHEAD + timedelta(hours=1),
                         created_by_id=given.owner.user_id)
    await _heard_booking_made(heard)
    # when it is reassigned to Kim, or cancelled with a booking that does not exist, then both are refused
    with pytest.raises(SlotUnavailableError):
        await reassign_booking(given.owner, booking.id, kim.id, NOW)
    with pytest.raises(BookingsRefusedError):
        await cancel_bookings(given.owner, [booking.id, 999], NOW)
    # and nothing was announced, since nothing changed
    assert await next_event(heard, wait=0.5) is None
    assert (await Booking.get(id=booking.id)).version == 1


async def test_occurrences_that_started_are_checked_against_bookings_only(db: str) -> None:
    # given a daily series of two with Sam whose first occurrence happened yesterday at 03:00 UTC, and Kim, who
    # works only 08:00-20:00 Berlin (not at 03:00 UTC)
    given = await given_connected_staff()
    kim = await _colleague(given)
    first, second = await book(given, AHEAD, NOW, recurrence="FREQ=DAILY;COUNT=2")
    past = (NOW - timedelta(days=1)).replace(hour=3, minute=0, second=0)
    await Booking.filter(id=first.id).update(starts_at=past, ends_at=past + timedelta(hours=1), buffered_start=past,
                                             buffered_end=past + timedelta(hours=1))
    # and Kim had a booking overlapping that past occurrence
    clash = await Booking.create(business_id=given.staff.business_id, staff_id=kim.id, service_id=given.service.id,
                                 customer_name="Dora", starts_at=past + timedelta(minutes=30),
                                 ends_at=past + timedelta(minutes=90), buffered_start=past + timedelta(minutes=30),
                                 buffered_end=past + timedelta(minutes=90), created_by_id=given.owner.user_id)
    # when the series is reassigned to Kim, then the past occurrence is refused for that booking
    with pytest.raises(SlotUnavailableError) as refused:
        await reassign_booking(given.owner, second.id, kim.id, NOW)
    assert [start.astimezone(UTC) for start in refused.value.starts] == [past]
    assert set(await Booking.filter(series_id=first.series_id).values_list("staff_id", flat=True)) == {
        given.staff.id}
    # when Kim's clashing booking is gone, then the series moves, its past occurrence outside Kim's hours included
    await clash.delete()
    moved = await reassign_booking(given.owner, second.id, kim.id, NOW)
    assert [(row.id, row.staff_id) for row in moved] == [(second.id, kim.id), (first.id, kim.id)]
