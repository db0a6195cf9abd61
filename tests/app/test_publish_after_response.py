"""Live events of an HTTP request are published once its response has gone, so the booker never waits for the
fan-out: through the real ASGI app, on a real Redis."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from app.main import create_app
from app.settings import Settings
from models import Booking
from services import live
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop
from tests.support.live import new_channel


@pytest.fixture
async def channel(redis_url: str) -> AsyncIterator[str]:
    """This process publishes on a channel of the test's own (the app's lifespan would configure it)."""
    name = new_channel()
    publisher = live.configure(redis_url, name)
    yield name
    if publisher is not None:
        await publisher.close()
    live.configure(None)


async def _messages(pubsub: Any, wait: float) -> list[dict[str, Any]]:
    found = []
    while (message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)) is not None:
        found.append(json.loads(message["data"]))
    return found


async def test_a_booking_is_announced_after_its_response_has_been_sent(db: str, redis_url: str, channel: str) -> None:
    # Given a shop, and a listener on the live channel
    app = create_app(dataclasses.replace(Settings.from_env(), redis_url=redis_url, live_channel=channel))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lockstep.test") as http:
        shop = await given_shop(GraphQLClient(http))
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    await _messages(pubsub, 0.5)  # the set-up's own announcements
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    body = json.dumps({"query": CREATE_BOOKING, "variables": {"input": {
        "serviceId": shop.service_id, "staffId": shop.staff_id, "startsAt": start.isoformat(), "walkIn": True}}})
    heard_while_answering: list[dict[str, Any]] = []
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body.encode(), "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            # The response is complete: whatever the booking published so far would be on the channel by now.
            heard_while_answering.extend(await _messages(pubsub, 0.3))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"lockstep.test"), (b"content-type", b"application/json"),
                         (b"authorization", f"Bearer {shop.owner_token}".encode())],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    try:
        # When the owner books
        await app(scope, receive, send)
        heard_after = await _messages(pubsub, 0.5)
    finally:
        await pubsub.aclose()
        await redis.aclose()
    # Then the booking committed and was answered before anything was announced, and both announcements followed
    answer = json.loads(sent[1]["body"])
    assert answer["data"]["createBooking"]["__typename"] == "BookingPayload"
    booking = await Booking.get()
    assert heard_while_answering == []
    assert [message["type"] for message in heard_after] == ["bookings", "availability"]
    assert heard_after[0]["bookingIds"] == [booking.id]
