"""/metrics reads the sync engine's state when scraped (sync lag, connections, outbox, push backlog, queue depth),
adds the job outcomes real worker processes counted in Redis, and the live subscribers of a real server."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import PIPE, STDOUT

import httpx
import pytest
from redis import Redis

from app.main import create_app
from app.settings import Settings
from jobs.scheduler import Scheduler
from models import CalendarConnection, ConnectionHealth, Provider
from schema.ids import encode_id
from tests.support.live import AVAILABILITY_CHANGED, live_api, new_channel, socket, wait_for_health
from tests.support.metrics import scrape, value
from tests.support.server import ROOT, free_port
from tests.support.sync import ConnectedStaff, book, given_connected_staff

LAG = "lockstep_sync_lag_seconds"


def _client(redis_url: str | None) -> httpx.AsyncClient:
    settings = dataclasses.replace(Settings.from_env(), redis_url=redis_url, metrics_access="open")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://lockstep.test")


@pytest.fixture
async def http(db: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(redis_url) as client:
        yield client


async def _connection(given: ConnectedStaff, health: ConnectionHealth, last_success: datetime | None,
                      created: datetime) -> None:
    connection = await CalendarConnection.create(staff=given.staff, provider=Provider.CALDAV, health=health,
                                                 last_successful_sync_at=last_success)
    await CalendarConnection.filter(id=connection.id).update(created_at=created)


async def test_sync_lag_is_a_distribution_over_connections_with_the_worst(http: httpx.AsyncClient) -> None:
    # given connections last synced 90 s and 4000 s ago, one never synced since it was connected 20 s ago, and a
    # disconnected one (which has no lag)
    now = datetime.now(UTC)
    given = await given_connected_staff()
    await CalendarConnection.filter(id=given.connection.id).update(last_successful_sync_at=now - timedelta(seconds=90))
    await _connection(given, ConnectionHealth.DEGRADED, now - timedelta(seconds=4000), now - timedelta(days=2))
    await _connection(given, ConnectionHealth.REAUTHORIZATION_REQUIRED, None, now - timedelta(seconds=20))
    await _connection(given, ConnectionHealth.DISCONNECTED, now - timedelta(days=30), now - timedelta(days=40))
    started = time.monotonic()
    # when scraped
    samples = await scrape(http)
    elapsed = time.monotonic() - started + 1.0  # how much older every lag may have become meanwhile
    # then three connections are spread over the buckets, and the worst is the one 4000 s behind
    buckets = {dict(labels)["le"]: count for (name, labels), count in samples.items() if name == f"{LAG}_bucket"}
    assert buckets == {"30.0": 1, "60.0": 1, "120.0": 2, "300.0": 2, "900.0": 2, "1800.0": 2, "3600.0": 2,
                       "10800.0": 3, "21600.0": 3, "86400.0": 3, "259200.0": 3, "604800.0": 3, "+Inf": 3}
    assert value(samples, f"{LAG}_count") == 3
    assert 4110 <= value(samples, f"{LAG}_sum") <= 4110 + 3 * elapsed
    assert 4000 <= value(samples, "lockstep_sync_lag_max_seconds") <= 4000 + elapsed
    health = {dict(labels)["health"]: count for (name, labels), count in samples.items()
              if name == "lockstep_calendar_connections"}
    assert health == {"active": 1, "degraded": 1, "reauthorization_required": 1, "disconnected": 1}


async def test_without_connections_there_is_no_lag(http: httpx.AsyncClient) -> None:
    samples = await scrape(http)
    assert (value(samples, f"{LAG}_count"), value(samples, "lockstep_sync_lag_max_seconds")) == (0, 0)
    assert value(samples, "lockstep_outbox_depth") == 0


async def test_backlogs_queue_depth_and_job_outcomes_follow_the_work(http: httpx.AsyncClient, db: str,
                                                                    redis_url: str, tmp_path: Path) -> None:
    # given two bookings of a staff member whose calendar is connected (without credentials: the jobs skip it)
    given = await given_connected_staff()
    now = datetime.now(UTC)
    start = (now + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    await book(given, start, now)
    await book(given, start + timedelta(hours=2), now)
    # then both changes wait in the outbox
    waiting = await scrape(http)
    assert value(waiting, "lockstep_outbox_depth") == 2
    assert 0 <= value(waiting, "lockstep_outbox_oldest_seconds") < 60
    assert value(waiting, "lockstep_push_backlog", state="pending") == 0
    assert value(waiting, "lockstep_job_queue_depth", queue="lockstep-sync") == 0
    # when the scheduler drains the outbox and hands the work out
    handed = await Scheduler(Redis.from_url(redis_url), "metrics-test").tick()
    queued = await scrape(http)
    # then the outbox is empty, two events wait to be written, and their jobs wait in the queue
    assert (handed.pushes, handed.pulls) == (2, 1)
    assert (value(queued, "lockstep_outbox_depth"), value(queued, "lockstep_outbox_oldest_seconds")) == (0, 0)
    assert value(queued, "lockstep_push_backlog", state="pending") == 2
    assert value(queued, "lockstep_job_queue_depth", queue="lockstep-sync") == 3
    assert value(queued, "lockstep_job_queue_depth", queue="lockstep-mail") == 2  # the customers' confirmations
    # when a real worker process runs the queue
    env = {**os.environ, "LOCKSTEP_DATABASE_URL": db, "LOCKSTEP_REDIS_URL": redis_url,
           "LOCKSTEP_DATA_DIR": str(tmp_path), "LOCKSTEP_LIVE_CHANNEL": new_channel()}
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "app", "worker", "--burst", cwd=ROOT,
                                                  env=env, stdout=PIPE, stderr=STDOUT)
    output = (await asyncio.wait_for(worker.communicate(), timeout=120))[0].decode()
    assert worker.returncode == 0, output
    done = await scrape(http)
    # then the API process reports what the worker did, and the queue is empty
    jobs = {tuple(sorted(dict(labels).items())): count for (name, labels), count in done.items()
            if name == "lockstep_sync_jobs_total"}
    # (and the customers' confirmations, which wait for a mail server: none is configured here)
    assert jobs == {(("job", "pull"), ("outcome", "skipped")): 1, (("job", "push"), ("outcome", "skipped")): 2,
                    (("job", "mail"), ("outcome", "retrying")): 2}
    assert value(done, "lockstep_job_queue_depth", queue="lockstep-sync") == 0
    assert value(done, "lockstep_job_queue_depth", queue="lockstep-mail") == 0
    assert value(done, "lockstep_scrape_source_up", source="redis") == 1


async def test_a_redis_that_does_not_answer_leaves_only_its_metrics_out(db: str) -> None:
    async with _client(f"redis://127.0.0.1:{free_port()}/0") as client:
        samples = await scrape(client)
    assert value(samples, "lockstep_scrape_source_up", source="redis") == 0
    assert value(samples, "lockstep_scrape_source_up", source="database") == 1
    assert not any(name.startswith(("lockstep_job_queue_depth", "lockstep_sync_jobs")) for name, _ in samples)
    assert ("lockstep_outbox_depth", ()) in samples


async def test_live_subscribers_of_a_real_server_are_counted(db: str, redis_url: str, tmp_path: Path) -> None:
    # given a real API process and a staff member
    given = await given_connected_staff()
    staff_id = encode_id("StaffMember", given.staff.id)
    with live_api(db, tmp_path, redis_url, new_channel(), LOCKSTEP_METRICS="open") as base:
        async with httpx.AsyncClient(base_url=base) as http:
            assert value(await scrape(http), "lockstep_live_subscribers") == 0
            # when a visitor follows the staff member's availability
            async with socket(base) as visitor:
                visitor.subscribe(AVAILABILITY_CHANGED, {"staffId": staff_id})
                await wait_for_health(base, subscribers=1)
                # then one subscriber is counted
                assert value(await scrape(http), "lockstep_live_subscribers") == 1
            # and none once the visitor has gone
            await wait_for_health(base, subscribers=0)
            assert value(await scrape(http), "lockstep_live_subscribers") == 0
