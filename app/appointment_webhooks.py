"""An appointment provider's webhook (`POST /webhooks/calendly?channel=...`): verify, keep once, enqueue, answer.

Unlike a calendar's push notification, a delivery carries the change itself, and the answer's status tells the
provider what to do next, so it is checked before it is answered (docs/calendly.md):

- the channel in the URL names the connection; a channel no connection has, or a connection that was disconnected,
  is answered 410 Gone, which makes Calendly delete the subscription at once;
- the signature (`Calendly-Webhook-Signature`: HMAC-SHA256 of `t.body` with the connection's signing key, or the
  OAuth app's) must hold and be at most 180 seconds old, else 401 and nothing changes (Calendly signs each attempt
  anew, so its retries pass);
- a verified delivery is kept once by its kind and invitee (a retry or a replay adds nothing), its job enqueued,
  and 200 answered. A verified delivery of something Lockstep does not apply is answered 200 and dropped.

Keeping it is what makes the answer safe: if Redis is down the scheduler hands the kept delivery out later
(services.appointment_inbox), and the backstop listing repairs anything Calendly gave up on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from starlette.requests import Request
from starlette.responses import Response

from app.settings import Settings
from domain.calendly import UnreadableDelivery
from jobs.scheduler import enqueue_delivery, sync_queue
from providers.entry import AppointmentDescription
from providers.registry import available
from services import metrics, stage_stamps
from services.appointment_inbox import channel_target, keep_delivery
from services.credentials import CredentialsUnreadable, CredentialVault

log = logging.getLogger("lockstep.webhooks")
_REDIS_TIMEOUT = 0.5


def _keys(vault: CredentialVault, sealed: str, app_keys: Sequence[str]) -> list[str]:
    """The signing keys a delivery of the connection may be signed with: its own (a personal access token's
    subscription, or one pasted by hand), then the OAuth app's."""
    own: list[str] = []
    try:
        stored = vault.unseal(sealed) if sealed else {}
    except CredentialsUnreadable:
        stored = {}
    for key in stored.get("signing_keys", []) or []:
        if isinstance(key, str) and key:
            own.append(key)
    return [*own, *(key for key in app_keys if key)]


def appointment_webhook(provider: str, description: AppointmentDescription, vault: CredentialVault,
                        app_keys: Sequence[str], redis_url: str | None
                        ) -> Callable[[Request], Awaitable[Response]]:
    """The route handler of one appointment provider's webhook."""
    queue: Queue | None = None
    if redis_url:
        queue = sync_queue(Redis.from_url(redis_url, socket_connect_timeout=_REDIS_TIMEOUT,
                                          socket_timeout=_REDIS_TIMEOUT))

    def answer(outcome: str, status: int) -> Response:
        metrics.record_webhook_delivery(provider, outcome)
        return Response(status_code=status)

    async def delivery(request: Request) -> Response:
        body = await request.body()
        stage_stamps.stamp("delivery.received")
        target = await channel_target(request.query_params.get("channel", ""))
        if target is None or not target.connected:
            return answer("gone", 410)
        keys = _keys(vault, target.credentials, app_keys)
        header = request.headers.get(description.signature_header, "")
        if not keys or not description.verify(header, body, keys, time.time()):
            return answer("forged", 401)
        stage_stamps.stamp("delivery.verified", target.calendar_id)
        try:
            read = description.read(body)
        except UnreadableDelivery:
            return answer("ignored", 200)
        kept = await keep_delivery(target.calendar_id, description.delivery_key(read), body, datetime.now(UTC))
        if kept is None:
            return answer("duplicate", 200)
        stage_stamps.stamp("delivery.kept", kept)
        if queue is not None:
            try:
                # redis-py blocks; a thread keeps a slow Redis from stalling the process's other requests.
                await asyncio.to_thread(enqueue_delivery, queue, kept)
            except RedisError:
                log.warning("job queue unreachable; delivery %s left for the scheduler", kept)
            else:
                stage_stamps.stamp("delivery.enqueued", kept)
        return answer("accepted", 200)

    return delivery


def appointment_webhooks(settings: Settings, vault: CredentialVault) -> dict[str, Callable[[Request],
                                                                                     Awaitable[Response]]]:
    """The webhook handler of every available appointment provider, by provider value."""
    return {entry.name: appointment_webhook(entry.name, entry.appointments, vault,
                                            (settings.calendly_webhook_signing_key,), settings.redis_url)
            for entry in available() if entry.appointments is not None}
