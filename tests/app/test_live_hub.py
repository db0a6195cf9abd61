"""The API process's live hub and the publisher, on a real Redis: fan-out by topic, slow subscribers, Redis down."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.live_hub import LiveHub
from domain.intervals import Span
from services.live import (
    SLOW_CLIENT,
    AvailabilityChanged,
    BookingsChanged,
    LiveEvent,
    MissedEvents,
    NotificationsAdded,
    Publisher,
    SyncHealthChanged,
    decode,
    encode,
)
from tests.support.live import new_channel
from tests.support.server import free_port

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


def availability(minute: int) -> AvailabilityChanged:
    start = NOON + timedelta(minutes=minute)
    return AvailabilityChanged(7, (Span(start, start + timedelta(minutes=1)),))


def test_events_travel_as_json_with_ids_and_spans_only() -> None:
    # given one event of each kind
    events: list[LiveEvent] = [BookingsChanged("created", 3, (7, 8), (41, 42)), availability(0),
              SyncHealthChanged(5, 7, 3, "degraded"), NotificationsAdded((2, 9))]
    # when each is encoded and read back
    wire = [encode(event) for event in events]
    # then nothing is lost, and the message says no more than that
    assert [decode(message) for message in wire] == events
    assert wire[1] == ('{"type":"availability","staffId":7,"serviceIds":[],'
                       '"spans":[["2026-12-01T12:00:00+00:00","2026-12-01T12:01:00+00:00"]]}')
    assert decode('{"type":"unknown"}') is None
    assert decode("not json") is None


async def test_a_subscriber_that_does_not_read_loses_its_backlog_not_the_others_events(redis_url: str) -> None:
    # given a hub with mailboxes of 5, a subscriber that reads and one that does not
    channel = new_channel()
    hub = LiveHub(redis_url, channel, mailbox_size=5)
    publisher = Publisher(redis_url, channel)
    await hub.start()
    await asyncio.wait_for(hub.connected.wait(), 5)
    received: list[object] = []
    try:
        async with hub.listen(["availability:staff:7"]) as slow, hub.listen(["availability:staff:7"]) as fast:

            async def read(count: int) -> None:
                async for event in fast:
                    received.append(event)
                    if len(received) == count:
                        return

            reader = asyncio.create_task(read(12))
            # when twelve events arrive one by one
            for minute in range(12):
                assert await publisher.publish(availability(minute))
                await asyncio.sleep(0.01)
            await asyncio.wait_for(reader, 5)
            # then the reader has all twelve; the other one's backlog overflowed (twice): it learns it missed events
            # and keeps only what came after the last overflow, and later events as usual
            assert received == [availability(minute) for minute in range(12)]
            await publisher.publish(availability(60))
            assert [await asyncio.wait_for(anext(slow), 5) for _ in range(3)] == [
                MissedEvents(SLOW_CLIENT), availability(11), availability(60)]
    finally:
        await publisher.close()
        await hub.stop()


async def test_events_reach_only_the_subscribers_of_their_topics(redis_url: str) -> None:
    # given subscribers of one staff member's bookings and of another business's
    channel = new_channel()
    hub = LiveHub(redis_url, channel)
    publisher = Publisher(redis_url, channel)
    await hub.start()
    await asyncio.wait_for(hub.connected.wait(), 5)
    try:
        async with hub.listen(["booking:staff:7"]) as staff_seven, hub.listen(["booking:business:4"]) as other:
            # when a booking of staff 7 in business 3 changes
            event = BookingsChanged("cancelled", 3, (7,), (41,))
            await publisher.publish(event)
            # then only the staff member's subscriber hears it
            assert await asyncio.wait_for(anext(staff_seven), 5) == event
            assert hub.subscriber_count() == 2
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(other), 0.2)
        assert hub.subscriber_count() == 0
    finally:
        await publisher.close()
        await hub.stop()


async def test_publishing_without_redis_fails_fast_and_quietly() -> None:
    # given a publisher whose Redis is not there
    publisher = Publisher(f"redis://127.0.0.1:{free_port()}/0", new_channel(), timeout=0.25, cooldown=60)
    # when it publishes twice
    started = time.monotonic()
    first = await publisher.publish(availability(0))
    second = await publisher.publish(availability(1))
    elapsed = time.monotonic() - started
    await publisher.close()
    # then both report failure without raising, the second without even trying, and well within the timeout
    assert (first, second) == (False, False)
    assert elapsed < 0.5


async def test_a_large_fan_out_lets_other_work_of_the_process_run_between_groups_of_subscribers(
        redis_url: str) -> None:
    # given 64 subscribers of one staff member, each reading its next event, and a probe that counts, each time
    # the event loop gives it a turn, how many subscribers have their event
    channel = new_channel()
    hub = LiveHub(redis_url, channel)
    publisher = Publisher(redis_url, channel)
    await hub.start()
    await asyncio.wait_for(hub.connected.wait(), 5)
    woken: list[int] = []
    seen: set[int] = set()
    try:
        async with contextlib.AsyncExitStack() as stack:
            mailboxes = [await stack.enter_async_context(hub.listen(["availability:staff:7"])) for _ in range(64)]

            async def read(index: int) -> None:
                await anext(mailboxes[index])
                woken.append(index)

            async def probe() -> None:
                while len(woken) < 64:
                    seen.add(len(woken))
                    await asyncio.sleep(0)

            readers = [asyncio.create_task(read(index)) for index in range(64)]
            watching = asyncio.create_task(probe())
            # when one event reaches all of them
            await publisher.publish(availability(0))
            await asyncio.wait_for(asyncio.gather(*readers, watching), 5)
        # then the probe ran while the fan-out was under way, not only before and after it
        assert sorted(woken) == list(range(64))
        assert [count for count in sorted(seen) if 0 < count < 64] != []
    finally:
        await publisher.close()
        await hub.stop()
