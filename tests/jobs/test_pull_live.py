"""A pull that changes busy time tells every API process where free time changed (services.live), so subscribed
apps refresh those slots at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio.client import PubSub

from domain.intervals import Span
from jobs.pull import pull_calendar
from providers.base import RemoteCalendar
from services import live
from tests.fakes.memory import MemoryProvider
from tests.support.live import hearing, next_event
from tests.support.sync import given_connected_staff, personal_event

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TEN_BERLIN = datetime(2030, 1, 8, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def heard(redis_url: str) -> AsyncIterator[PubSub]:
    async with hearing(redis_url) as pubsub:
        yield pubsub


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
