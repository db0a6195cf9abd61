"""Live updates, the publishing side: the events any process (API or worker) announces after a change commits.

The events (and their terms: event, topic, missed events) are defined in services.live_events.

An HTTP request's events are held until its response has gone (`holding`, used by the app around every request),
so that the one who made a change never waits for the fan-out of it to every subscriber of the process.

Publishing is best effort. Redis pub/sub keeps nothing for later anyway, and invariant 3 says a booking never waits
for Redis: a publish waits at most `timeout` seconds, and after a failure the publisher stays quiet for `cooldown`
seconds instead of making every booking pay the timeout again. Failures are logged, never raised.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import ParamSpec, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from domain.intervals import Span, covering_spans
from domain.zones import load_zone, to_utc
from services import stage_stamps

# The events themselves live in services.live_events; they are named here too, where publishers look for them.
from services.live_events import (
    CONNECTION_LOST as CONNECTION_LOST,
    SLOW_CLIENT as SLOW_CLIENT,
    AvailabilityChanged as AvailabilityChanged,
    BookingsChanged as BookingsChanged,
    LiveEvent as LiveEvent,
    LiveFeed as LiveFeed,
    MissedEvents as MissedEvents,
    NotificationsAdded as NotificationsAdded,
    SyncHealthChanged as SyncHealthChanged,
    decode as decode,
    encode as encode,
    topic as topic,
)

DEFAULT_CHANNEL = "lockstep:live"
MAX_SPANS = 50  # per availability event; more are sent as the one span that covers them
log = logging.getLogger("lockstep.live")
P = ParamSpec("P")


class Publisher:
    """Publishes events on one Redis channel. Safe to share between event loops: each loop gets its own client
    (a worker runs jobs on its own loop, tests on theirs)."""

    def __init__(self, redis_url: str, channel: str = DEFAULT_CHANNEL, *, timeout: float = 0.25,
                 cooldown: float = 1.0) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.timeout = timeout
        self.cooldown = cooldown
        self._quiet_until = 0.0
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = weakref.WeakKeyDictionary()

    def _client(self) -> Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # One retry: a pooled connection may be stale after a Redis restart; a fresh one then succeeds.
            client = Redis.from_url(self.redis_url, socket_connect_timeout=self.timeout,
                                    socket_timeout=self.timeout, retry=Retry(NoBackoff(), 1))
            self._clients[loop] = client
        return client

    async def publish(self, event: LiveEvent) -> bool:
        """True when Redis took the message; False (logged) when it could not be published."""
        if time.monotonic() < self._quiet_until:
            return False
        try:
            async with asyncio.timeout(self.timeout * 2):
                await self._client().publish(self.channel, encode(event))
            return True
        except Exception as error:  # best effort by design: nothing a publish can raise may fail the caller
            self._quiet_until = time.monotonic() + self.cooldown
            log.warning("live update not published (%s); subscribers will be told they may have missed events",
                        type(error).__name__)
            return False

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()


_publisher: Publisher | None = None


def configure(redis_url: str | None, channel: str = DEFAULT_CHANNEL) -> Publisher | None:
    """Set (or, with None, unset) where this process publishes. The API calls it at start-up, a worker from its
    job configuration; a process that never calls it publishes nothing."""
    global _publisher
    _publisher = Publisher(redis_url, channel) if redis_url else None
    return _publisher


def publisher() -> Publisher | None:
    return _publisher


_held: ContextVar[list[LiveEvent] | None] = ContextVar("lockstep_live_held", default=None)


@contextmanager
def holding() -> Iterator[list[LiveEvent]]:
    """Within it, publish() keeps events in the yielded list, in order, for the caller to publish_all() later."""
    held: list[LiveEvent] = []
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)


def is_holding() -> bool:
    """Whether publish() keeps events for later here (inside holding())."""
    return _held.get() is not None


async def publish(event: LiveEvent) -> bool:
    """Publish after the change committed (subscribers read the database when the event arrives). Inside
    holding(), True means the event is held for later."""
    if _publisher is None:
        return False
    held = _held.get()
    if held is not None:
        held.append(event)
        return True
    return await _publisher.publish(event)


async def publish_all(events: Iterable[LiveEvent]) -> None:
    for event in events:
        await publish(event)


def after_commit(announce: Callable[P, Awaitable[None]]) -> Callable[P, Awaitable[None]]:
    """Marks an announcement made once a change has committed. Whatever it raises (working out a span of a date at the
    edge of the calendar, a row it cannot read) is logged and swallowed: the change is done, and its answer must say
    so, never "Unexpected error."."""

    @functools.wraps(announce)
    async def announced(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await announce(*args, **kwargs)
        except Exception as error:
            log.warning("live update not announced (%s)", type(error).__name__)

    return announced


@after_commit
async def publish_availability_changed(staff_id: int, spans: Iterable[Span], service_ids: Iterable[int] = ()
                                       ) -> None:
    """The staff member's free time may have changed inside `spans`: bookings, blocked time, or busy time imported
    from a calendar. Call it once the transaction that changed it has committed."""
    # Merged, and bounded in number: an import or a disconnect can free thousands of blocks at once.
    stage_stamps.stamp("blocks.committed", staff_id)
    merged = tuple(covering_spans(spans, most=MAX_SPANS))
    if merged or service_ids:
        await publish(AvailabilityChanged(staff_id, merged, tuple(sorted(set(service_ids)))))
    stage_stamps.stamp("blocks.published", staff_id)


# How far ahead a change of hours or of a service can change slots: the longest booking horizon (730 days) and a day.
SCHEDULE_REACH = timedelta(days=731)


@after_commit
async def publish_schedule_changed(staff_ids: Iterable[int], *, service_ids: Iterable[int] = ()) -> None:
    """Working hours or a service changed: every slot from now to SCHEDULE_REACH may differ."""
    now = datetime.now(UTC)
    reach = Span(now, now + SCHEDULE_REACH)
    services = tuple(service_ids)
    for staff_id in sorted(set(staff_ids)):
        await publish_availability_changed(staff_id, [reach], services)


@after_commit
async def publish_day_changed(staff_id: int, day: date, zone_name: str, *, through_minute: int = 1440) -> None:
    """One local date's hours changed: only that day's slots (the date in the staff member's zone, as a UTC span of
    23 or 25 hours on DST days) may differ, and, when a night range that starts on it was added or removed, the next
    morning's until `through_minute` (minutes after the date's midnight, past 1440)."""
    zone = load_zone(zone_name)
    midnight = datetime(day.year, day.month, day.day)
    start = to_utc(midnight, zone)
    end = to_utc(midnight + timedelta(minutes=max(through_minute, 1440)), zone)
    await publish_availability_changed(staff_id, [Span(start, end)])


@after_commit
async def publish_bookings_changed(kind: str, business_id: int, staff_ids: Iterable[int],
                                   booking_ids: Iterable[int], customer_ids: Iterable[int] = ()) -> None:
    ids = tuple(sorted(set(booking_ids)))
    if ids:
        await publish(BookingsChanged(kind, business_id, tuple(sorted(set(staff_ids))), ids,
                                      tuple(sorted(set(customer_ids)))))


class BookingRow(Protocol):
    """The fields of a booking row that an announcement reads (models.Booking has them)."""

    id: int
    business_id: int
    staff_id: int
    customer_id: int | None
    buffered_start: datetime
    buffered_end: datetime


@after_commit
async def publish_booking_rows(kind: str, rows: Sequence[BookingRow], earlier: Sequence[BookingRow] = (), *,
                               time_changed: bool = True) -> None:
    """Announce committed booking changes: bookingChanged for the rows, and unless only their details changed,
    availabilityChanged for the time each one now holds and (for a move, from `earlier`) the time it gave up."""
    if not rows:
        return
    spans: dict[int, list[Span]] = {}
    for row in [*earlier, *rows]:
        spans.setdefault(row.staff_id, []).append(Span(row.buffered_start, row.buffered_end))
    customers = [row.customer_id for row in rows if row.customer_id is not None]
    await publish_bookings_changed(kind, rows[0].business_id, spans, [row.id for row in rows], customers)
    if time_changed:
        for staff_id, taken in spans.items():
            await publish_availability_changed(staff_id, taken)


@after_commit
async def publish_sync_health_changed(connection_id: int, staff_id: int, business_id: int, status: str) -> None:
    await publish(SyncHealthChanged(connection_id, staff_id, business_id, status))


@after_commit
async def publish_notifications_added(user_ids: Iterable[int]) -> None:
    users = tuple(sorted(set(user_ids)))
    if users:
        await publish(NotificationsAdded(users))
