"""A pull that changes busy time tells every API process where free time changed (services.live), so subscribed
apps refresh those slots at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from domain.intervals import Span
from jobs.pull import pull_calendar
from providers.base import RemoteCalendar
from services import live
from tests.fakes.memory import MemoryProvider
from tests.support.live import new_channel
from tests.support.sync import given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def heard(redis_url: str) -> AsyncIterator[PubSub]:
    """This process publishes on a channel of the test's own, which the test listens to."""
    channel = new_channel()
    publisher = live.configure(redis_url, channel)
    client = Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    yield pubsub
    await pubsub.aclose()
    await client.aclose()
    if publisher is not None:
        await publisher.close()
    live.configure(None)


async def next_event(pubsub: PubSub, wait: float = 5.0) -> live.LiveEvent | None:
    """The next event published, or None when none came within `wait` seconds (the subscription confirmation, which
    get_message skips by returning None, does not count)."""
    deadline = asyncio.get_running_loop().time() + wait
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        message = await pubsub.get_message(timeout=left)
        if message is not None:
            return live.decode(message["data"])
    return None


async def test_imported_and_removed_busy_time_is_published_where_it_changed(db: str, heard: PubSub) -> None:
    given = await given_connected_staff()
    provider = MemoryProvider([RemoteCalendar("work", "Work", "", "Europe/Berlin", writable=True, primary=True)])
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN))
    # when a personal event is imported
    await pull_calendar(given.calendar.id, provider, NOW)
    # then the staff member's availability changed exactly there
    assert await next_event(heard) == live.AvailabilityChanged(given.staff.id, (Span(TEN_BERLIN, TEN_BERLIN + HOUR),))
    # when it moves two hours later, both its old and its new place are announced
    provider.write_by_hand("work", "dentist.ics", personal_event("dentist", TEN_BERLIN + 2 * HOUR))
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=1))
    assert await next_event(heard) == live.AvailabilityChanged(
        given.staff.id, (Span(TEN_BERLIN, TEN_BERLIN + HOUR), Span(TEN_BERLIN + 2 * HOUR, TEN_BERLIN + 3 * HOUR)))
    # when a poll finds nothing new, nothing is announced
    await pull_calendar(given.calendar.id, provider, NOW + timedelta(minutes=2))
    assert await next_event(heard, wait=0.5) is None
