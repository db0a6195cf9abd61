"""The scheduler against a real Redis: due work becomes jobs; with Redis down nothing is claimed or lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue

from jobs.scheduler import LEADER_KEY, LEADER_SECONDS, QUEUE_NAME, Scheduler, TickResult
from models import EventMapping, EventMappingState, ExternalCalendar, OutboxEntry, SyncFrequency
from services.sync_dispatch import LEASE, request_pull
from tests.support.statements import counted_statements
from tests.support.sync import book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def queued(redis_url: str) -> list[tuple[str | None, tuple[object, ...]]]:
    queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
    return sorted((job.func_name, tuple(job.args)) for job in queue.jobs)


async def test_with_redis_down_booking_works_and_the_change_waits_in_the_database(db: str, redis_url: str) -> None:
    # given a connected staff member and Redis unreachable
    given = await given_connected_staff()
    down = Scheduler(Redis.from_url(NOWHERE, socket_connect_timeout=0.2), "scheduler-a")
    # when a booking is made and the scheduler ticks
    (booking,) = await book(given, TEN_BERLIN, NOW)
    result = await down.tick(NOW)
    # then the booking stands and its change is still owed, unclaimed
    assert result.queue_down
    assert await OutboxEntry.filter(aggregate_id=booking.id, processed_at=None).count() == 1
    assert await EventMapping.all().count() == 0
    # when Redis is back
    up = Scheduler(Redis.from_url(redis_url), "scheduler-a")
    back = await up.tick(NOW + timedelta(seconds=1))
    # then the push (and the first pull of the calendar) are on the queue, once
    mapping = await EventMapping.get(booking_id=booking.id)
    assert (back.pushes, back.pulls) == (1, 1)
    assert queued(redis_url) == [("jobs.tasks.pull_many", ([given.calendar.id],)), ("jobs.tasks.push", (mapping.id,))]
    assert mapping.state == EventMappingState.PENDING
    again = await up.tick(NOW + timedelta(seconds=2))
    assert (again.pushes, again.pulls) == (0, 0)
    assert await OutboxEntry.filter(processed_at=None).count() == 0


async def test_a_claim_that_never_reports_back_is_handed_out_again_after_its_lease(db: str, redis_url: str) -> None:
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    scheduler = Scheduler(Redis.from_url(redis_url), "scheduler-a")
    await scheduler.tick(NOW)
    # a worker that died with the job frees it 30 s later, no later
    assert LEASE.total_seconds() == 30
    assert (await scheduler.tick(NOW + LEASE - timedelta(seconds=1))).pushes == 0
    assert (await scheduler.tick(NOW + LEASE + timedelta(seconds=1))).pushes == 1


async def test_only_one_scheduler_leads(db: str, redis_url: str) -> None:
    given = await given_connected_staff()
    await book(given, TEN_BERLIN, NOW)
    first = Scheduler(Redis.from_url(redis_url), "scheduler-a")
    second = Scheduler(Redis.from_url(redis_url), "scheduler-b")
    assert (await first.tick(NOW)).pushes == 1
    assert await second.tick(NOW + timedelta(seconds=120)) == TickResult(0, 0)
    assert (await first.tick(NOW + timedelta(seconds=120))).pushes == 1


async def test_manual_connections_are_pulled_only_on_sync_now(db: str, redis_url: str) -> None:
    given = await given_connected_staff()
    await given.connection.update_from_dict({"frequency": SyncFrequency.MANUAL}).save()
    scheduler = Scheduler(Redis.from_url(redis_url), "scheduler-a")
    assert (await scheduler.tick(NOW)).pulls == 0
    assert await request_pull(given.connection.id, NOW) == [given.calendar.id]
    assert (await scheduler.tick(NOW)).pulls == 1
    assert (await ExternalCalendar.get(id=given.calendar.id)).next_pull_at == NOW + LEASE


async def test_one_scheduler_leads_at_a_time_and_another_takes_over_when_it_stops(db: str, redis_url: str) -> None:
    # given two schedulers on one Redis, and work due
    redis = Redis.from_url(redis_url)
    redis.delete(LEADER_KEY)
    given = await given_connected_staff()
    first, second = Scheduler(redis, "scheduler-a"), Scheduler(redis, "scheduler-b")
    # when both tick: the first leads (and keeps leading), the second stands by and claims nothing
    assert (await first.tick(NOW)).pulls == 1
    await request_pull(given.connection.id, NOW)
    assert await second.tick(NOW + timedelta(seconds=1)) == TickResult(0, 0)
    assert (await ExternalCalendar.get(id=given.calendar.id)).next_pull_at == NOW
    assert redis.ttl(LEADER_KEY) > LEADER_SECONDS - 2
    # when the leader stops (its lock runs out), the other takes over and hands the work out
    redis.delete(LEADER_KEY)
    assert (await second.tick(NOW + timedelta(seconds=2))).pulls == 1
    assert redis.get(LEADER_KEY) == b"scheduler-b"
    assert await first.tick(NOW + timedelta(seconds=3)) == TickResult(0, 0)
    redis.delete(LEADER_KEY)


async def test_a_tick_with_nothing_due_sends_one_cheap_statement_per_claim(db: str, redis_url: str) -> None:
    # given a connected staff member whose calendar was just pulled, no booking change and no token to refresh
    given = await given_connected_staff()
    await ExternalCalendar.filter(id=given.calendar.id).update(next_pull_at=NOW + timedelta(minutes=1))
    scheduler = Scheduler(Redis.from_url(redis_url), "scheduler-a", push_channels=True)
    await scheduler.tick(NOW)  # the first tick also sweeps unconfirmed grants (once a minute)
    # when the scheduler ticks again
    with counted_statements() as statements:
        result = await scheduler.tick(NOW + timedelta(seconds=1))
    # then nothing is handed out, and it cost one look at the outbox, one claim statement per index range (pulls
    # and push channels have two: never given a time, and due), one look for channels to set aside, one claim of
    # due mail and one look for appointment deliveries whose job was lost
    assert (result.pushes, result.pulls, result.watches) == (0, 0, 0)
    assert queued(redis_url) == []
    assert [" ".join(statement.split()[:2]) for statement in statements] == [
        'SELECT 1', "UPDATE eventmapping", "UPDATE externalcalendar", "UPDATE externalcalendar",
        "UPDATE calendarconnection", "UPDATE externalcalendar", "UPDATE externalcalendar",
        # the set-aside: the unwatched of each range (a conditional UPDATE), then what is left
        "UPDATE externalcalendar", "UPDATE externalcalendar", "SELECT id", "UPDATE mailoutbox", 'SELECT "id"']
