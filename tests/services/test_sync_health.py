"""A connection's health counts what it still owes the calendar, also while Redis is down and bookings wait in the
outbox: every booking counts once, before and after its outbox row is dispatched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis

from jobs.push import push_mapping
from jobs.scheduler import Scheduler
from models import CalendarConnection, ConnectionHealth, OutboxEntry, Staff, SyncDirection, WorkingHoursRange
from providers.base import RemoteCalendar
from services.bookings import BookingRequest, CustomerDetails, create_booking
from services.sync_dispatch import dispatch_outbox
from services.sync_health import health_report
from tests.fakes.memory import MemoryProvider
from tests.support.sync import ConnectedStaff, book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
NOWHERE = "redis://127.0.0.1:1/0"


async def pending(given: ConnectedStaff) -> tuple[ConnectionHealth, int, int]:
    report = await health_report(await CalendarConnection.get(id=given.connection.id), NOW)
    return report.status, report.pending, report.failed


async def test_bookings_waiting_in_the_outbox_while_redis_is_down_count_as_pending(db: str) -> None:
    # given a connected staff member, and Redis unreachable: the scheduler dispatches nothing
    given = await given_connected_staff()
    assert (await Scheduler(Redis.from_url(NOWHERE, socket_connect_timeout=0.2), "a").tick(NOW)).queue_down
    # when two single bookings and a weekly series of three are made
    for hour in (0, 2):
        await book(given, TEN_BERLIN + timedelta(hours=hour), NOW)
    await book(given, TEN_BERLIN + timedelta(hours=5), NOW, recurrence="FREQ=WEEKLY;COUNT=3")
    # then nothing is dispatched, yet the health counts three bookings pending (the series is one event)
    assert await OutboxEntry.filter(processed_at=None).count() == 5
    assert await pending(given) == (ConnectionHealth.ACTIVE, 3, 0)
    # when Redis is back and the outbox is dispatched, each is counted once, as a pending item now
    mapping_ids = await dispatch_outbox(NOW)
    assert await OutboxEntry.filter(processed_at=None).count() == 0
    assert await pending(given) == (ConnectionHealth.ACTIVE, 3, 0)
    # and once one is written, it no longer counts
    provider = MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])
    assert (await push_mapping(mapping_ids[0], provider, NOW)).status == "done"
    assert await pending(given) == (ConnectionHealth.ACTIVE, 2, 0)


async def test_only_the_staff_members_own_bookings_count_and_only_where_bookings_are_written(db: str) -> None:
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    # another staff member's waiting booking is not this connection's
    other = await Staff.create(business_id=given.staff.business_id, name="Kim", email="kim@example.com",
                               time_zone="Europe/Berlin")
    await WorkingHoursRange.create(staff=other, weekday=TEN_BERLIN.weekday(), start_minute=8 * 60, end_minute=20 * 60)
    await given.service.staff.add(other)
    await create_booking(given.owner, BookingRequest(service_id=given.service.id, starts_at=TEN_BERLIN,
                                                     staff_id=other.id, customer=CustomerDetails(name="Dora")), NOW)
    assert await OutboxEntry.filter(processed_at=None).count() == 2
    assert await pending(given) == (ConnectionHealth.ACTIVE, 1, 0)
    # an import-only connection writes no bookings, so nothing is owed
    await CalendarConnection.filter(id=given.connection.id).update(direction=SyncDirection.IMPORT_ONLY)
    assert await pending(given) == (ConnectionHealth.ACTIVE, 0, 0)
