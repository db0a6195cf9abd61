"""The slot cache below GraphQL: keyed by schedule version and rules, cut to each moment's notice and horizon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs.pull import pull_calendar
from models import BusyBlock, BusyBlockSource, Service, Staff, WorkingHoursRange
from providers.base import RemoteCalendar
from services.availability import offered_slots
from services.bookings import reschedule_booking
from services.slot_cache import SlotCache
from tests.fakes.memory import MemoryProvider
from tests.support.sync import ConnectedStaff, book, given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
DAY = datetime(2030, 1, 8, tzinfo=UTC)  # a Tuesday; the staff member works 08:00-20:00 Berlin (07:00-19:00 UTC)


def hour(h: int, m: int = 0) -> datetime:
    return DAY + timedelta(hours=h, minutes=m)


async def morning(given: ConnectedStaff, cache: SlotCache, now: datetime = NOW) -> list[datetime]:
    """The starts offered from 07:00 to 09:00 UTC on DAY."""
    found = await offered_slots(given.service.id, hour(7), hour(9), None, now, cache=cache)
    return [slot.start for slot in found]


ALL = [hour(7), hour(7, 30), hour(8), hour(8, 30)]  # a 60-minute service on a 30-minute step
# Counting look-ups: each query asks for its whole answer first, then (on a miss) for each staff member's starts.


async def test_a_cached_answer_is_used_while_the_schedule_version_stands(db: str) -> None:
    given = await given_connected_staff()
    cache = SlotCache(1000)
    assert await morning(given, cache) == ALL
    # given busy time written behind the lock's back (no service does this; it shows where the answer comes from)
    await BusyBlock.create(staff=given.staff, source=BusyBlockSource.MANUAL, starts_at=hour(7), ends_at=hour(9))
    assert await morning(given, cache) == ALL
    # when the schedule version moves on, the next answer is computed afresh
    await Staff.filter(id=given.staff.id).update(booking_lock=given.staff.booking_lock + 1)
    assert await morning(given, cache) == []
    assert (cache.hits, cache.misses) == (1, 4)


def memory() -> MemoryProvider:
    return MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])


async def test_a_pull_that_imports_busy_time_gives_the_schedule_a_new_version(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    cache = SlotCache(1000)
    assert await morning(given, cache) == ALL
    # when a personal event over 07:30-08:30 is pulled
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", hour(7, 30)))
    await pull_calendar(given.calendar.id, provider, NOW)
    # then it shows at once
    assert await morning(given, cache) == [hour(8, 30)]
    assert (await Staff.get(id=given.staff.id)).booking_lock == given.staff.booking_lock + 1


async def test_a_pull_that_changes_nothing_keeps_the_version(db: str) -> None:
    given = await given_connected_staff()
    provider = memory()
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", hour(8)))
    await pull_calendar(given.calendar.id, provider, NOW)
    version = (await Staff.get(id=given.staff.id)).booking_lock
    cache = SlotCache(1000)
    assert await morning(given, cache) == [hour(7)]
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=5))
    assert (await Staff.get(id=given.staff.id)).booking_lock == version
    assert await morning(given, cache) == [hour(7)]
    assert cache.hits == 1


async def test_a_start_that_came_within_the_notice_is_never_shown_from_the_cache(db: str) -> None:
    # given a 60-minute minimum notice and an answer cached at 05:50
    given = await given_connected_staff()
    await Service.filter(id=given.service.id).update(minimum_notice_minutes=60)
    cache = SlotCache(1000)
    early = await morning(given, cache, now=hour(5, 50))
    # when the same query comes at 06:40, and at 07:10
    later = await morning(given, cache, now=hour(6, 40))
    latest = await morning(given, cache, now=hour(7, 10))
    # then each answer is cut to its own moment from the one cached answer (computed over the whole day)
    assert early == ALL
    assert later == [hour(8), hour(8, 30)]
    assert latest == [hour(8, 30)]
    assert (cache.misses, cache.hits) == (2, 2)


async def test_the_horizon_edge_moves_with_the_moment_too(db: str) -> None:
    given = await given_connected_staff()
    await Service.filter(id=given.service.id).update(booking_horizon_days=1)
    cache = SlotCache(1000)
    # a 1-day horizon from 07:15 the day before lets 07:00 through, from 07:45 also 07:30
    assert await morning(given, cache, now=hour(7, 15) - timedelta(days=1)) == [hour(7)]
    assert await morning(given, cache, now=hour(7, 45) - timedelta(days=1)) == [hour(7), hour(7, 30)]


async def test_other_rules_or_another_zone_are_other_entries(db: str) -> None:
    given = await given_connected_staff()
    cache = SlotCache(1000)
    assert await morning(given, cache) == ALL
    # an hour of buffer before: the first start is 08:00 UTC (work starts 07:00 UTC)
    await Service.filter(id=given.service.id).update(buffer_before_minutes=60)
    buffered = await morning(given, cache)
    # the same hours in London start at 08:00 UTC: with the buffer, nothing before 09:00
    await Staff.filter(id=given.staff.id).update(time_zone="Europe/London")
    moved = await morning(given, cache)
    assert buffered == [hour(8), hour(8, 30)]
    assert moved == []
    assert (cache.misses, cache.hits, len(cache)) == (6, 0, 6)


async def test_a_booking_moved_to_someone_else_frees_the_time_it_left(db: str) -> None:
    # given a booking of the first staff member over 07:00-08:00, and a colleague who also performs the service
    given = await given_connected_staff()
    colleague = await Staff.create(business_id=given.staff.business_id, name="Kim", email="kim@example.com",
                                   time_zone="Europe/Berlin")
    await WorkingHoursRange.create(staff=colleague, weekday=DAY.weekday(), start_minute=8 * 60, end_minute=20 * 60)
    await given.service.staff.add(colleague)
    (booking,) = await book(given, hour(7), NOW)
    cache = SlotCache(1000)
    assert await morning_of(given, given.staff.id, cache) == [hour(8), hour(8, 30)]
    # when it is moved to the colleague at the same time
    await reschedule_booking(given.owner, booking.id, hour(7), colleague.id, NOW)
    # then the first staff member's morning is free again at once, not answered from the cache
    assert await morning_of(given, given.staff.id, cache) == ALL


async def morning_of(given: ConnectedStaff, staff_id: int, cache: SlotCache) -> list[datetime]:
    found = await offered_slots(given.service.id, hour(7), hour(9), [staff_id], NOW, cache=cache)
    return [slot.start for slot in found]
