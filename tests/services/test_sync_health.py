"""A connection's health counts what it still owes the calendar, also while Redis is down and bookings wait in the
outbox: every booking counts once, before and after its outbox row is dispatched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis

from jobs.push import push_mapping
from jobs.scheduler import Scheduler
from models import (
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    Notification,
    OutboxEntry,
    Staff,
    SyncDirection,
    WorkingHoursRange,
)
from providers.base import RemoteCalendar
from services.booking_party import BookingRequest, CustomerDetails
from services.bookings import create_booking
from services.sync_dispatch import dispatch_outbox
from services.sync_health import health_report, record_failure, record_success
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


async def given_one_item_retrying(attempts: int) -> tuple[ConnectedStaff, int]:
    """A connected staff member whose one booking's event has failed `attempts` times and waits an hour."""
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    (mapping_id,) = await dispatch_outbox(NOW)
    await EventMapping.filter(id=mapping_id).update(attempts=attempts, next_attempt_at=NOW + timedelta(hours=1))
    return given, mapping_id


async def test_one_item_failing_between_successful_calls_keeps_its_own_schedule_and_notifies_nobody(db: str) -> None:
    # given an item that keeps failing on its own while the connection's pulls succeed (the last a minute ago)
    given, mapping_id = await given_one_item_retrying(attempts=7)
    await record_success(given.connection.id, NOW - timedelta(minutes=1))
    await record_failure(given.connection.id, "PUT: server error (500)", NOW)
    # when the next pull succeeds
    await record_success(given.connection.id, NOW + timedelta(seconds=30))
    # then the connection is active again, but the item waits on its own schedule and nobody is told anything
    item = await EventMapping.get(id=mapping_id)
    assert (item.attempts, item.next_attempt_at) == (7, NOW + timedelta(hours=1))
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.ACTIVE
    assert await Notification.filter(kind="sync_recovered").count() == 0


async def test_after_an_outage_what_waited_goes_out_at_once_keeping_its_count_of_attempts(db: str) -> None:
    # given an item waiting an hour, and a calendar that has not answered for ten minutes
    given, mapping_id = await given_one_item_retrying(attempts=7)
    await record_success(given.connection.id, NOW - timedelta(minutes=10))
    for minutes in (9, 5, 1):
        await record_failure(given.connection.id, "unreachable", NOW - timedelta(minutes=minutes))
    # when a call succeeds again
    await record_success(given.connection.id, NOW)
    # then the item is due now with its attempts kept, and the staff member and owner are told
    item = await EventMapping.get(id=mapping_id)
    assert (item.attempts, item.next_attempt_at) == (7, NOW)
    assert await Notification.filter(kind="sync_recovered").count() == 2
