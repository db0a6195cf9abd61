"""The scheduler: one loop that turns due work in the database into jobs on the queue.

Every tick it drains the outbox into pending mappings, claims pushes and pulls that are due (retries whose delay has
passed, calendars whose poll interval has passed, "sync now"), access tokens to refresh, push channels to open or
renew and mail to send, and enqueues their IDs (mail on a queue of its own, so a backlog of mail never delays sync).
Claims are leases, so if the queue cannot be reached (Redis down) the work is released and handed out on a later
tick: booking never waits for this, and nothing is lost. Only one scheduler acts at a time (a short-lived Redis
lock); others stand by.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.queue import EnqueueData

from jobs import mail, tasks
from models import CalendarConnection, EventMapping, ExternalCalendar
from providers.registry import REGISTRY, pushing, refreshing
from services import stage_stamps
from services.appointment_inbox import due_deliveries
from services.mail_delivery import claim_due_mail, hand_back_mail
from services.oauth_confirmation import erase_unconfirmed_grants
from services.oauth_tokens import claim_due_refreshes
from services.sync_dispatch import claim_due_pulls, claim_due_pushes, dispatch_outbox
from services.watch_channels import claim_due_watches

log = logging.getLogger("lockstep.scheduler")
QUEUE_NAME = "lockstep-sync"
MAIL_QUEUE_NAME = "lockstep-mail"
LEADER_KEY = "lockstep:scheduler:leader"
LEADER_SECONDS = 5
GRANT_SWEEP_EVERY = timedelta(minutes=1)  # how often unconfirmed OAuth grants past their time are erased
# Take the lock when free, or extend it when this scheduler holds it; 1 when it leads now, 0 otherwise.
_TAKE_OR_KEEP = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""


def _seconds(duration: timedelta) -> int:
    return int(duration.total_seconds())


def sync_queue(redis: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=redis)


def mail_queue(redis: Redis) -> Queue:
    return Queue(MAIL_QUEUE_NAME, connection=redis)


def _mail_jobs(mail_ids: list[int]) -> list[EnqueueData]:
    return [Queue.prepare_data(mail.send_mail, (mail_id,), timeout=mail.MAIL_TIMEOUT_SECONDS, result_ttl=60,
                               failure_ttl=86400) for mail_id in mail_ids]


def enqueue_pull(queue: Queue, calendar_id: int) -> None:
    """Put a claimed calendar's pull on the queue (the scheduler, and the webhook that hands out a pull at once)."""
    queue.enqueue(tasks.pull, calendar_id, job_timeout=_seconds(tasks.PULL_TIMEOUT), result_ttl=60,
                  failure_ttl=86400)


def enqueue_delivery(queue: Queue, delivery_id: int) -> None:
    """Put a kept appointment delivery's job on the queue (the webhook, and the scheduler for one whose job was
    lost)."""
    queue.enqueue(tasks.deliver, delivery_id, job_timeout=60, result_ttl=60, failure_ttl=86400)


