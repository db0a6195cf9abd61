"""POST /webhooks/google with Redis: a verified change notification hands the calendar's pull to the job queue at
once (claimed as the scheduler claims it), instead of waiting for the scheduler's next tick; when Redis cannot be
reached the calendar stays due, so the scheduler hands it out once it can."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis

from jobs.scheduler import sync_queue
from models import ExternalCalendar
from services.sync_dispatch import LEASE
from services.watch_channels import record_channel
from tests.app.test_google_webhook import CHECKS_COUNTED, TOKEN, given_calendar_not_due, notify
from tests.support.server import free_port, live_server


async def queued_pulls(redis_url: str) -> list[tuple[str | None, object]]:
    """The queue's jobs, once there are any or 5 s have passed (the pull is enqueued just after the answer)."""
    queue = sync_queue(Redis.from_url(redis_url))
    for _ in range(250):
        if queue.jobs:
            break
        await asyncio.sleep(0.02)
    return [(job.func_name, job.args) for job in queue.jobs]


async def test_a_verified_change_enqueues_the_pull_at_once(db: str, redis_url: str, tmp_path: Path) -> None:
    # given a watched calendar not due for an hour, with a live channel, and a server with Redis
    given, _ = await given_calendar_not_due()
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, datetime.now(UTC) + timedelta(days=7))
    with live_server(db, tmp_path, 1, LOCKSTEP_REDIS_URL=redis_url, **CHECKS_COUNTED) as server:
        # when Google says the calendar changed
        before = datetime.now(UTC)
        answer = notify(server, "chan-1", TOKEN, "exists")
        # then the answer is the usual one, and the pull is on the queue without a scheduler running
        assert (answer.status_code, answer.content) == (200, b"")
        assert await queued_pulls(redis_url) == [("jobs.tasks.pull", (given.calendar.id,))]
    # and the calendar is claimed for the job as the scheduler would claim it, so it is not handed out twice
    due = (await ExternalCalendar.get(id=given.calendar.id)).next_pull_at
    assert due is not None and before + LEASE <= due <= datetime.now(UTC) + LEASE


async def test_without_redis_the_calendar_stays_due_for_the_scheduler(db: str, tmp_path: Path) -> None:
    # given a watched calendar with a live channel, and a server whose Redis does not answer
    given, _ = await given_calendar_not_due()
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, datetime.now(UTC) + timedelta(days=7))
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    with live_server(db, tmp_path, 1, LOCKSTEP_REDIS_URL=nowhere, **CHECKS_COUNTED) as server:
        # when Google says the calendar changed
        before = datetime.now(UTC)
        answer = notify(server, "chan-1", TOKEN, "exists")
        assert (answer.status_code, answer.content) == (200, b"")
    # then, once the check after the answer has given up handing the pull out (Redis refuses at once),
    # the calendar is due now, not leased to a job that never reached the queue
    due = (await ExternalCalendar.get(id=given.calendar.id)).next_pull_at
    assert due is not None and before <= due <= datetime.now(UTC)


async def test_a_change_while_the_scheduler_holds_a_claim_still_enqueues_one_more_pull(
        db: str, redis_url: str, tmp_path: Path) -> None:
    # given a watched calendar the scheduler has just claimed (its pull may already have listed the calendar)
    given, _ = await given_calendar_not_due()
    claimed_until = datetime.now(UTC).replace(microsecond=0) + LEASE - timedelta(seconds=5)
    await ExternalCalendar.filter(id=given.calendar.id).update(next_pull_at=claimed_until)
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, datetime.now(UTC) + timedelta(days=7))
    with live_server(db, tmp_path, 1, LOCKSTEP_REDIS_URL=redis_url, **CHECKS_COUNTED) as server:
        # when Google says the calendar changed
        before = datetime.now(UTC)
        notify(server, "chan-1", TOKEN, "exists")
        # then one more pull is on the queue, so the change is not left to a listing made before it
        assert await queued_pulls(redis_url) == [("jobs.tasks.pull", (given.calendar.id,))]
    # and the calendar's claim is renewed for that job
    due = (await ExternalCalendar.get(id=given.calendar.id)).next_pull_at
    assert due is not None and before + LEASE <= due <= datetime.now(UTC) + LEASE


async def test_a_change_to_a_calendar_not_pulled_makes_it_due_and_enqueues_nothing(
        db: str, redis_url: str, tmp_path: Path) -> None:
    # given a watched calendar that neither imports busy time nor takes bookings any more
    given, _ = await given_calendar_not_due()
    await ExternalCalendar.filter(id=given.calendar.id).update(import_busy=False, is_destination=False)
    await record_channel(given.calendar.id, "chan-1", "res-1", TOKEN, datetime.now(UTC) + timedelta(days=7))
    with live_server(db, tmp_path, 1, LOCKSTEP_REDIS_URL=redis_url, **CHECKS_COUNTED) as server:
        # when Google says the calendar changed (notify returns once the server has checked it)
        before = datetime.now(UTC)
        notify(server, "chan-1", TOKEN, "exists")
        # then no job is queued for it
        assert sync_queue(Redis.from_url(redis_url)).jobs == []
    # and it is due now, as a notification leaves any calendar, not leased to a job
    due = (await ExternalCalendar.get(id=given.calendar.id)).next_pull_at
    assert due is not None and before <= due <= datetime.now(UTC)
