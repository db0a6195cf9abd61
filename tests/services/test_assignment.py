"""Any-staff bookings go to the staff member the service's assignment policy picks: exact spreads over 300 bookings
for three staff, and what happens when the preferred one is busy."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from domain.assignment import AssignmentPolicy
from models import (
    Booking,
    BookingSeries,
    BookingStatus,
    Business,
    OutboxEntry,
    Service,
    Staff,
    StaffPriority,
    User,
    WorkingHoursRange,
)
from services.assignment import assign_staff
from services.auth import Viewer
from services.bookings import CANCEL_THIS, BookingRequest, cancel_booking, create_booking
from services.errors import ServiceArchivedError, SlotUnavailableError
from services.schedules import block_time

NOW = datetime(2030, 1, 6, 12, tzinfo=UTC)
FIRST = datetime(2030, 1, 7, tzinfo=UTC)  # a Monday; the staff work round the clock in UTC
STEP = timedelta(minutes=15)
SLOTS = [FIRST + STEP * n for n in range(300)]  # 75 hours: every one within the rolling week of every other


@dataclass
class Pool:
    owner: Viewer
    service: Service
    staff: list[Staff]  # in id order

    def names(self, staff_ids: list[int]) -> list[int]:
        """Staff ids as positions in the pool (0, 1, 2), for readable expectations."""
        order = [member.id for member in self.staff]
        return [order.index(staff_id) for staff_id in staff_ids]


async def given_pool(policy: AssignmentPolicy, priorities: tuple[int, ...] = (0, 0, 0)) -> Pool:
    """A business with three staff working round the clock in UTC, all performing a 15-minute service."""
    owner = await User.create(email="owner@example.com", name="Olga", password_hash="x", role="owner")
    business = await Business.create(name="Fix-It", time_zone="UTC", owner=owner)
    service = await Service.create(business=business, name="Boiler check", duration_minutes=15, slot_step_minutes=15,
                                   assignment_policy=policy)
    staff = []
    for n, priority in enumerate(priorities):
        member = await Staff.create(business=business, name=f"Tech {n}", email=f"t{n}@example.com", time_zone="UTC")
        await WorkingHoursRange.bulk_create([WorkingHoursRange(staff=member, weekday=day, start_minute=0,
                                                               end_minute=24 * 60) for day in range(7)])
        if priority:
            await StaffPriority.create(service=service, staff=member, priority=priority)
        staff.append(member)
    await service.staff.add(*staff)
    return Pool(Viewer(owner.id, owner.role), service, staff)


async def book_any(pool: Pool, starts_at: datetime, recurrence: str | None = None) -> list[Booking]:
    return await create_booking(pool.owner, BookingRequest(service_id=pool.service.id, starts_at=starts_at,
                                                           walk_in=True, recurrence=recurrence), NOW)


async def assigned_in_booking_order(pool: Pool) -> list[int]:
    """Who holds each confirmed booking, as pool positions, in the order the bookings were made."""
    return pool.names(await Booking.filter(status=BookingStatus.CONFIRMED).order_by("id").values_list(
        "staff_id", flat=True))  # type: ignore[arg-type]


def shuffled(slots: list[datetime]) -> list[datetime]:
    order = list(slots)
    random.Random(15).shuffle(order)
    return order


async def test_round_robin_rotates_exactly_through_300_bookings(db: str) -> None:
    # given three free staff under ROUND_ROBIN
    pool = await given_pool(AssignmentPolicy.ROUND_ROBIN)
    # when 300 bookings are made for distinct times, in no order of time
    for start in shuffled(SLOTS):
        await book_any(pool, start)
    # then each gets exactly 100, in strict rotation by the order of booking
    order = await assigned_in_booking_order(pool)
    assert Counter(order) == {0: 100, 1: 100, 2: 100}
    assert order == [0, 1, 2] * 100


async def test_balanced_spreads_300_bookings_exactly_evenly(db: str) -> None:
    # given three free staff under BALANCED
    pool = await given_pool(AssignmentPolicy.BALANCED)
    # when 300 bookings are made for distinct times in one rolling week, in no order of time
    for start in shuffled(SLOTS):
        await book_any(pool, start)
    # then each gets exactly 100, and at no point did one have two more than another
    order = await assigned_in_booking_order(pool)
    assert Counter(order) == {0: 100, 1: 100, 2: 100}
    for made in range(1, 301):
        counts = Counter(order[:made])
        assert max(counts[n] for n in range(3)) - min(counts[n] for n in range(3)) <= 1, made


async def test_balanced_weighs_only_the_rolling_week_around_the_start(db: str) -> None:
    # given Tech 0 with four bookings of this service on Monday, and Tech 1 with two
    pool = await given_pool(AssignmentPolicy.BALANCED)
    for n, staff_index in enumerate([0, 0, 0, 0, 1, 1]):
        await create_booking(pool.owner, BookingRequest(service_id=pool.service.id, starts_at=SLOTS[n],
                                                        staff_id=pool.staff[staff_index].id, walk_in=True), NOW)
    # when a booking is made three days later (Monday still in its week) and one eleven days later (it is not)
    near = await book_any(pool, FIRST + timedelta(days=3))
    far = await book_any(pool, FIRST + timedelta(days=11))
    # then the near one goes to Tech 2 (no load), the far one to Tech 0: nobody has load then, and Tech 0 holds the
    # oldest booking (assigned least recently)
    assert pool.names([near[0].staff_id, far[0].staff_id]) == [2, 0]


async def test_priority_gives_every_booking_to_the_top_priority_while_free(db: str) -> None:
    # given Tech 1 at priority 10, Tech 0 at 5, Tech 2 at 0, and Tech 1 busy for the first hour
    pool = await given_pool(AssignmentPolicy.PRIORITY, (5, 10, 0))
    await block_time(pool.owner, pool.staff[1].id, FIRST, FIRST + timedelta(hours=1), "Van service")
    # when 300 bookings are made
    for start in SLOTS:
        await book_any(pool, start)
    # then the first hour's four go to Tech 0 (next in priority) and every other one to Tech 1
    order = await assigned_in_booking_order(pool)
    assert order == [0] * 4 + [1] * 296


async def test_priority_ties_are_broken_by_balance(db: str) -> None:
    # given Tech 0 and Tech 2 tied at the top, Tech 1 below them
    pool = await given_pool(AssignmentPolicy.PRIORITY, (7, 3, 7))
    # when 300 bookings are made
    for start in shuffled(SLOTS):
        await book_any(pool, start)
    # then the two at the top share them exactly, taking turns, and Tech 1 gets none
    order = await assigned_in_booking_order(pool)
    assert Counter(order) == {0: 150, 2: 150}
    assert order == [0, 2] * 150


async def test_first_available_gives_every_booking_to_the_first_free_staff_member(db: str) -> None:
    # given FIRST_AVAILABLE (the default) with Tech 0 busy at two of the times
    pool = await given_pool(AssignmentPolicy.FIRST_AVAILABLE)
    await block_time(pool.owner, pool.staff[0].id, SLOTS[10], SLOTS[12], "Dentist")
    # when 300 bookings are made
    for start in SLOTS:
        await book_any(pool, start)
    # then Tech 0 gets all but those two, which go to Tech 1
    order = await assigned_in_booking_order(pool)
    assert order == [0] * 10 + [1, 1] + [0] * 288


async def test_round_robin_skips_the_next_in_turn_when_busy_and_comes_back_to_them(db: str) -> None:
    # given a rotation under way: Tech 0 and Tech 1 have one booking each, and Tech 2 is busy at 10:00
    pool = await given_pool(AssignmentPolicy.ROUND_ROBIN)
    await book_any(pool, FIRST + timedelta(hours=8))
    await book_any(pool, FIRST + timedelta(hours=9))
    await block_time(pool.owner, pool.staff[2].id, FIRST + timedelta(hours=10), FIRST + timedelta(hours=11), "Lunch")
    # when bookings are made at 10:00 and then 11:00
    at_ten = await book_any(pool, FIRST + timedelta(hours=10))
    at_eleven = await book_any(pool, FIRST + timedelta(hours=11))
    # then 10:00 goes to Tech 0 (the least recent of those free) and 11:00 to Tech 2, whose turn it still is
    assert pool.names([at_ten[0].staff_id, at_eleven[0].staff_id]) == [0, 2]


async def test_a_cancelled_booking_no_longer_counts_as_an_assignment(db: str) -> None:
    # given a full round, and then Tech 2's booking cancelled
    pool = await given_pool(AssignmentPolicy.ROUND_ROBIN)
    rows = [(await book_any(pool, start))[0] for start in SLOTS[:3]]
    await cancel_booking(pool.owner, rows[2].id, CANCEL_THIS, NOW)
    # when the next booking is made
    (next_one,) = await book_any(pool, SLOTS[3])
    # then it goes back to Tech 2, who lost the work, before Tech 0's second turn
    assert pool.names([next_one.staff_id]) == [2]


async def test_a_series_goes_to_one_staff_member_chosen_by_the_policy(db: str) -> None:
    # given Tech 0 has had a booking and Tech 1 is busy on the series' third Monday
    pool = await given_pool(AssignmentPolicy.ROUND_ROBIN)
    await book_any(pool, FIRST + timedelta(hours=9))
    third = FIRST + timedelta(weeks=2, hours=10)
    await block_time(pool.owner, pool.staff[1].id, third, third + timedelta(hours=1), "Training")
    # when a weekly series of four at 10:00 is booked
    rows = await book_any(pool, FIRST + timedelta(hours=10), recurrence="FREQ=WEEKLY;COUNT=4")
    # then all four occurrences go to Tech 2: Tech 1 is not free for every occurrence, Tech 0 had the last turn
    assert pool.names([row.staff_id for row in rows]) == [2, 2, 2, 2]


async def test_when_nobody_is_free_it_is_slot_unavailable_and_nothing_is_written(db: str) -> None:
    # given every tech busy at 10:00
    pool = await given_pool(AssignmentPolicy.BALANCED)
    ten = FIRST + timedelta(hours=10)
    for member in pool.staff:
        await block_time(pool.owner, member.id, ten, ten + timedelta(hours=1), "Team meeting")
    versions = [member.booking_lock for member in await Staff.all().order_by("id")]
    # when a booking for any staff member asks for 10:00
    with pytest.raises(SlotUnavailableError) as refused:
        await book_any(pool, ten)
    # then it names the time and nothing changed
    assert refused.value.starts == [ten]
    assert await Booking.all().count() == 0
    assert await BookingSeries.all().count() == 0
    assert await OutboxEntry.all().count() == 0
    assert [member.booking_lock for member in await Staff.all().order_by("id")] == versions


async def test_the_pool_passes_over_staff_deactivated_after_it_was_listed(db: str) -> None:
    # given a round-robin pool listed while all three took bookings, then the first two deactivated
    pool = await given_pool(AssignmentPolicy.ROUND_ROBIN)
    starts_of = {member.id: [SLOTS[0]] for member in pool.staff}
    await Staff.filter(id__in=[pool.staff[0].id, pool.staff[1].id]).update(active=False)
    # when the booking's staff is chosen from that list under the locks
    async with in_transaction() as connection:
        assigned = await assign_staff(pool.service, pool.staff, starts_of, NOW, False, connection, named=False)
    # then the one still active gets it
    assert pool.names([assigned.staff.id]) == [2]
    # and with all three deactivated nobody does, and nothing is written
    await Staff.filter(id=pool.staff[2].id).update(active=False)
    with pytest.raises(SlotUnavailableError):
        async with in_transaction() as connection:
            await assign_staff(pool.service, pool.staff, starts_of, NOW, False, connection, named=False)
    assert await Booking.all().count() == 0


async def test_the_pool_refuses_a_service_archived_after_it_was_listed(db: str) -> None:
    # given a pool listed, then its service archived
    pool = await given_pool(AssignmentPolicy.BALANCED)
    starts_of = {member.id: [SLOTS[0]] for member in pool.staff}
    await Service.filter(id=pool.service.id).update(archived_at=NOW)
    # when the booking's staff is chosen from that list, then it is refused as archived
    with pytest.raises(ServiceArchivedError):
        async with in_transaction() as connection:
            await assign_staff(pool.service, pool.staff, starts_of, NOW, False, connection, named=False)
    assert await Booking.all().count() == 0
