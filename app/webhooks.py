"""Provider webhooks (DESIGN.md invariant 8: answer fast, trust nothing).

`POST /webhooks/google` receives Google's push notifications (providers.md A6): no body, the X-Goog-* headers. A
notification only makes its calendar due for an incremental pull, and only when it names a live channel and carries
that channel's secret token; the pull itself reads what changed, so a notification carries nothing we believe.
The answer is always 200 with an empty body: any other code makes Google retry or count a failure, and would tell a
sender probing channel ids which ones exist.

The answer goes before anything is looked up: the notification waits in the process's inbox (app.webhook_inbox)
and is checked a moment later, so a burst is acknowledged in milliseconds. A verified one marks its calendar due in
the database; with Redis configured its pull is also handed out at once: the calendar is marked due and claimed (as
the scheduler would claim it) in one statement and its job enqueued, instead of waiting up to a scheduler tick. The
database stays the source of truth: if the claim or Redis fails, the calendar is left due and the scheduler hands
the pull out on its next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from starlette.requests import Request
from starlette.responses import Response

from app.webhook_inbox import NotificationInbox
from jobs.scheduler import enqueue_pull, sync_queue
from services import metrics, stage_stamps
from services.sync_dispatch import claim_pull_now
from services.watch_channels import pull_now, verified_calendar

log = logging.getLogger("lockstep.webhooks")
_CHANGED = {"exists", "not_exists"}  # `sync` only confirms a new channel: nothing changed
_REDIS_TIMEOUT = 0.5  # seconds; a Redis that does not answer leaves the pull to the scheduler


async def _hand_out_pull(queue: Queue, calendar_id: int, now: datetime) -> None:
    try:
        claimed = await claim_pull_now(calendar_id, now)
    except Exception:
        log.exception("a pull could not be claimed; the scheduler hands it out")
        await pull_now(calendar_id, now)
        return
    stage_stamps.stamp("webhook.claimed", calendar_id)
    if not claimed:  # not pulled (import switched off, say): due all the same, as without a queue
        await pull_now(calendar_id, now)
        return
    try:
        # redis-py is blocking; a thread keeps a slow Redis from stalling this process's other requests.
        await asyncio.to_thread(enqueue_pull, queue, calendar_id)
        stage_stamps.stamp("webhook.enqueued", calendar_id)
    except RedisError:
        log.warning("job queue unreachable; calendar %s left due for the scheduler", calendar_id)
        await pull_now(calendar_id, now)


def google_inbox(redis_url: str | None) -> NotificationInbox:
    """The inbox of Google notifications; without `redis_url` a verified one only marks its calendar due for the
    scheduler."""
    queue = None
    if redis_url:
        queue = sync_queue(Redis.from_url(redis_url, socket_connect_timeout=_REDIS_TIMEOUT,
                                          socket_timeout=_REDIS_TIMEOUT))

    async def check(channel_id: str, token: str) -> str:
        now = datetime.now(UTC)
        calendar_id = await verified_calendar(channel_id, token, now)
        if calendar_id is None:
            return "ignored"
        stage_stamps.stamp("webhook.verified", calendar_id)
        if queue is None:
            await pull_now(calendar_id, now)
        else:
            await _hand_out_pull(queue, calendar_id, now)
        return "accepted"

    return NotificationInbox("google", check)


def google_webhook(inbox: NotificationInbox) -> Callable[[Request], Awaitable[Response]]:
    """The route handler: a change notification goes to `inbox`, anything else is ignored; the answer never waits."""

    async def google_notification(request: Request) -> Response:
        state = request.headers.get("x-goog-resource-state", "")
        if state in _CHANGED:
            inbox.offer(request.headers.get("x-goog-channel-id", ""), request.headers.get("x-goog-channel-token", ""))
        else:
            metrics.record_webhook_delivery("google", "ignored")
        return Response(status_code=200)

    return google_notification
