"""The per-calendar sync lease: one holder at a time, lapsing by itself, released only by its holder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import ExternalCalendar
from services.sync_leases import calendar_lease, release_calendar_lease, take_calendar_lease
from tests.support.sync import given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
TTL = timedelta(minutes=2)


async def test_a_held_lease_cannot_be_taken_until_it_lapses(db: str) -> None:
    given = await given_connected_staff()
    assert await take_calendar_lease(given.calendar.id, "first", NOW, TTL)
    # when another job tries while it is held
    assert not await take_calendar_lease(given.calendar.id, "second", NOW + TTL - timedelta(seconds=1), TTL)
    # then the first still holds it; once its time has run out, another job may take it
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.sync_lock_owner, calendar.sync_lock_until) == ("first", NOW + TTL)
    assert await take_calendar_lease(given.calendar.id, "second", NOW + TTL + timedelta(seconds=1), TTL)


async def test_only_the_holder_releases_the_lease(db: str) -> None:
    given = await given_connected_staff()
    await take_calendar_lease(given.calendar.id, "first", NOW, TTL)
    await take_calendar_lease(given.calendar.id, "second", NOW + 2 * TTL, TTL)  # the first lapsed
    # when the first job, finishing late, releases
    await release_calendar_lease(given.calendar.id, "first")
    # then the second job's lease stands
    assert (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_owner == "second"
    await release_calendar_lease(given.calendar.id, "second")
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.sync_lock_owner, calendar.sync_lock_until) == ("", None)


async def test_the_block_form_yields_whether_it_holds_and_gives_the_lease_back(db: str) -> None:
    given = await given_connected_staff()
    async with calendar_lease(given.calendar.id, TTL) as outer:
        async with calendar_lease(given.calendar.id, TTL) as inner:
            assert (outer, inner) == (True, False)
        assert (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_until is not None
    assert (await ExternalCalendar.get(id=given.calendar.id)).sync_lock_until is None
