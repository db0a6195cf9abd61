"""The scheduler hands out push channels to open or renew, against a real Redis; with Redis down it claims none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue

from jobs.scheduler import QUEUE_NAME, Scheduler
from models import ExternalCalendar, Provider
from tests.support.sync import given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def queued_watches(redis_url: str) -> list[tuple[object, ...]]:
    queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
    return [tuple(job.args) for job in queue.jobs if job.func_name == "jobs.tasks.watch"]


async def test_a_calendar_needing_a_channel_is_enqueued_once(db: str, redis_url: str) -> None:
    given = await given_connected_staff("tech@example.com", credentials="sealed", provider=Provider.GOOGLE)
    scheduler = Scheduler(Redis.from_url(redis_url), "scheduler-a", push_channels=True)
    assert (await scheduler.tick(NOW)).watches == 1
    assert (await scheduler.tick(NOW + timedelta(seconds=1))).watches == 0
    assert queued_watches(redis_url) == [(given.calendar.id,)]


async def test_without_push_channels_the_scheduler_opens_none(db: str, redis_url: str) -> None:
    given = await given_connected_staff("tech@example.com", credentials="sealed", provider=Provider.GOOGLE)
    scheduler = Scheduler(Redis.from_url(redis_url), "scheduler-a")
    assert (await scheduler.tick(NOW)).watches == 0
    assert queued_watches(redis_url) == []
    assert (await ExternalCalendar.get(id=given.calendar.id)).watch_claimed_until is None


async def test_with_redis_down_at_enqueue_the_claim_is_released(db: str, redis_url: str) -> None:
    # given a scheduler that leads (Redis answers the lock) but whose queue then fails
    given = await given_connected_staff("tech@example.com", credentials="sealed", provider=Provider.GOOGLE)
    scheduler = Scheduler(Redis.from_url(redis_url), "scheduler-a", push_channels=True)
    scheduler.queue = Queue(QUEUE_NAME, connection=Redis.from_url(NOWHERE, socket_connect_timeout=0.2))
    # when it ticks
    result = await scheduler.tick(NOW)
    # then nothing is claimed, and the next tick with a working queue hands the calendar out
    assert result.queue_down
    assert (await ExternalCalendar.get(id=given.calendar.id)).watch_claimed_until is None
    scheduler.queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
    assert (await scheduler.tick(NOW + timedelta(seconds=1))).watches == 1
    assert queued_watches(redis_url) == [(given.calendar.id,)]
