"""Scheduled pulls travel in batches (jobs.tasks.pull_many): a tick's due calendars go PULL_BATCH to a job, and a
batch whose time is up hands the calendars it has not reached back instead of letting their claims lapse."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from rq import Queue

from jobs import runtime
from jobs.scheduler import QUEUE_NAME, Scheduler
from jobs.tasks import BATCH_BUDGET, PULL_BATCH, PULL_BATCH_TIMEOUT, run_pulls
from models import ExternalCalendar, SyncLogEntry
from providers.base import CalendarProvider, RemoteCalendar
from services.credentials import CredentialVault, new_key
from tests.fakes.memory import MemoryProvider
from tests.support.sync import given_connected_staff

KEY = new_key()
NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)


@pytest.fixture(autouse=True)
def job_runtime(database_url: str) -> Iterator[None]:
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused", secret_keys=(KEY,)))
    yield


async def given_calendars(count: int) -> list[int]:
    """One connection (credentials this deployment can read) with `count` calendars that import busy time."""
    given = await given_connected_staff(credentials=CredentialVault([KEY]).seal({"password": "secret"}))
    ids = [given.calendar.id]
    for index in range(1, count):
        calendar = await ExternalCalendar.create(connection=given.connection, provider_calendar_id=f"cal-{index}",
                                                 name=f"Calendar {index}", time_zone="Europe/Berlin",
                                                 import_busy=True)
        ids.append(calendar.id)
    return ids


class SlowProvider:
    """The memory calendars, behind a clock that a chosen calendar's pull moves past the batch's budget."""

    def __init__(self, names: list[str]) -> None:
        self.provider = MemoryProvider([RemoteCalendar(name, name, "", "Europe/Berlin", writable=True,
                                                       primary=False) for name in names])
        self.now = NOW
        self.opened = 0

    def clock(self) -> datetime:
        return self.now

    @asynccontextmanager
    async def open_provider(self, _connection: object) -> AsyncIterator[CalendarProvider]:
        self.opened += 1
        if self.opened == 2:  # the second pull of the batch takes longer than the whole budget
            self.now += BATCH_BUDGET + timedelta(seconds=1)
        yield self.provider


async def test_a_tick_hands_its_due_calendars_out_in_batches(db: str, redis_url: str) -> None:
    # given PULL_BATCH + 4 calendars, none pulled yet
    ids = await given_calendars(PULL_BATCH + 4)
    # when the scheduler ticks
    result = await Scheduler(Redis.from_url(redis_url), "scheduler-a").tick(NOW)
    # then every calendar is claimed and they travel in two jobs, in claim order, each allowed its budget and a pull
    jobs = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url)).jobs
    assert result.pulls == PULL_BATCH + 4
    assert [(job.func_name, job.args, job.timeout) for job in jobs] == [
        ("jobs.tasks.pull_many", (sorted(ids)[:PULL_BATCH],), PULL_BATCH_TIMEOUT.total_seconds()),
        ("jobs.tasks.pull_many", (sorted(ids)[PULL_BATCH:],), PULL_BATCH_TIMEOUT.total_seconds())]


async def test_a_batch_pulls_each_calendar_once(db: str) -> None:
    # given three calendars, one of them gone since the claim
    ids = await given_calendars(3)
    names = ["work", "cal-1", "cal-2"]
    slow = SlowProvider(names)
    slow.opened = 2  # no pull moves the clock
    await ExternalCalendar.filter(id=ids[2]).delete()
    # when the batch runs
    outcomes = await run_pulls(ids, open_provider=slow.open_provider, clock=slow.clock)
    # then the two calendars are pulled, each logged once, and the gone one is skipped
    assert outcomes == ["done", "done", "skipped"]
    assert await SyncLogEntry.filter(action="pull").values_list("outcome", flat=True) == ["ok", "ok"]
    assert [calendar.last_pulled_at for calendar in await ExternalCalendar.all().order_by("id")] == [NOW, NOW]


async def test_a_batch_past_its_budget_hands_the_rest_back_as_due_now(db: str) -> None:
    # given a batch of four claimed calendars whose second pull outlasts the batch's budget
    ids = await given_calendars(4)
    await ExternalCalendar.filter(id__in=ids).update(next_pull_at=NOW + timedelta(seconds=30))
    slow = SlowProvider(["work", "cal-1", "cal-2", "cal-3"])
    # when the batch runs
    outcomes = await run_pulls(ids, open_provider=slow.open_provider, clock=slow.clock)
    # then two calendars are pulled and the two it did not reach are due at once, unpulled, their leases free
    assert outcomes == ["done", "done", "handed_back", "handed_back"]
    late = NOW + BATCH_BUDGET + timedelta(seconds=1)
    rows = await ExternalCalendar.filter(id__in=ids[2:]).order_by("id").values_list(
        "next_pull_at", "last_pulled_at", "sync_lock_owner")
    assert rows == [(late, None, ""), (late, None, "")]
    assert await SyncLogEntry.filter(action="pull").count() == 2
