"""Mail tests on a clock the test moves: the real scheduler claims due mail and puts its jobs on a real Redis queue,
and the test runs the jobs it finds there (the body a worker runs) at that moment, against a real SMTP server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from redis import Redis

from jobs import runtime
from jobs.mail import run_mail
from jobs.scheduler import Scheduler, mail_queue
from models import MailOutbox, MailState

MAIL_FROM = "bookings@fixit.example"


@contextmanager
def mail_runtime(database_url: str, redis_url: str, smtp_url: str, *, public_url: str = "https://lockstep.example",
                 secret_keys: tuple[str, ...] | None = None, **mail: Any) -> Iterator[None]:
    """The job runtime as a worker has it, sending to `smtp_url` (with more of JobConfig's mail settings, such as
    `smtp_starttls` and `smtp_ca_file`, as given), with the credential keys `secret_keys` (the app's, from the
    environment, when not given: customers' feed tokens are sealed with them)."""
    secret_keys = secret_keys or tuple(os.environ["LOCKSTEP_SECRET_KEYS"].split(","))
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url=redis_url, secret_keys=secret_keys,
                                        smtp_url=smtp_url, mail_from=MAIL_FROM, public_url=public_url, **mail))
    try:
        yield
    finally:
        runtime.configure(runtime.JobConfig(database_url=database_url, redis_url=redis_url, secret_keys=("unused",)))


class MailTimeline:
    def __init__(self, redis_url: str) -> None:
        self.redis = Redis.from_url(redis_url)
        self.scheduler = Scheduler(self.redis, "mail-test")
        self.queue = mail_queue(self.redis)
        self.outcomes: list[str] = []

    async def tick(self, now: datetime) -> list[str]:
        """One tick of the scheduler at `now`, and the mail jobs it queued run at `now`; their outcomes."""
        await self.scheduler.tick(now)
        jobs = self.queue.jobs
        self.queue.empty()
        outcomes = [await run_mail(int(job.args[0]), clock=lambda: now) for job in jobs
                    if job.func_name == "jobs.mail.send_mail"]
        self.outcomes += outcomes
        return outcomes


async def states() -> list[tuple[str, str]]:
    """Every mail row's kind and state, in the order they were written."""
    return [(row.kind, str(row.state)) for row in await MailOutbox.all().order_by("id")]


async def pending_kinds() -> list[str]:
    return [row.kind for row in await MailOutbox.filter(state=MailState.PENDING).order_by("id")]
