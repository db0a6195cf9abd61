"""The queue a fake provider's notifications to subscribers leave through (Google's push channels, Graph's
subscriptions): one background task on the server's loop sends them in order, so a change never waits on a receiver
and a test can wait until everything queued so far is sent (`drained`).

Terms:
- *item*: what a fake queues for one notification; the fake's `_send` decides whether it still goes out and posts it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

import aiohttp

Item = TypeVar("Item")


@dataclass
class Outbox(Generic[Item]):
    session_timeout: ClassVar[aiohttp.ClientTimeout] = aiohttp.client.DEFAULT_TIMEOUT
    _queue: asyncio.Queue[Item] | None = field(default=None, init=False)
    _worker: asyncio.Task[None] | None = field(default=None, init=False)
    _session: aiohttp.ClientSession | None = field(default=None, init=False)

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._session = aiohttp.ClientSession(timeout=self.session_timeout)
        self._worker = asyncio.create_task(self._send_forever())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def drained(self) -> None:
        assert self._queue is not None
        await self._queue.join()

    def _put(self, item: Item) -> None:
        """Called on the server's loop only."""
        assert self._queue is not None
        self._queue.put_nowait(item)

    async def _send(self, item: Item) -> None:
        raise NotImplementedError

    async def _send_forever(self) -> None:
        assert self._queue is not None
        while True:
            item = await self._queue.get()
            try:
                await self._send(item)
            finally:
                self._queue.task_done()
