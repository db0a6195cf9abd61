"""Provider notifications answered at once and checked right after, one at a time, in the order they came.

A notification is answered before anything is looked up, so a burst of them (hundreds of connections at once, real or
forged) is acknowledged within milliseconds instead of queueing behind one database read each. What a notification
says is then checked by one consumer task per process: the channel and its secret token are verified, and only a
verified one makes its calendar due (and hands out its pull).

Terms: *pending* notifications are received and not yet checked. They are kept by (channel id, token, kind), so a
repeat of one still pending adds nothing; at most `capacity` are pending, and one more is dropped (counted as such)
rather than letting a flood grow the process's memory. A dropped or unchecked real notification (the process stopped in
between) costs time, not changes: every watched calendar is also pulled by the backstop poll.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from providers.entry import Notification
from services import metrics, stage_stamps

log = logging.getLogger("lockstep.webhooks")
DEFAULT_CAPACITY = 10_000
# Longer channel ids or tokens than any provider issues are not ours (Google's: 64 and 256 characters at most).
MAX_FIELD_LENGTH = 256

Check = Callable[[Notification], Awaitable[str]]


class NotificationInbox:
    """Pending notifications of one provider; `check(notification)` verifies one and says what became of it (one of
    services.metrics.WEBHOOK_OUTCOMES)."""

    def __init__(self, provider: str, check: Check, capacity: int = DEFAULT_CAPACITY) -> None:
        self.provider = provider
        self._check = check
        self._capacity = capacity
        self._pending: OrderedDict[Notification, None] = OrderedDict()
        self._consumer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def offer(self, notification: Notification) -> bool:
        """Take a notification to check; False when it was dropped (the inbox is full)."""
        stage_stamps.stamp("webhook.received")
        if len(notification.channel_id) > MAX_FIELD_LENGTH or len(notification.token) > MAX_FIELD_LENGTH:
            metrics.record_webhook_delivery(self.provider, "ignored")
            return True
        key = notification
        if key not in self._pending and len(self._pending) >= self._capacity:
            metrics.record_webhook_delivery(self.provider, "dropped")
            return False
        self._pending[key] = None
        self._idle.clear()
        if self._consumer is None or self._consumer.done():
            # Started on first use, on the loop that serves the requests: no lifespan hook is needed.
            # In a context of its own: the request that starts it holds its live events until its answer has gone
            # (services.live.holding), and the consumer outlives that request.
            self._consumer = asyncio.get_running_loop().create_task(self._consume(), context=contextvars.Context())
        return True

    def pending(self) -> int:
        return len(self._pending)

    async def drained(self) -> None:
        """Wait until every notification taken so far has been checked."""
        await self._idle.wait()

    async def _consume(self) -> None:
        try:
            while self._pending:
                notification, _ = self._pending.popitem(last=False)
                stage_stamps.stamp("webhook.checking")
                try:
                    outcome = await self._check(notification)
                except Exception:  # the backstop pull still comes; the next notification is checked all the same
                    log.exception("a %s notification could not be recorded", self.provider)
                    outcome = "failed"
                metrics.record_webhook_delivery(self.provider, outcome)
        finally:
            if not self._pending:
                self._idle.set()
