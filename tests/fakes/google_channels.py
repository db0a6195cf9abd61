"""Push channels of the fake Google Calendar (docs/providers.md, "Google: push channels"): events.watch opens one, a
`sync` notification goes to its address at once, then an `exists` notification follows every change to the calendar
until the channel expires or is stopped. A notification is a POST with no body and the X-Goog-* headers;
500/502/503/504 answers are retried with backoff as Google does, any other answer is final.

Deliveries go through one queue, so they leave in order and message numbers only grow.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp

from tests.fakes.outbox import Outbox

MAX_TTL_SECONDS = 7 * 24 * 3600  # Google's documented default; the real maximum is not documented
_RETRIED = {500, 502, 503, 504}


@dataclass
class Channel:
    channel_id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    address: str
    token: str | None
    expires_ms: int

    @property
    def live(self) -> bool:
        return self.expires_ms > time.time() * 1000


@dataclass(frozen=True)
class Delivery:
    """One notification as sent, and what the receiver answered (0: could not connect)."""

    channel_id: str
    state: str
    message_number: int
    status: int
    sent_at: float = 0.0  # perf_counter() when the POST went out, and when its answer was in
    answered_at: float = 0.0


@dataclass
class Channels(Outbox[tuple[Channel, str]]):
    session_timeout = aiohttp.ClientTimeout(total=5)
    channels: dict[str, Channel] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    retry_delay: float = 0.05
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def enqueue(self, channel: Channel, state: str) -> None:
        """Called on the server's loop only."""
        self._put((channel, state))

    def watching(self, calendar_id: str) -> list[Channel]:
        return [channel for channel in self.channels.values() if channel.calendar_id == calendar_id and channel.live]

    async def _send(self, item: tuple[Channel, str]) -> None:
        channel, state = item
        if channel.live and channel.channel_id in self.channels:
            await self._deliver(channel, state)

    async def _deliver(self, channel: Channel, state: str) -> None:
        assert self._session is not None
        number = 1 if state == "sync" else next(self._numbers) * 7 + 1  # growing, deliberately not consecutive
        headers = {"X-Goog-Channel-ID": channel.channel_id, "X-Goog-Message-Number": str(number),
                   "X-Goog-Resource-ID": channel.resource_id, "X-Goog-Resource-State": state,
                   "X-Goog-Resource-URI": channel.resource_uri, "User-Agent": "APIs-Google",
                   "X-Goog-Channel-Expiration": format_datetime(
                       datetime.fromtimestamp(channel.expires_ms / 1000, UTC), usegmt=True)}
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        sent_at = time.perf_counter()
        for attempt in range(4):
            try:
                async with self._session.post(channel.address, data=b"", headers=headers) as answer:
                    status = answer.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            if status not in _RETRIED or attempt == 3:
                break
            await asyncio.sleep(self.retry_delay * 2 ** attempt)
        self.deliveries.append(Delivery(channel.channel_id, state, number, status, sent_at, time.perf_counter()))
