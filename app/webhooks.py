"""Provider webhooks (DESIGN.md invariant 8: answer fast, trust nothing).

`POST /webhooks/{provider}` receives a pushing provider's notifications; the provider's registry entry reads them
(Google's: no body, the X-Goog-* headers; docs/providers.md, "Google: push channels"), so `/webhooks/google`, where
Google's open channels point, is this route too. A notification only makes its calendar due for an incremental
pull, and only when it names a live channel and carries that channel's secret token; the pull itself reads what
changed, so a notification carries nothing we believe. The answer is always the provider's "received" (Google 200,
Graph 202) with an empty body: any other code makes the provider retry or count a failure, and would tell a sender
probing channel ids which ones exist. A verified lifecycle notification (Graph) renews or replaces its channel
instead (services.watch_channels). A handshake (Graph's validation request) is answered with the token it carries,
as plain text, and changes nothing. A provider the
registry does not know, or one that does not push or is not available here, gets 404.

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
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.webhook_inbox import NotificationInbox
from jobs.scheduler import enqueue_pull, sync_queue
from providers.entry import Inbound, Notification, NotificationKind, ProviderEntry
from providers.registry import REGISTRY, entry_of
from services import metrics, stage_stamps
from services.sync_dispatch import claim_pull_now
from services.watch_channels import channel_removed, pull_now, renewal_requested, verified_calendar

log = logging.getLogger("lockstep.webhooks")
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


def provider_inbox(provider: str, redis_url: str | None) -> NotificationInbox:
    """The inbox of one provider's notifications; without `redis_url` a verified one only marks its calendar due for
    the scheduler."""
    queue = None
    if redis_url:
        queue = sync_queue(Redis.from_url(redis_url, socket_connect_timeout=_REDIS_TIMEOUT,
                                          socket_timeout=_REDIS_TIMEOUT))

    async def check(notification: Notification) -> str:
        now = datetime.now(UTC)
        calendar_id = await verified_calendar(notification.channel_id, notification.token, now, provider)
        if calendar_id is None:
            return "ignored"
        stage_stamps.stamp("webhook.verified", calendar_id)
        if notification.kind == NotificationKind.REMOVED:
            await channel_removed(calendar_id, notification.channel_id, now)
            return "accepted"
        if notification.kind == NotificationKind.RENEW:
            await renewal_requested(calendar_id, notification.channel_id, now)
            return "accepted"
        if queue is None:
            await pull_now(calendar_id, now)
        else:
            await _hand_out_pull(queue, calendar_id, now)
        return "accepted"

    return NotificationInbox(provider, check)


class WebhookInboxes:
    """One inbox per provider whose registry entry pushes (and is available on this server)."""

    def __init__(self, redis_url: str | None) -> None:
        self.inboxes = {entry.name: provider_inbox(entry.name, redis_url) for entry in REGISTRY.values()
                        if entry.available and entry.push is not None}

    def get(self, provider: str) -> NotificationInbox | None:
        return self.inboxes.get(provider)

    async def drained(self) -> None:
        """Wait until every notification taken so far, of every provider, has been checked."""
        for inbox in self.inboxes.values():
            await inbox.drained()


def provider_webhook(entry: ProviderEntry, inbox: NotificationInbox) -> Callable[[Request], Awaitable[Response]]:
    """The route handler of one provider: a handshake is answered with the text it asks for; notifications go to
    `inbox`, anything else is ignored; the answer never waits."""
    assert entry.push is not None
    push = entry.push

    async def notification(request: Request) -> Response:
        body = await request.body()
        inbound = Inbound(request.headers, request.query_params, body)
        echoed = push.handshake(inbound) if push.handshake is not None else None
        if echoed is not None:
            # Plain text that a browser must not sniff as HTML: the token is the sender's, and is echoed as given.
            metrics.record_webhook_delivery(inbox.provider, "handshake")
            return PlainTextResponse(echoed, headers={"X-Content-Type-Options": "nosniff"})
        found = push.read(inbound)
        if not found:
            metrics.record_webhook_delivery(inbox.provider, "ignored")
        for each in found:
            inbox.offer(each)
        return Response(status_code=push.accepted_status)

    return notification


Handler = Callable[[Request], Awaitable[Response]]


def webhooks(inboxes: WebhookInboxes, appointment_handlers: Mapping[str, Handler] | None = None) -> Handler:
    """The route handler of `POST /webhooks/{provider}`, by the provider the path names: a calendar provider's
    notifications, or an appointment provider's deliveries (`appointment_handlers`, app.appointment_webhooks). A
    name the registry does not know, or a provider that does not push or is not available on this server, is not
    found (nothing is read, nothing changes)."""
    handlers = {name: provider_webhook(entry_of(name), inbox) for name, inbox in inboxes.inboxes.items()}
    handlers.update(appointment_handlers or {})

    async def notification(request: Request) -> Response:
        handler = handlers.get(str(request.path_params.get("provider", "")))
        if handler is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return await handler(request)

    return notification
