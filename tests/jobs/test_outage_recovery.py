"""Sync heals itself after an outage (invariant 3): with the calendar unreachable for 10 minutes, and for 6 hours,
bookings made meanwhile keep being retried (none ends failed), and within about a minute of the calendar answering
again every one of them is in it, the health is active and the staff member is told which bookings went out, with
no manual step.

The clock is the test's: the real scheduler ticks at each moment something falls due, puts its jobs on a real
Redis queue, and the test runs the jobs it finds there (the same push and pull bodies a worker runs) against the
in-memory calendar account at that moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis

from jobs.pull import pull_calendar
from jobs.push import push_mapping
from jobs.scheduler import Scheduler, sync_queue
from models import (
    Booking,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    Notification,
)
from providers.base import RemoteCalendar, Unavailable
from services.sync_health import health_report
from tests.fakes.memory import MemoryProvider
from tests.support.sync import ConnectedStaff, book, given_connected_staff

START = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
BACK_WITHIN = timedelta(seconds=62)  # the next poll (a minute at most), then the next tick


class Timeline:
    """The scheduler and the jobs it hands out, on a clock the test moves."""

    def __init__(self, redis_url: str, provider: MemoryProvider) -> None:
        self.redis = Redis.from_url(redis_url)
        self.scheduler = Scheduler(self.redis, "outage-test")
        self.queue = sync_queue(self.redis)
        self.provider = provider
        self.failed_pushes = 0

    async def tick(self, now: datetime) -> None:
        await self.scheduler.tick(now)
        jobs = self.queue.jobs
        self.queue.empty()
        for job in jobs:
            (target,) = job.args
            if job.func_name == "jobs.tasks.push":
                outcome = await push_mapping(int(target), self.provider, now)
                self.failed_pushes += outcome.status == "failed"
            elif job.func_name == "jobs.tasks.pull_many":
                for calendar_id in target:
                    await pull_calendar(int(calendar_id), self.provider, now)

    async def _next_due(self, now: datetime) -> datetime:
        pending = await EventMapping.filter(state=EventMappingState.PENDING).order_by("next_attempt_at").first()
        calendar = await ExternalCalendar.all().order_by("next_pull_at").first()
        due = [when for when in (pending and pending.next_attempt_at, calendar and calendar.next_pull_at) if when]
        return max(min(due, default=now + timedelta(minutes=1)), now + timedelta(seconds=1))

    async def advance(self, now: datetime, until: datetime) -> datetime:
        """Tick at every moment work falls due after `now`, and at `until`; returns `until`."""
        while (moment := await self._next_due(now)) < until:
            await self.tick(moment)
            now = moment
        await self.tick(until)
        return until


def uids(provider: MemoryProvider) -> list[str]:
    return sorted(provider.calendars["work"].events)


async def outage(given: ConnectedStaff, timeline: Timeline, length: timedelta) -> tuple[list[Booking], datetime]:
    """The calendar goes down at START; a booking is made each minute for five minutes; it comes back after
    `length`. Returns the bookings and the moment it came back."""
    timeline.provider.outage = Unavailable("PUT /work/: could not connect")
    clock = START
    bookings: list[Booking] = []
    for index in range(5):
        clock = await timeline.advance(clock, START + timedelta(minutes=index + 1))
        bookings += await book(given, TEN_BERLIN + timedelta(hours=index), clock, name=f"Customer {index}")
    clock = await timeline.advance(clock, START + length)
    timeline.provider.outage = None
    return bookings, clock


async def given_a_synced_connection(redis_url: str) -> tuple[ConnectedStaff, Timeline]:
    given = await given_connected_staff()
    provider = MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])
    timeline = Timeline(redis_url, provider)
    await timeline.tick(START - timedelta(minutes=1))  # the first pull: the connection is active
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.ACTIVE
    return given, timeline


async def assert_everything_arrived(given: ConnectedStaff, timeline: Timeline, bookings: list[Booking]) -> None:
    assert uids(timeline.provider) == sorted(f"booking-{booking.id}@lockstep.ics" for booking in bookings)
    assert await EventMapping.filter(state=EventMappingState.SYNCED).count() == 5
    assert timeline.failed_pushes == 0
    connection = await CalendarConnection.get(id=given.connection.id)
    report = await health_report(connection, datetime.now(UTC))
    assert (report.status, report.pending, report.failed, report.last_error) == (ConnectionHealth.ACTIVE, 0, 0, "")
    notes = await Notification.filter(kind="sync_recovered").order_by("user_id")
    names = ", ".join(f"Customer {index} Tue 08 Jan {10 + index}:00" for index in range(5))
    assert [(note.message, note.data) for note in notes] == [
        (f"Calendar sync is working again; 5 bookings made while it was down are being written: {names}",
         {"staffId": given.staff.id, "connectionId": given.connection.id,
          "bookingIds": [booking.id for booking in bookings]})] * 2  # the staff member and the owner


async def test_after_a_10_minute_outage_every_booking_made_meanwhile_arrives_within_a_minute(
        db: str, redis_url: str) -> None:
    # given a working connection, then a calendar that cannot be reached for 10 minutes while 5 bookings are made
    given, timeline = await given_a_synced_connection(redis_url)
    bookings, back = await outage(given, timeline, timedelta(minutes=10))
    # then meanwhile every booking stood, none of their events was given up, and the health said so
    assert await EventMapping.filter(state=EventMappingState.PENDING).count() == 5
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.DEGRADED
    assert uids(timeline.provider) == []
    # when the calendar answers again and the scheduler goes on ticking for a minute
    await timeline.advance(back, back + BACK_WITHIN)
    # then all five are in the calendar, with no retrySync, and the staff member is told which went out
    await assert_everything_arrived(given, timeline, bookings)


async def test_after_a_6_hour_outage_every_booking_made_meanwhile_arrives_within_a_minute(
        db: str, redis_url: str) -> None:
    # given a working connection, then a calendar that cannot be reached for 6 hours while 5 bookings are made
    given, timeline = await given_a_synced_connection(redis_url)
    bookings, back = await outage(given, timeline, timedelta(hours=6))
    # then the first booking's event was tried 11 times (30 s, 1, 2, 5, 15, 60 min, then hourly), never given up
    first = await EventMapping.get(booking_id=bookings[0].id)
    assert (first.state, first.attempts, first.failed_by_outage) == (EventMappingState.PENDING, 11, False)
    assert first.next_attempt_at is not None and first.next_attempt_at > back + timedelta(minutes=10)
    assert await EventMapping.filter(state=EventMappingState.PENDING).count() == 5
    # when the calendar answers again: its next poll (a minute at most) finds it, and what waited goes out at once
    await timeline.advance(back, back + BACK_WITHIN)
    # then
    await assert_everything_arrived(given, timeline, bookings)
    assert (await EventMapping.get(id=first.id)).attempts == 0


async def test_items_given_up_to_an_outage_go_out_when_the_connection_recovers_but_refused_ones_stay_failed(
        db: str, redis_url: str) -> None:
    # given two bookings: one given up after a day of outage, one the calendar refused
    given, timeline = await given_a_synced_connection(redis_url)
    outage_item, refused_item = [(await book(given, TEN_BERLIN + timedelta(hours=hour), START))[0]
                                 for hour in (0, 2)]
    await timeline.scheduler.tick(START)
    timeline.queue.empty()
    await EventMapping.filter(booking_id=outage_item.id).update(state=EventMappingState.FAILED, failed_by_outage=True)
    await EventMapping.filter(booking_id=refused_item.id).update(state=EventMappingState.FAILED)
    await CalendarConnection.filter(id=given.connection.id).update(
        health=ConnectionHealth.DEGRADED, consecutive_failures=30, last_successful_sync_at=START - timedelta(days=1))
    # when the connection's next pull succeeds and the scheduler ticks on
    await ExternalCalendar.filter(id=given.calendar.id).update(next_pull_at=START)
    await timeline.advance(START, START + timedelta(seconds=5))
    # then the one given up to the outage is in the calendar; the refused one still waits for retrySync
    assert uids(timeline.provider) == [f"booking-{outage_item.id}@lockstep.ics"]
    states = dict(await EventMapping.all().values_list("booking_id", "state"))
    assert states == {outage_item.id: EventMappingState.SYNCED, refused_item.id: EventMappingState.FAILED}
    (note, _) = await Notification.filter(kind="sync_recovered").order_by("user_id")
    assert note.data["bookingIds"] == [outage_item.id]
