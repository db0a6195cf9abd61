"""Push is not fully reliable (Google says so), so a real-time calendar is pulled at least every 15 minutes anyway."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import Provider, WorkingHoursRange
from services.sync_schedule import next_pull_at
from tests.support.sync import given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)


async def test_a_real_time_google_calendar_is_pulled_within_15_minutes_even_with_push(db: str) -> None:
    # given a Google connection syncing in real time, whose staff member cannot be booked in the next 72 hours
    given = await given_connected_staff("tech@example.com", provider=Provider.GOOGLE)
    await WorkingHoursRange.filter(staff_id=given.staff.id).delete()
    # then its next pull is the 15-minute backstop
    assert await next_pull_at(given.connection, given.staff, NOW, pushes=True) == NOW + timedelta(minutes=15)


async def test_a_bookable_staff_members_google_calendar_is_pulled_sooner(db: str) -> None:
    given = await given_connected_staff("tech@example.com", provider=Provider.GOOGLE)
    assert await next_pull_at(given.connection, given.staff, NOW, pushes=True) == NOW + timedelta(seconds=60)
