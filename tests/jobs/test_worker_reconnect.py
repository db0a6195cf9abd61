"""A sync worker is back at work within seconds of Redis returning, however long Redis was away: its wait between
tries to reach Redis again is capped at 5 seconds (RQ's own would have grown to 16 s and more by then)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from subprocess import DEVNULL

from redis import Redis
from rq.job import JobStatus

from jobs.scheduler import sync_queue
from jobs.worker import RECONNECT_WAIT_LIMIT, SyncWorker
from services.credentials import new_key
from tests.support.redis_server import own_redis
from tests.support.server import ROOT

OUTAGE_SECONDS = 20  # RQ's waits 1, 2, 4, 8, 16 s would next try 31 s after Redis went away
MISSING_CALENDAR = 987654  # a pull of a calendar that does not exist: done at once, with no provider


def test_the_wait_between_tries_to_reach_redis_is_at_most_5_seconds() -> None:
    assert SyncWorker.max_connection_wait_time == RECONNECT_WAIT_LIMIT.total_seconds() == 5.0


async def test_a_worker_runs_jobs_within_5_seconds_of_redis_returning_after_20_seconds_away(
        db: str, tmp_path: Path) -> None:
    with own_redis(tmp_path) as redis_server:
        # given a worker process working the sync queue
        env = {**os.environ, "LOCKSTEP_DATABASE_URL": db, "LOCKSTEP_REDIS_URL": redis_server.url,
               "LOCKSTEP_SECRET_KEYS": new_key(), "LOCKSTEP_DATA_DIR": str(tmp_path)}
        worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "app", "worker", cwd=ROOT, env=env,
                                                      stdout=DEVNULL, stderr=DEVNULL)
        try:
            queue = sync_queue(Redis.from_url(redis_server.url))
            first = queue.enqueue("jobs.tasks.pull", MISSING_CALENDAR)
            assert await finished(first.id, redis_server.url, within=60)
            # when Redis is away for 20 seconds, then back (empty: it keeps nothing on disk)
            redis_server.stop()
            await asyncio.sleep(OUTAGE_SECONDS)
            redis_server.start()
            back = time.monotonic()
            job = sync_queue(Redis.from_url(redis_server.url)).enqueue("jobs.tasks.pull", MISSING_CALENDAR)
            # then the worker has reconnected and run the job within the 5 s cap (and a little for the job)
            assert await finished(job.id, redis_server.url, within=RECONNECT_WAIT_LIMIT.total_seconds() + 2)
            assert time.monotonic() - back <= RECONNECT_WAIT_LIMIT.total_seconds() + 2
            assert worker.returncode is None  # it kept running through the outage
        finally:
            worker.terminate()
            await worker.wait()


async def finished(job_id: str, redis_url: str, *, within: float) -> bool:
    queue = sync_queue(Redis.from_url(redis_url))
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        job = queue.fetch_job(job_id)
        if job is not None and job.get_status() == JobStatus.FINISHED:
            return job.return_value() == "skipped"
        await asyncio.sleep(0.1)
    return False
