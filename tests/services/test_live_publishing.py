"""Changes of hours, services and imported busy time announce where availability may have changed, once committed,
so subscribed apps refresh exactly those slots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio.client import PubSub

from domain.intervals import Span
from models import BusyBlock, BusyBlockSource
from services import live
from services.businesses import ServiceFields, update_service
from services.connection_settings import update_external_calendar
from services.schedules import (
    ClockRange,
    WeekdayHours,
    add_schedule_override,
    remove_schedule_override,
    set_working_hours,
)
from tests.support.live import hearing, next_event
from tests.support.sync import given_connected_staff

START = datetime(2030, 1, 8, 9, tzinfo=UTC)


@pytest.fixture
async def heard(redis_url: str) -> AsyncIterator[PubSub]:
    async with hearing(redis_url) as pubsub:
        yield pubsub


def reaches_ahead(event: live.LiveEvent | None, staff_id: int, service_ids: tuple[int, ...] = ()) -> bool:
    """An availability event for the staff member from about now to the schedule reach."""
    if not isinstance(event, live.AvailabilityChanged):
        return False
    (span,) = event.spans
    now = datetime.now(UTC)
    return (event.staff_id, event.service_ids) == (staff_id, service_ids) and \
        now - timedelta(minutes=1) < span.start <= now and span.end - span.start == live.SCHEDULE_REACH


async def test_new_working_hours_announce_every_slot_ahead(db: str, heard: PubSub) -> None:
    given = await given_connected_staff()
    await set_working_hours(given.owner, given.staff.id, [WeekdayHours(0, [ClockRange("09:00", "12:00")])])
    assert reaches_ahead(await next_event(heard), given.staff.id)


async def test_a_date_override_announces_that_local_date_only(db: str, heard: PubSub) -> None:
    # given a staff member in Berlin; when 31 March 2030 (clocks go forward: 23 hours) gets its own hours
    given = await given_connected_staff()
    override = await add_schedule_override(given.owner, given.staff.id, date(2030, 3, 31), [], "closed")
    # then that local day, midnight to midnight in Berlin, is announced; and again when the override is removed
    day = Span(datetime(2030, 3, 30, 23, tzinfo=UTC), datetime(2030, 3, 31, 22, tzinfo=UTC))
    assert await next_event(heard) == live.AvailabilityChanged(given.staff.id, (day,))
    await remove_schedule_override(given.owner, override.id)
    assert await next_event(heard) == live.AvailabilityChanged(given.staff.id, (day,))


async def test_a_night_override_announces_the_next_morning_too(db: str, heard: PubSub) -> None:
    # given a staff member in Berlin; when Saturday 15 June 2030 gets a night 22:00-02:00
    given = await given_connected_staff()
    override = await add_schedule_override(given.owner, given.staff.id, date(2030, 6, 15),
                                           [ClockRange("22:00", "02:00")], "night call")
    # then that date is announced through 02:00 on Sunday (CEST), and again when the override is removed
    night = Span(datetime(2030, 6, 14, 22, tzinfo=UTC), datetime(2030, 6, 16, 0, tzinfo=UTC))
    assert await next_event(heard) == live.AvailabilityChanged(given.staff.id, (night,))
    await remove_schedule_override(given.owner, override.id)
    assert await next_event(heard) == live.AvailabilityChanged(given.staff.id, (night,))


async def test_closing_a_date_whose_weekly_night_runs_on_announces_the_next_morning(db: str, heard: PubSub) -> None:
    # given Saturdays 20:00-03:00 every week; when Saturday 15 June 2030 is closed
    given = await given_connected_staff()
    await set_working_hours(given.owner, given.staff.id, [WeekdayHours(5, [ClockRange("20:00", "03:00")])])
    await next_event(heard)
    await add_schedule_override(given.owner, given.staff.id, date(2030, 6, 15), [], "closed")
    # then the night it took away is announced too, through 03:00 on Sunday
    night = Span(datetime(2030, 6, 14, 22, tzinfo=UTC), datetime(2030, 6, 16, 1, tzinfo=UTC))
    assert await next_event(heard) == live.AvailabilityChanged(given.staff.id, (night,))


async def test_a_changed_service_announces_its_slots_for_its_staff(db: str, heard: PubSub) -> None:
    given = await given_connected_staff()
    await update_service(given.owner, given.service.id, ServiceFields(duration_minutes=90))
    assert reaches_ahead(await next_event(heard), given.staff.id, (given.service.id,))


async def test_turning_import_off_announces_the_time_its_blocks_held(db: str, heard: PubSub) -> None:
    given = await given_connected_staff()
    for hours in (0, 3):
        await BusyBlock.create(staff_id=given.staff.id, source=BusyBlockSource.EXTERNAL,
                               external_calendar_id=given.calendar.id, external_event_id=f"e{hours}",
                               starts_at=START + timedelta(hours=hours), ends_at=START + timedelta(hours=hours + 1))
    await update_external_calendar(given.owner, given.calendar.id, False, None, datetime.now(UTC))
    assert await next_event(heard) == live.AvailabilityChanged(given.staff.id, (
        Span(START, START + timedelta(hours=1)), Span(START + timedelta(hours=3), START + timedelta(hours=4))))
    assert await BusyBlock.all().count() == 0


async def test_turning_import_on_announces_nothing_until_the_pull(db: str, heard: PubSub) -> None:
    given = await given_connected_staff()
    await update_external_calendar(given.owner, given.calendar.id, None, True, datetime.now(UTC))
    assert await next_event(heard, wait=0.5) is None
