"""The API process's end of live updates: one Redis pub/sub connection, fanned out to every subscriber.

Each subscriber has a small bounded mailbox. The hub only ever appends to mailboxes, so a client that reads slowly
(or not at all) never delays the hub or anyone else: when its mailbox is full its backlog is dropped and replaced by
one "missed events" marker. When the Redis connection is lost the hub reconnects with growing pauses; once it is
back, every subscriber is told it may have missed events (Redis pub/sub keeps nothing for absent listeners), so
clients refetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from services.live import CONNECTION_LOST, SLOW_CLIENT, LiveEvent, MissedEvents, decode

log = logging.getLogger("lockstep.live")
FAN_OUT_GROUP = 16


class Mailbox:
    """A bounded queue of one subscriber's events. Overflow drops the backlog for one MissedEvents."""

    def __init__(self, size: int) -> None:
        self.size = max(size, 1)
        self._items: deque[LiveEvent | MissedEvents] = deque()
        self._ready = asyncio.Event()

    def offer(self, event: LiveEvent) -> None:
        if len(self._items) >= self.size:
            self.missed(SLOW_CLIENT)
            return
        self._items.append(event)
        self._ready.set()

    def missed(self, reason: str) -> None:
        if len(self._items) >= self.size or reason == SLOW_CLIENT:
            # Everything queued so far is covered by the refetch the marker asks for.
            self._items.clear()
        if not (self._items and isinstance(self._items[-1], MissedEvents)):
            self._items.append(MissedEvents(reason))
        self._ready.set()

    def __aiter__(self) -> AsyncIterator[LiveEvent | MissedEvents]:
        return self

    async def __anext__(self) -> LiveEvent | MissedEvents:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()


class LiveHub:
    """Implements services.live.LiveFeed for one API process."""

    def __init__(self, redis_url: str, channel: str, mailbox_size: int = 100, *,
                 reconnect_min: float = 0.1, reconnect_max: float = 5.0, health_check_seconds: int = 5) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.mailbox_size = mailbox_size
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.health_check_seconds = health_check_seconds
        self.connected = asyncio.Event()
        self._topics: dict[str, set[Mailbox]] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @asynccontextmanager
    async def listen(self, topics: Collection[str]) -> AsyncIterator[AsyncIterator[LiveEvent | MissedEvents]]:
        mailbox = Mailbox(self.mailbox_size)
        for name in topics:
            self._topics.setdefault(name, set()).add(mailbox)
        try:
            yield mailbox
        finally:
            for name in topics:
                subscribers = self._topics.get(name)
                if subscribers is not None:
                    subscribers.discard(mailbox)
                    if not subscribers:
                        del self._topics[name]

    def subscriber_count(self) -> int:
        return len({mailbox for mailboxes in self._topics.values() for mailbox in mailboxes})

    def receivers(self, event: LiveEvent) -> list[Mailbox]:
        found: set[Mailbox] = set()
        for name in event.topics():
            found |= self._topics.get(name, set())
        return list(found)

    def dispatch(self, event: LiveEvent) -> None:
        for mailbox in self.receivers(event):
            mailbox.offer(event)

    async def fan_out(self, event: LiveEvent) -> None:
        """dispatch(), a few subscribers at a time: each woken subscriber costs its delivery in CPU, and waking
        hundreds at once would queue every other task of the process (an HTTP request's next step) behind all of
        them. Between groups the event loop runs whatever else is ready."""
        receivers = self.receivers(event)
        for first in range(0, len(receivers), FAN_OUT_GROUP):
            for mailbox in receivers[first:first + FAN_OUT_GROUP]:
                mailbox.offer(event)
            await asyncio.sleep(0)

    def _everyone_missed(self) -> None:
        for mailbox in {mailbox for mailboxes in self._topics.values() for mailbox in mailboxes}:
            mailbox.missed(CONNECTION_LOST)

    async def _run(self) -> None:
        pause = self.reconnect_min
        gap = False  # a connection failed or was lost: events published meanwhile reached nobody here
        while True:
            # No retries inside redis-py: a silent reconnect would hide the gap from subscribers.
            client = Redis.from_url(self.redis_url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2,
                                    health_check_interval=self.health_check_seconds)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.connected.set()
                pause = self.reconnect_min
                if gap:
                    self._everyone_missed()
                    gap = False
                await self._deliver(pubsub)
            except (RedisError, OSError) as error:
                log.warning("live updates: no Redis connection (%s); trying again in %.1fs",
                            type(error).__name__, pause)
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            gap = True
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.reconnect_max)

    async def _deliver(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=float(self.health_check_seconds))
            if message is None or message.get("type") != "message":
                continue
            event = decode(message["data"])
            if event is not None:
                await self.fan_out(event)