def _batches(ids: list[int], size: int) -> list[list[int]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def _jobs(refreshes: list[int], pulls: list[int], pushes: list[int], watches: list[int],
          deliveries: Sequence[int] = ()) -> list[EnqueueData]:
    """A tick's jobs, in the order they were enqueued one by one before: refreshes, pulls, pushes, watches. Due
    calendars go PULL_BATCH to a job (tasks.pull_many); a push notification's pull is a job of its own."""
    return [
        *(Queue.prepare_data(tasks.refresh, (connection_id,), timeout=60, result_ttl=60, failure_ttl=86400)
          for connection_id in refreshes),
        *(Queue.prepare_data(tasks.pull_many, (batch,), timeout=_seconds(tasks.PULL_BATCH_TIMEOUT), result_ttl=60,
                             failure_ttl=86400) for batch in _batches(pulls, tasks.PULL_BATCH)),
        *(Queue.prepare_data(tasks.push, (mapping_id,), timeout=_seconds(tasks.PUSH_TIMEOUT), result_ttl=60,
                             failure_ttl=86400) for mapping_id in pushes),
        *(Queue.prepare_data(tasks.watch, (calendar_id,), timeout=_seconds(tasks.WATCH_TIMEOUT), result_ttl=60,
                             failure_ttl=86400) for calendar_id in watches),
        *(Queue.prepare_data(tasks.deliver, (delivery_id,), timeout=60, result_ttl=60, failure_ttl=86400)
          for delivery_id in deliveries),
    ]


@dataclass(frozen=True)
class TickResult:
    pushes: int
    pulls: int
    queue_down: bool = False
    watches: int = 0
    mails: int = 0
    # Seconds each step took (dispatch, pushes, pulls, refreshes, watches, enqueue): for measuring, not comparing.
    steps: dict[str, float] = field(default_factory=dict, compare=False)


class Scheduler:
    def __init__(self, redis: Redis, identity: str, *, push_channels: bool = False,
                 providers: Collection[str] | None = None) -> None:
        """`push_channels`: open and renew providers' push channels (only where providers can reach the webhooks).
        `providers`: the provider values this deployment configures (default: every one in the registry); tokens
        are refreshed and channels opened only for those whose registry entry says so."""
        self.redis = redis
        self.queue = sync_queue(redis)
        self.mail_queue = mail_queue(redis)
        self.identity = identity
        self.push_channels = push_channels
        configured = list(REGISTRY) if providers is None else list(providers)
        self.refreshing = refreshing(configured)
        self.pushing = pushing(configured)
        self.pushing_anywhere = pushing()  # kept in the due range even while not configured here
        self._next_grant_sweep: datetime | None = None

    def _lead(self) -> bool:
        """Take or keep the leader lock for a few seconds; a scheduler that stops lets another take over. Keeping
        it is one atomic script: a separate read and extend could extend a lock another scheduler took between."""
        return bool(self.redis.eval(_TAKE_OR_KEEP, 1, LEADER_KEY, self.identity, LEADER_SECONDS))

    async def tick(self, now: datetime | None = None) -> TickResult:
        now = now or datetime.now(UTC)
        try:
            if not self._lead():
                return TickResult(0, 0)
        except RedisError:
            return TickResult(0, 0, queue_down=True)  # claim nothing: the work stays due in the database
        if self._next_grant_sweep is None or now >= self._next_grant_sweep:
            await erase_unconfirmed_grants(now)
            self._next_grant_sweep = now + GRANT_SWEEP_EVERY
        steps: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal clock
            steps[step], clock = time.perf_counter() - clock, time.perf_counter()

        dispatched = await dispatch_outbox(now)
        lap("dispatch")
        pushes = sorted(set(dispatched) | set(await claim_due_pushes(now)))
        lap("pushes")
        pulls = await claim_due_pulls(now)
        lap("pulls")
        refreshes = await claim_due_refreshes(now, self.refreshing)
        lap("refreshes")
        watches = (await claim_due_watches(now, self.pushing, pushing=self.pushing_anywhere)
                   if self.push_channels else [])
        lap("watches")
        mails = await claim_due_mail(now)
        lap("mails")
        deliveries = await due_deliveries(now)
        lap("deliveries")
        try:
            # One round trip for the whole tick (rq writes every job in one pipeline), and one for its mail.
            jobs = _jobs(refreshes, pulls, pushes, watches, deliveries)
            if jobs:
                self.queue.enqueue_many(jobs)
            if mails:
                self.mail_queue.enqueue_many(_mail_jobs(mails))
            lap("enqueue")
        except RedisError:
            # Hand everything of this tick back; it is due again at once, and enqueued once Redis answers.
            await EventMapping.filter(id__in=pushes).update(next_attempt_at=now)
            await ExternalCalendar.filter(id__in=pulls).update(next_pull_at=now)
            await CalendarConnection.filter(id__in=refreshes).update(refresh_claimed_until=None)
            await ExternalCalendar.filter(id__in=watches).update(watch_claimed_until=None)
            await hand_back_mail(mails, now)
            return TickResult(0, 0, queue_down=True)
        return TickResult(len(pushes), len(pulls), watches=len(watches), mails=len(mails), steps=steps)

    async def run_forever(self, interval_seconds: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                stage_stamps.stamp("tick.start")
                result = await self.tick()
                stage_stamps.stamp("tick.end")
                if result.queue_down:
                    log.warning("job queue unreachable; sync work stays queued in the database")
            except Exception:  # one bad tick must not stop the scheduler; the next tick retries
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
