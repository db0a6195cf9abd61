"""The database keeps one busy block per calendar event occurrence, whatever two racing imports would write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from models import BusyBlock, BusyBlockSource
from tests.support.sync import given_connected_staff

START = datetime(2030, 1, 8, 9, tzinfo=UTC)


async def test_a_second_block_for_the_same_occurrence_is_refused(db: str) -> None:
    given = await given_connected_staff()
    fields: dict[str, Any] = {"staff_id": given.staff.id, "source": BusyBlockSource.EXTERNAL,
              "external_calendar_id": given.calendar.id, "external_event_id": "dentist.ics", "occurrence_key": "",
              "starts_at": START, "ends_at": START + timedelta(hours=1)}
    await BusyBlock.create(**fields)
    with pytest.raises(IntegrityError):
        await BusyBlock.create(**fields)
    assert await BusyBlock.all().count() == 1


async def test_blocks_of_no_calendar_may_share_empty_keys(db: str) -> None:
    given = await given_connected_staff()
    for hour in (9, 11):
        await BusyBlock.create(staff_id=given.staff.id, source=BusyBlockSource.MANUAL,
                               starts_at=START.replace(hour=hour), ends_at=START.replace(hour=hour + 1))
    assert await BusyBlock.filter(external_calendar_id=None).count() == 2
