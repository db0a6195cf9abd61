"""The subscriber side of bench/live_latency.py: a process of its own holding many graphql-transport-ws clients,
each subscribed to availabilityChanged and bookingChanged, which stamp every message as it comes off the socket and
read it only after the run (so reading costs nothing while measuring)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

AVAILABILITY = """subscription($staffId: ID) { availabilityChanged(staffId: $staffId) { __typename
  ... on AvailabilityChanged { staffId spans { start end } } ... on MissedEvents { reason } } }"""
BOOKINGS = """subscription($businessId: ID) { bookingChanged(businessId: $businessId) { __typename
  ... on BookingChanged { kind staffIds bookings { id status startsAt customerName } }
  ... on MissedEvents { reason } } }"""


@dataclass
class Received:
    """What one client heard: (time, raw message) pairs, read only after the run so reading costs nothing then."""

    messages: list[tuple[float, str]] = field(default_factory=list)


async def _client(url: str, token: str, staff_id: str, business_id: str, received: Received,
                  ready: asyncio.Event, opened: list[ClientConnection]) -> None:
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], max_queue=None,
                       ping_interval=None) as ws:
        opened.append(ws)
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        if json.loads(await ws.recv()).get("type") != "connection_ack":
            raise RuntimeError("connection refused")
        await ws.send(json.dumps({"id": "a", "type": "subscribe",
                                  "payload": {"query": AVAILABILITY, "variables": {"staffId": staff_id}}}))
        await ws.send(json.dumps({"id": "b", "type": "subscribe",
                                  "payload": {"query": BOOKINGS, "variables": {"businessId": business_id}}}))
        ready.set()
        async for raw in ws:
            stamp = time.time()
            text = raw if isinstance(raw, str) else raw.decode()
            if len(text) < 40 and '"ping"' in text:  # the server's keep-alive; a real client answers it
                await ws.send('{"type":"pong"}')
                continue
            received.messages.append((stamp, text))


async def _subscribers(url: str, token: str, staff_id: str, business_id: str, count: int,
                       control: Connection) -> list[Received]:
    received = [Received() for _ in range(count)]
    opened: list[ClientConnection] = []
    tasks = []
    for index in range(count):
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(_client(url, token, staff_id, business_id, received[index], ready,
                                                 opened)))
        # One at a time: a burst of 200 handshakes would only measure the server's accept queue.
        await asyncio.wait({asyncio.create_task(ready.wait()), tasks[-1]}, return_when=asyncio.FIRST_COMPLETED)
        if tasks[-1].done():
            tasks[-1].result()
    control.send("subscribed")
    # The bench process says "stop" once every event has had time to arrive.
    await asyncio.get_running_loop().run_in_executor(None, control.recv)
    for ws in opened:
        await ws.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return received


def run_subscribers(url: str, token: str, staff_id: str, business_id: str, count: int, control: Connection) -> None:
    import uvloop

    received = uvloop.run(_subscribers(url, token, staff_id, business_id, count, control))
    control.send(_readings(received))


@dataclass
class Readings:
    """Per client: the availabilityChanged spans (start, in arrival order) and bookingChanged booking IDs heard,
    each with its arrival time; and how many MissedEvents arrived."""

    availability: list[list[tuple[datetime, float]]]
    bookings: list[list[tuple[str, float]]]
    missed: int


def _readings(received: list[Received]) -> Readings:
    availability: list[list[tuple[datetime, float]]] = []
    bookings: list[list[tuple[str, float]]] = []
    missed = 0
    for client in received:
        spans: list[tuple[datetime, float]] = []
        ids: list[tuple[str, float]] = []
        for stamp, text in client.messages:
            message = json.loads(text)
            if message.get("type") != "next":
                continue
            data = message["payload"]["data"]
            payload = data.get("availabilityChanged") or data.get("bookingChanged")
            if payload["__typename"] == "MissedEvents":
                missed += 1
            elif payload["__typename"] == "AvailabilityChanged":
                spans += [(datetime.fromisoformat(span["start"]), stamp) for span in payload["spans"]]
            elif payload["__typename"] == "BookingChanged":
                ids += [(booking["id"], stamp) for booking in payload["bookings"]]
        availability.append(spans)
        bookings.append(ids)
    return Readings(availability, bookings, missed)
