"""The push channel claim's range holds only what is due: calendars that need no channel now are set aside, and a
change that could make one watched puts it back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from models import CalendarConnection, ExternalCalendar, Provider, SyncFrequency
from services.connection_settings import ConnectionSettings, update_calendar_connection
from services.watch_channels import CLAIM, FAR_OFF, RENEW_AHEAD, claim_due_watches, record_channel
from tests.conftest import BACKEND
from tests.support.sync import given_connected_staff

PUSHING = frozenset({Provider.GOOGLE.value})  # the providers that push, as the scheduler passes them

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)


async def due_at(calendar_id: int) -> datetime | None:
    return (await ExternalCalendar.get(id=calendar_id)).watch_due_at


async def test_a_calendar_that_is_not_watched_is_set_aside_until_its_settings_change(db: str) -> None:
    # given a Google calendar polled every 5 minutes (so not watched), never looked at
    given = await given_connected_staff(credentials="sealed")
    await CalendarConnection.filter(id=given.connection.id).update(frequency=SyncFrequency.EVERY_5_MINUTES,
                                                                  provider=Provider.GOOGLE)
    # when the scheduler claims push channels
    assert await claim_due_watches(NOW, PUSHING) == []
    # then the calendar is out of the claim's range, unclaimed
    calendar = await ExternalCalendar.get(id=given.calendar.id)
    assert (calendar.watch_due_at, calendar.watch_claimed_until) == (FAR_OFF, None)
    assert await claim_due_watches(NOW + timedelta(days=30), PUSHING) == []
    # when its connection becomes real time (so it is watched), then it is looked at again and claimed
    await update_calendar_connection(given.owner, given.connection.id,
                                     ConnectionSettings(frequency=SyncFrequency.REAL_TIME.value), NOW)
    assert await due_at(given.calendar.id) is None
    assert await claim_due_watches(NOW + timedelta(days=30), PUSHING) == [given.calendar.id]


async def test_a_covered_calendar_comes_due_a_renewal_margin_before_its_channel_expires(db: str) -> None:
    # given a watched Google calendar whose channel lasts 7 days
    given = await given_connected_staff("tech@example.com", credentials="sealed", provider=Provider.GOOGLE)
    assert await claim_due_watches(NOW, PUSHING) == [given.calendar.id]
    expires = NOW + timedelta(days=7)
    await record_channel(given.calendar.id, "chan-1", "res-1", "token", expires)
    # then it is due again a day before the channel expires, and not claimed before
    assert await due_at(given.calendar.id) == expires - RENEW_AHEAD
    assert await claim_due_watches(expires - RENEW_AHEAD - timedelta(seconds=1), PUSHING) == []
    assert await claim_due_watches(expires - RENEW_AHEAD, PUSHING) == [given.calendar.id]
    assert (await ExternalCalendar.get(id=given.calendar.id)).watch_claimed_until == expires - RENEW_AHEAD + CLAIM


async def test_a_calendar_found_covered_is_set_aside_until_its_channel_needs_renewing(db: str) -> None:
    # given a watched calendar whose channel was recorded before calendars kept a due time (none stored)
    given = await given_connected_staff("tech@example.com", credentials="sealed", provider=Provider.GOOGLE)
    expires = NOW + timedelta(days=5)
    await record_channel(given.calendar.id, "chan-1", "res-1", "token", expires)
    await ExternalCalendar.filter(id=given.calendar.id).update(watch_due_at=None)
    # when the scheduler claims push channels, then it is not claimed, and set aside until the renewal margin
    assert await claim_due_watches(NOW, PUSHING) == []
    assert await due_at(given.calendar.id) == expires - RENEW_AHEAD


async def test_a_calendar_of_a_pushing_provider_not_configured_here_stays_due(db: str) -> None:
    # given a watched Google calendar without a channel, on a deployment where Google is not configured
    given = await given_connected_staff(credentials="sealed", provider=Provider.GOOGLE)
    # when the scheduler claims with no configured pushing provider, but Google pushing in the registry
    assert await claim_due_watches(NOW, frozenset(), pushing=PUSHING) == []
    # then the calendar is left in range, and is claimed once Google is configured
    assert await due_at(given.calendar.id) is None
    assert await claim_due_watches(NOW, PUSHING, pushing=PUSHING) == [given.calendar.id]


@pytest.mark.skipif(BACKEND != "postgres", reason="row locks held by another connection: PostgreSQL's SKIP LOCKED")
async def test_a_calendar_held_by_another_transaction_stays_due_for_the_next_tick(db: str) -> None:
    # given a watched Google calendar without a channel, its row locked by another connection's open transaction
    given = await given_connected_staff(credentials="sealed", provider=Provider.GOOGLE)
    other = await asyncpg.connect(db.replace("postgres://", "postgresql://", 1))
    try:
        holding = other.transaction()
        await holding.start()
        await other.execute("SELECT id FROM externalcalendar WHERE id = $1 FOR UPDATE", given.calendar.id)
        # when the scheduler claims meanwhile
        claimed = await claim_due_watches(NOW, PUSHING)
        await holding.rollback()
    finally:
        await other.close()
    # then it was passed over and not set aside: the next tick claims it
    assert claimed == []
    assert await due_at(given.calendar.id) is None
    assert await claim_due_watches(NOW, PUSHING) == [given.calendar.id]
