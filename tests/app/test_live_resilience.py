"""Live updates staying up: across API processes, through a Redis restart, past a client that stops reading, and
the WebSocket's own rules (browser origins, keep-alive pings)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from models import Staff
from tests.support.calendar_api import AT_TEN
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop
from tests.support.live import (
    AVAILABILITY_CHANGED,
    live_api,
    new_channel,
    publish_from_another_process,
    socket,
    wait_for_health,
    ws_url,
)
from tests.support.redis_server import own_redis

PROTOCOL = [Subprotocol("graphql-transport-ws")]
SPAN = {"start": AT_TEN.isoformat(), "end": (AT_TEN + timedelta(minutes=30)).isoformat()}


async def shop_at(base: str) -> Shop:
    async with httpx.AsyncClient(base_url=base, timeout=15) as http:
        return await given_shop(GraphQLClient(http))


async def test_events_raised_behind_one_api_process_reach_clients_of_another(db: str, redis_url: str,
                                                                            tmp_path: Path) -> None:
    # given two API processes on one channel, and a client of the second following the staff member
    channel = new_channel()
    with (live_api(db, tmp_path, redis_url, channel) as first,
          live_api(db, tmp_path, redis_url, channel) as second):
        shop = await shop_at(first)
        staff = await Staff.get()
        async with socket(second) as visitor, httpx.AsyncClient(base_url=first, timeout=15) as http:
            feed = visitor.subscribe(AVAILABILITY_CHANGED, {"staffId": shop.staff_id})
            await wait_for_health(second, subscribers=1)
            # when a booking is made through the first process, then a third process publishes busy time
            await GraphQLClient(http)(CREATE_BOOKING, {"input": {
                "serviceId": shop.service_id, "startsAt": AT_TEN.isoformat(), "staffId": shop.staff_id,
                "walkIn": True}}, shop.owner_token)
            later = AT_TEN + timedelta(hours=3)
            publish_from_another_process(redis_url, channel, staff.id, later.isoformat(),
                                         (later + timedelta(hours=1)).isoformat())
            # then the second process's client hears both
            booked = await feed.next()
            imported = await feed.next()
    assert booked["availabilityChanged"]["spans"] == [
        {"start": AT_TEN.isoformat(), "end": (AT_TEN + timedelta(hours=1)).isoformat()}]
    assert imported["availabilityChanged"]["spans"] == [
        {"start": later.isoformat(), "end": (later + timedelta(hours=1)).isoformat()}]


async def test_after_a_redis_restart_clients_learn_they_missed_events_and_delivery_resumes(
        db: str, tmp_path: Path) -> None:
    # given a server on a Redis of the test's own, and a client following a staff member
    channel = new_channel()
    with own_redis(tmp_path) as redis, live_api(db, tmp_path, redis.url, channel) as server:
        shop = await shop_at(server)
        staff = await Staff.get()
        async with socket(server) as visitor:
            feed = visitor.subscribe(AVAILABILITY_CHANGED, {"staffId": shop.staff_id})
            await wait_for_health(server, subscribers=1)
            # when Redis stops, an event is published into the void, and Redis comes back
            redis.stop()
            await wait_for_health(server, live="unavailable")
            redis.start()
            await wait_for_health(server, live="ok")
            missed = await feed.next()
            publish_from_another_process(redis.url, channel, staff.id, SPAN["start"], SPAN["end"])
            # then the client is told it may have missed events, and hears the next event as before
            assert missed == {"availabilityChanged": {"__typename": "MissedEvents", "reason": "CONNECTION_LOST",
                                                      "message": "The live feed was interrupted; refetch"}}
            assert await feed.next() == {"availabilityChanged": {"__typename": "AvailabilityChanged",
                                                                 "staffId": shop.staff_id, "spans": [SPAN]}}


async def test_a_client_that_stops_reading_does_not_delay_another(db: str, redis_url: str, tmp_path: Path) -> None:
    # given a client that subscribes and then never reads, and one that reads
    channel = new_channel()
    with live_api(db, tmp_path, redis_url, channel) as server:
        shop = await shop_at(server)
        staff = await Staff.get()
        async with connect(ws_url(server), subprotocols=PROTOCOL,
                           close_timeout=0.5) as stalled, \
                socket(server) as reader:
            await stalled.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await stalled.recv()) == {"type": "connection_ack"}
            await stalled.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": AVAILABILITY_CHANGED, "variables": {"staffId": shop.staff_id}}}))
            feed = reader.subscribe(AVAILABILITY_CHANGED, {"staffId": shop.staff_id})
            await wait_for_health(server, subscribers=2)
            # when many events are published in one go
            count = 80
            started = time.monotonic()
            await asyncio.to_thread(_publish_many, redis_url, channel, staff.id, count)
            received = [await feed.next(within=5) for _ in range(count)]
            elapsed = time.monotonic() - started
    # then the reader got every one of them, in order, while the other client read nothing
    starts = [item["availabilityChanged"]["spans"][0]["start"] for item in received]
    assert starts == [(AT_TEN + timedelta(minutes=index)).isoformat() for index in range(count)]
    assert elapsed < 5


def _publish_many(redis_url: str, channel: str, staff_id: int, count: int) -> None:
    from redis import Redis

    from domain.intervals import Span
    from services.live import AvailabilityChanged, encode

    client = Redis.from_url(redis_url)
    with client.pipeline(transaction=False) as pipe:
        for index in range(count):
            start = AT_TEN + timedelta(minutes=index)
            pipe.publish(channel, encode(AvailabilityChanged(staff_id, (Span(start, start + timedelta(minutes=1)),))))
        pipe.execute()
    client.close()


async def test_browser_origins_are_checked_and_clients_without_one_pass(db: str, redis_url: str,
                                                                       tmp_path: Path) -> None:
    # given a server that allows one front-end origin
    with live_api(db, tmp_path, redis_url, new_channel(), LOCKSTEP_ALLOWED_ORIGINS="https://app.example.com",
                  LOCKSTEP_WS_KEEPALIVE_SECONDS="1") as server:
        # when a page of another origin, a page of the allowed one, and a non-browser client connect
        with pytest.raises(InvalidStatus) as refused:
            async with connect(ws_url(server), origin=Origin("https://evil.example.com"),
                               subprotocols=PROTOCOL):
                pass
        async with connect(ws_url(server), origin=Origin("https://app.example.com"),
                           subprotocols=PROTOCOL) as allowed:
            await allowed.send(json.dumps({"type": "connection_init"}))
            allowed_ack = json.loads(await allowed.recv())
        async with connect(ws_url(server), subprotocols=PROTOCOL) as plain:
            await plain.send(json.dumps({"type": "connection_init"}))
            plain_ack = json.loads(await plain.recv())
            # and stays connected without sending anything
            ping = json.loads(await asyncio.wait_for(plain.recv(), 3))
    # then only the foreign page is refused, and a quiet connection gets the server's keep-alive pings
    assert refused.value.response.status_code == 403
    assert (allowed_ack, plain_ack) == ({"type": "connection_ack"}, {"type": "connection_ack"})
    assert ping == {"type": "ping"}
