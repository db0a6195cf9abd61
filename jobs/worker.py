"""Starting the processes that do sync work and send mail: RQ workers (several may run) and the scheduler (one
leads)."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
from datetime import timedelta

from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job

from jobs import runtime
from jobs.scheduler import Scheduler, mail_queue, sync_queue
from models.database import connected
from services import stage_stamps

RECONNECT_WAIT_LIMIT = timedelta(seconds=5)  # the longest a worker waits between tries to reach Redis again


class SyncWorker(SimpleWorker):
    """RQ's SimpleWorker, back within seconds of Redis returning. RQ waits twice as long after each failed attempt to
    reach Redis, up to a minute by default, so after a long outage a worker would sleep through up to a minute of
    work that is due (the scheduler hands it out as soon as Redis answers); capped, a retry every few seconds costs
    nothing."""

    max_connection_wait_time = RECONNECT_WAIT_LIMIT.total_seconds()

    def execute_job(self, job: Job, queue: Queue) -> None:
        stage_stamps.stamp("job.start")
        super().execute_job(job, queue)
        stage_stamps.stamp("job.end")


def freeze_start_up_heap() -> None:
    """Everything loaded by start-up (modules, the ORM's models) lives as long as the process: move it out of the
    collector's way. Unfrozen, the occasional full collection walked all of it and paused a worker or the scheduler
    for 100-280 ms in the middle of a pull or a tick (bench/google_latency.py); frozen, a collection walks only
    what jobs left behind. Young collections keep Python's default pace: a job allocates little."""
    gc.collect()
    gc.freeze()


def run_worker(config: runtime.JobConfig, *, burst: bool = False) -> bool:
    """Work the sync queue until stopped (or, with `burst`, until it is empty). SimpleWorker runs jobs in this
    process, on the runtime's long-lived event loop: no fork per job, so a job starts within milliseconds."""
    runtime.configure(config)
    runtime.run(asyncio.sleep(0))  # the loop and the ORM opened now, so that the first job does not pay for them
    freeze_start_up_heap()
    # A Redis that cannot be reached at all (not merely refusing) must not hold a try up longer than the wait.
    redis = Redis.from_url(config.redis_url, socket_connect_timeout=RECONNECT_WAIT_LIMIT.total_seconds())
    # Sync first: RQ takes jobs from the queues in order, so mail waits while calendars have work.
    worker = SyncWorker([sync_queue(redis), mail_queue(redis)], connection=redis)
    try:
        return worker.work(burst=burst, logging_level="WARNING")
    finally:
        runtime.shutdown()


async def _schedule(config: runtime.JobConfig, interval_seconds: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    redis = Redis.from_url(config.redis_url)
    identity = f"{socket.gethostname()}:{os.getpid()}"
    async with connected(config.database_url, config.sqlite_busy_timeout_ms):
        freeze_start_up_heap()
        scheduler = Scheduler(redis, identity, push_channels=bool(config.public_url), providers=config.configured())
        await scheduler.run_forever(interval_seconds, stop)


def run_scheduler(config: runtime.JobConfig, interval_seconds: float) -> None:
    runtime.configure(config)
    asyncio.run(_schedule(config, interval_seconds))
