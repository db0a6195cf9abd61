"""A booking series whose rule Outlook cannot repeat exactly (the 1st and 15th of the month) between Lockstep and the
fake Graph, through the real job bodies: pushed as one single event per occurrence, pulled back without a busy block
or a duplicate, and a single deleted by hand in Outlook cancelling its booking at the next pull (the calendar side
winning). Every Graph exchange is checked against the contract (conforming_microsoft)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.graph_events import PLANNED_PROPERTY_ID
from domain.sync import series_marker
from jobs.tasks import run_pull, run_push
from models import Booking, BusyBlock, CalendarConnection, ConflictPolicy, EventMapping
from providers.microsoft_singles import GROUP_PREFIX
from services.sync_dispatch import dispatch_outbox
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.microsoft import read_event
from tests.support.microsoft_jobs import Connected, connected_to_a_fake
from tests.support.sync import book

BERLIN = ZoneInfo("Europe/Berlin")
RULE = "FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=4"


@pytest.fixture
async def connected(database_url: str, db: str) -> AsyncIterator[Connected]:
    async with connected_to_a_fake(database_url) as made:
        yield made


def berlin(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), BERLIN).astimezone(UTC)


def days_of_the_rule() -> list[date]:
    """The four days the rule gives from the first 1st or 15th at least two weeks ahead."""
    day = datetime.now(UTC).date() + timedelta(days=14)
    while day.day not in (1, 15):
        day += timedelta(days=1)
    days = [day]
    while len(days) < 4:
        last = days[-1]
        days.append(last.replace(day=15) if last.day == 1 else (last.replace(day=1) + timedelta(days=32)).replace(
            day=1))
    return days


def by_planned_start(microsoft: FakeMicrosoft) -> dict[datetime, dict[str, Any]]:
    """Every event in the calendar (as Lockstep reads it) by its planned-start property."""
    found = {}
    for event_id in microsoft.mailbox().events:
        event = read_event(microsoft, event_id)
        properties = {prop["id"]: prop["value"] for prop in event["singleValueExtendedProperties"]}
        found[datetime.fromisoformat(properties[PLANNED_PROPERTY_ID])] = event
    return found


def outlook_singles(microsoft: FakeMicrosoft) -> list[tuple[datetime, datetime, datetime]]:
    """(planned start, start, end) of every event in the calendar."""
    return sorted((planned, datetime.fromisoformat(event["start"]["dateTime"]).replace(tzinfo=UTC),
                   datetime.fromisoformat(event["end"]["dateTime"]).replace(tzinfo=UTC))
                  for planned, event in by_planned_start(microsoft).items())


async def series_rows(first: Booking) -> list[tuple[int, str, datetime]]:
    rows = await Booking.filter(series_id=first.series_id).order_by("occurrence_index").values_list(
        "occurrence_index", "status", "starts_at")
    return [(index, str(status), start) for index, status, start in rows]


async def push_all() -> None:
    for mapping_id in await dispatch_outbox(datetime.now(UTC)):
        assert await run_push(mapping_id) == "done"


async def test_a_series_outlook_cannot_repeat_is_four_singles_and_comes_back_unchanged(connected: Connected) -> None:
    # given a booking series at 10:00 in Berlin on the 1st and the 15th, four times
    days = days_of_the_rule()
    bookings = await book(connected.given, berlin(days[0], 10), datetime.now(UTC), recurrence=RULE)
    # when the outbox is pushed
    await push_all()
    # then Outlook holds four singles, one at each booking's time, and the mapping knows them as one group
    starts = [berlin(day, 10) for day in days]
    assert outlook_singles(connected.microsoft) == [(start, start, start + timedelta(hours=1)) for start in starts]
    assert await EventMapping.all().values_list("external_event_id", flat=True) == [
        GROUP_PREFIX + series_marker(int(str(bookings[0].series_id)))]
    before = await series_rows(bookings[0])
    # when the calendar is pulled, twice
    assert await run_pull(connected.given.calendar.id) == "done"
    assert await run_pull(connected.given.calendar.id) == "done"
    # then the bookings are as they were, none of them is busy time, and Outlook has no second copy
    assert await series_rows(bookings[0]) == before == [(index, "confirmed", start)
                                                        for index, start in enumerate(starts)]
    assert await BusyBlock.all().count() == 0
    assert len(connected.microsoft.mailbox().events) == 4
    assert await Booking.all().count() == 4
    # and nothing was pushed again
    assert await dispatch_outbox(datetime.now(UTC)) == []


async def test_a_single_deleted_in_outlook_cancels_that_booking_at_the_next_pull(connected: Connected) -> None:
    # given the series written to Outlook and pulled once, in a connection whose calendar side wins
    await CalendarConnection.filter(id=connected.given.connection.id).update(
        conflict_policy=ConflictPolicy.CALENDAR_WINS)
    days = days_of_the_rule()
    bookings = await book(connected.given, berlin(days[0], 10), datetime.now(UTC), recurrence=RULE)
    await push_all()
    assert await run_pull(connected.given.calendar.id) == "done"
    # when the technician deletes the third single in Outlook, and the calendar is pulled (incrementally)
    connected.microsoft.delete_by_hand(by_planned_start(connected.microsoft)[berlin(days[2], 10)]["id"])
    assert await run_pull(connected.given.calendar.id) == "done"
    # then that booking is cancelled and the others are untouched
    assert [row[1] for row in await series_rows(bookings[0])] == ["confirmed", "confirmed", "cancelled", "confirmed"]
    assert await BusyBlock.all().count() == 0
    # and the push that follows leaves Outlook's three singles as they are
    await push_all()
    assert [planned for planned, _, _ in outlook_singles(connected.microsoft)] == [
        berlin(days[0], 10), berlin(days[1], 10), berlin(days[3], 10)]
