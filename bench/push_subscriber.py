"""A subscriber of `availabilityChanged` for the push-latency benches: one graphql-transport-ws client spoken by hand
over `websockets`, on a thread and event loop of its own, so that the bench's HTTP polling never delays its stamps.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

AVAILABILITY = """subscription($staffId: ID) { availabilityChanged(staffId: $staffId) { __typename
  ... on AvailabilityChanged { spans { start end } } ... on MissedEvents { reason } } }"""


class Subscriber:
    """One graphql-transport-ws client on its own thread and loop; `heard[start]` is when the first
    availabilityChanged whose spans begin at `start` came off the socket (perf_counter). `on_heard`, when given, is
    called with each such `start` on the subscriber's thread, once it is in `heard`."""

    def __init__(self, url: str, staff_id: str, on_heard: Callable[[datetime], None] | None = None) -> None:
        self.url, self.staff_id, self.on_heard = url, staff_id, on_heard
        self.heard: dict[datetime, float] = {}
        self.missed = 0
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._listen(),), daemon=True)

    async def _listen(self) -> None:
        self._stop = asyncio.Event()
        async with connect(self.url, subprotocols=[Subprotocol("graphql-transport-ws")], ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            if json.loads(await ws.recv()).get("type") != "connection_ack":
                raise RuntimeError("connection refused")
            await ws.send(json.dumps({"id": "a", "type": "subscribe", "payload": {
                "query": AVAILABILITY, "variables": {"staffId": self.staff_id}}}))
            self.ready.set()
            reading = asyncio.ensure_future(self._read(ws))
            await self._stop.wait()
            reading.cancel()

    async def _read(self, ws: object) -> None:
        async for raw in ws:  # type: ignore[attr-defined]
            stamp = time.perf_counter()
            message = json.loads(raw)
            if message.get("type") == "ping":
                await ws.send('{"type":"pong"}')  # type: ignore[attr-defined]
                continue
            payload = message.get("payload", {}).get("data", {}).get("availabilityChanged", {})
            if payload.get("__typename") == "MissedEvents":
                self.missed += 1
            for span in payload.get("spans", []):
                start = datetime.fromisoformat(span["start"])
                if start not in self.heard:
                    self.heard[start] = stamp
                    if self.on_heard is not None:
                        self.on_heard(start)

    def start(self) -> None:
        self._thread.start()
        if not self.ready.wait(timeout=10):
            raise RuntimeError("the subscriber did not subscribe")

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
