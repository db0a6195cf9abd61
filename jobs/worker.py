"""Starting the processes that do sync work: RQ workers (several may run) and the scheduler (one leads)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

from redis import Redis
from rq import SimpleWorker

from jobs import runtime
from jobs.scheduler import Scheduler, sync_queue
from models.database import connected


def run_worker(config: runtime.JobConfig, *, burst: bool = False) -> bool:
    """Work the sync queue until stopped (or, with `burst`, until it is empty). SimpleWorker runs jobs in this
    process, on the runtime's long-lived event loop: no fork per job, so a job starts within milliseconds."""
    runtime.configure(config)
    redis = Redis.from_url(config.redis_url)
    worker = SimpleWorker([sync_queue(redis)], connection=redis)
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
        await Scheduler(redis, identity, push_channels=bool(config.public_url)).run_forever(interval_seconds, stop)


def run_scheduler(config: runtime.JobConfig, interval_seconds: float) -> None:
    runtime.configure(config)
    asyncio.run(_schedule(config, interval_seconds))
