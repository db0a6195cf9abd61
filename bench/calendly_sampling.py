"""One appointment of bench/calendly_latency.py booked at the fake Calendly and watched until Lockstep shows it:
when the fake began the delivery's POST, and when the booking was first seen in `bookings` and its slot first seen
gone from `availableSlots`; and the requests of the floor that are Calendly's.

Terms: the *pollers* are two GraphQL clients, one per question, each on a kept-alive connection of its own; with a
*heard* signal they ask only once the WebSocket subscriber has heard `availabilityChanged` for the hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bench.common import SLOTS, wait_until
from bench.latency_floor import FloorCall
from tests.fakes.calendly import FakeCalendly
from tests.fakes.calendly_store import EventType
from tests.fakes.calendly_webhooks import SIGNATURE_HEADER, Attempt
from tests.support.graphql import Shop

BOOKINGS = """query($staff: ID!, $from: DateTime!, $to: DateTime!) {
  bookings(filter: {staffId: $staff, from: $from, to: $to, status: CONFIRMED}, first: 5) {
    ... on BookingConnection { edges { node { startsAt source } } } } }"""
UNKNOWN_CHANNEL = "floor-unknown-channel"


@dataclass(frozen=True)
class Seen:
    """One sample: when the fake began the delivery's POST, when (a) and (b) were first seen (perf_counter)."""

    sent: float
    listed: float
    gone: float
    first_status: int  # what the API answered the first attempt


def _body(query: str, variables: dict[str, Any]) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


class Heard:
    """Wakes the bench's loop when the subscriber hears of the hour it waits for (called on the subscriber's
    thread)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.waiting: dict[datetime, asyncio.Event] = {}

    def expect(self, start: datetime) -> asyncio.Event:
        event = self.waiting[start] = asyncio.Event()
        return event

    def __call__(self, start: datetime) -> None:
        event = self.waiting.get(start)
        if event is not None:
            self.loop.call_soon_threadsafe(event.set)


class Pollers:
    """The two pollers of (a) and (b), each on a kept-alive connection of its own."""

    def __init__(self, base: str, shop: Shop, poll: float) -> None:
        self.url, self.shop, self.poll = f"{base}/graphql", shop, poll
        self.owner = {"Content-Type": "application/json", "Authorization": f"Bearer {shop.owner_token}"}
        self.anyone = {"Content-Type": "application/json"}
        self.sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) for _ in range(2)]

    async def close(self) -> None:
        await asyncio.gather(*(session.close() for session in self.sessions))

    async def _until(self, session: aiohttp.ClientSession, body: bytes, headers: dict[str, str],
                     seen: Callable[[dict[str, Any]], bool]) -> float:
        while True:
            async with session.post(self.url, data=body, headers=headers) as answer:
                data = json.loads(await answer.read())["data"]
            at = time.perf_counter()
            if seen(data):
                return at
            await asyncio.sleep(self.poll)

    def bookings_call(self, start: datetime) -> bytes:
        return _body(BOOKINGS, {"staff": self.shop.staff_id, "from": start.isoformat(),
                                "to": (start + timedelta(hours=1)).isoformat()})

    def slots_call(self, start: datetime) -> bytes:
        return _body(SLOTS, {"s": self.shop.service_id, "from": start.isoformat(),
                             "to": (start + timedelta(hours=1)).isoformat()})

    async def listed_and_gone(self, start: datetime, heard: asyncio.Event | None) -> tuple[float, float]:
        """When the booking at `start` is first seen in `bookings`, and its slot first seen gone; asked from the
        moment `heard` is set when one is given (or after 10 s without it), else at once."""

        def listed(data: dict[str, Any]) -> bool:
            return any(datetime.fromisoformat(edge["node"]["startsAt"]) == start
                       for edge in data["bookings"].get("edges", ()))

        def gone(data: dict[str, Any]) -> bool:
            return not any(datetime.fromisoformat(slot["start"]) == start
                           for slot in data["availableSlots"]["slots"])

        if heard is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(heard.wait(), 10)
        booking_seen, slot_gone = await asyncio.gather(
            self._until(self.sessions[0], self.bookings_call(start), self.owner, listed),
            self._until(self.sessions[1], self.slots_call(start), self.anyone, gone))
        return booking_seen, slot_gone


def first_attempt(calendly: FakeCalendly, invitee_uri: str) -> Attempt | None:
    """The first attempt of the invitee's `invitee.created` delivery, once the fake has logged it."""
    return next((attempt for attempt in list(calendly.webhooks.attempts) if attempt.invitee == invitee_uri
                 and attempt.event == "invitee.created" and attempt.number == 1), None)


async def book_and_watch(calendly: FakeCalendly, event_type: EventType, pollers: Pollers, heard: Heard | None,
                         start: datetime, n: int) -> Seen:
    """Book the hour at `start` at the fake; when its delivery left, and when (a) and (b) were seen."""
    trigger = heard.expect(start) if heard is not None else None
    booked = calendly.book(event_type, start, {"name": f"Customer {n}", "email": f"customer{n}@example.org"})
    listed, gone = await pollers.listed_and_gone(start, trigger)
    await wait_until(lambda: first_attempt(calendly, booked.invitee_uri) is not None, "the delivery's log entry", 10)
    attempt = first_attempt(calendly, booked.invitee_uri)
    assert attempt is not None
    return Seen(attempt.sent_at, listed, gone, attempt.status)


def floor_calls(base: str, pollers: Pollers, last: Attempt, start: datetime) -> list[tuple[str, FloorCall]]:
    """The webhook POST of the floor, then the two queries timed beside it."""
    webhook = FloorCall("POST", f"{base}/webhooks/calendly?channel={UNKNOWN_CHANNEL}",
                        {"Content-Type": "application/json", SIGNATURE_HEADER: last.signature}, 410, body=last.body)
    return [("webhook POST", webhook),
            ("bookings query", FloorCall("POST", pollers.url, pollers.owner, 200, body=pollers.bookings_call(start))),
            ("availableSlots query", FloorCall("POST", pollers.url, pollers.anyone, 200,
                                               body=pollers.slots_call(start)))]
