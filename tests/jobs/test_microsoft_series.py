"""Recurring events across a DST change (Europe/Berlin) between Lockstep and the fake Graph, through the real job
bodies: a recurring booking with a moved and a cancelled occurrence is written as one Outlook series and read back
without a duplicate or a busy block of its own, and a personal series of the technician's with an exception and a
cancelled occurrence becomes busy time at the right local hours on both sides of the change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from jobs.tasks import run_pull, run_push
from models import Booking, BusyBlock, CalendarConnection, ConflictPolicy
from services.bookings import CANCEL_THIS, cancel_booking, reschedule_booking
from services.sync_dispatch import dispatch_outbox
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.microsoft import read_instances
from tests.support.microsoft_jobs import Connected, connected_to_a_fake
from tests.support.sync import book

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def connected(database_url: str, db: str) -> AsyncIterator[Connected]:
    async with connected_to_a_fake(database_url) as made:
        yield made


def next_dst_change(after: date) -> date:
    """The first day after `after` whose noon in Berlin has another UTC offset than the day before's."""
    day = after
    while datetime.combine(day, time(12), BERLIN).utcoffset() == datetime.combine(
            day + timedelta(days=1), time(12), BERLIN).utcoffset():
        day += timedelta(days=1)
    return day + timedelta(days=1)


def mondays_around_a_dst_change() -> list[date]:
    """Four Mondays, the first two before the next DST change (a Sunday) and the last two after it."""
    change = next_dst_change(datetime.now(UTC).date() + timedelta(days=14))
    first = change - timedelta(days=change.weekday()) - timedelta(days=7)
    return [first + timedelta(weeks=week) for week in range(4)]


def berlin(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), BERLIN).astimezone(UTC)


def taking_place(microsoft: FakeMicrosoft, series_id: str, days: list[date]) -> list[tuple[datetime, datetime]]:
    """(start, end) of every live occurrence of the series, as its instances listing says."""
    found = []
    for instance in read_instances(microsoft, series_id, berlin(days[0], 0), berlin(days[-1], 23)):
        found.append((datetime.fromisoformat(instance["start"]["dateTime"]).replace(tzinfo=UTC),
                      datetime.fromisoformat(instance["end"]["dateTime"]).replace(tzinfo=UTC)))
    return sorted(found)


async def series_rows(first: Booking) -> list[tuple[int, str, datetime]]:
    rows = await Booking.filter(series_id=first.series_id).order_by("occurrence_index").values_list(
        "occurrence_index", "status", "starts_at")
    return [(index, str(status), start) for index, status, start in rows]


async def test_a_recurring_booking_with_exceptions_is_one_series_in_outlook_and_comes_back_unchanged(
        connected: Connected) -> None:
    # given a weekly 10:00 booking on four Mondays across the change, its second cancelled and its third at 12:00
    mondays = mondays_around_a_dst_change()
    now = datetime.now(UTC)
    bookings = await book(connected.given, berlin(mondays[0], 10), now, recurrence="FREQ=WEEKLY;COUNT=4")
    await cancel_booking(connected.given.owner, bookings[1].id, CANCEL_THIS, now)
    await reschedule_booking(connected.given.owner, bookings[2].id, berlin(mondays[2], 12), None, now)
    # when the outbox is pushed
    for mapping_id in await dispatch_outbox(datetime.now(UTC)):
        assert await run_push(mapping_id) == "done"
    # then Outlook holds one series taking place where the bookings are, at 10:00 local on both sides of the change
    (series,) = connected.microsoft.mailbox().events.values()
    hour = timedelta(hours=1)
    expected = [berlin(mondays[0], 10), berlin(mondays[2], 12), berlin(mondays[3], 10)]
    assert taking_place(connected.microsoft, series.immutable_id, mondays) == [(at, at + hour) for at in expected]
    assert berlin(mondays[0], 10).hour != berlin(mondays[3], 10).hour  # the UTC hour did change
    before = await series_rows(bookings[0])
    # when the calendar is pulled, twice
    assert await run_pull(connected.given.calendar.id) == "done"
    assert await run_pull(connected.given.calendar.id) == "done"
    # then the bookings are as they were, none of the series is busy time, and Outlook has no second copy
    assert await series_rows(bookings[0]) == before == [
        (0, "confirmed", berlin(mondays[0], 10)), (1, "cancelled", berlin(mondays[1], 10)),
        (2, "confirmed", berlin(mondays[2], 12)), (3, "confirmed", berlin(mondays[3], 10))]
    assert await BusyBlock.all().count() == 0
    assert list(connected.microsoft.mailbox().events) == [series.immutable_id]
    assert await Booking.all().count() == 4


def weekly_in_berlin(first: date, subject: str) -> dict[str, Any]:
    """A weekly 9:00-9:30 series of four, entered in Outlook in Berlin time."""
    return {"subject": subject,
            "start": {"dateTime": f"{first.isoformat()}T09:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": f"{first.isoformat()}T09:30:00", "timeZone": "Europe/Berlin"},
            "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                                       "firstDayOfWeek": "sunday"},
                           "range": {"type": "numbered", "startDate": first.isoformat(),
                                     "numberOfOccurrences": 4, "recurrenceTimeZone": "Europe/Berlin"}}}


async def test_a_personal_series_with_an_exception_and_a_cancelled_occurrence_is_busy_at_local_time(
        connected: Connected) -> None:
    # given the technician's weekly 9:00 stand-up across the change, the second cancelled and the third at 14:00
    mondays = mondays_around_a_dst_change()
    microsoft = connected.microsoft
    standup = microsoft.insert_by_hand(microsoft.default_calendar_id(), weekly_in_berlin(mondays[0], "Stand-up"))
    microsoft.cancel_occurrence_by_hand(standup["id"], berlin(mondays[1], 9))
    microsoft.move_occurrence_by_hand(standup["id"], berlin(mondays[2], 9), berlin(mondays[2], 14),
                                      berlin(mondays[2], 14) + timedelta(minutes=30))
    # when the calendar is pulled
    assert await run_pull(connected.given.calendar.id) == "done"
    # then the blocks keep local wall time on both sides of the change
    half = timedelta(minutes=30)
    starts = [berlin(mondays[0], 9), berlin(mondays[2], 14), berlin(mondays[3], 9)]
    assert await BusyBlock.all().order_by("starts_at").values_list("starts_at", "ends_at") == [
        (start, start + half) for start in starts]
    # and an incremental pull after nothing changed leaves them so
    assert await run_pull(connected.given.calendar.id) == "done"
    assert await BusyBlock.all().count() == 3


async def test_an_occurrence_of_a_booking_series_deleted_in_outlook_cancels_that_booking_at_the_next_pull(
        connected: Connected) -> None:
    # given a weekly booking of four, written to Outlook and pulled once, in a connection whose calendar side wins
    await CalendarConnection.filter(id=connected.given.connection.id).update(
        conflict_policy=ConflictPolicy.CALENDAR_WINS)
    mondays = mondays_around_a_dst_change()
    bookings = await book(connected.given, berlin(mondays[0], 10), datetime.now(UTC), recurrence="FREQ=WEEKLY;COUNT=4")
    for mapping_id in await dispatch_outbox(datetime.now(UTC)):
        assert await run_push(mapping_id) == "done"
    assert await run_pull(connected.given.calendar.id) == "done"
    (series,) = connected.microsoft.mailbox().events.values()
    # when the technician deletes the third occurrence in Outlook, and the calendar is pulled (incrementally)
    connected.microsoft.cancel_occurrence_by_hand(series.immutable_id, berlin(mondays[2], 10))
    assert await run_pull(connected.given.calendar.id) == "done"
    # then that booking is cancelled and the others are untouched
    assert [row[1] for row in await series_rows(bookings[0])] == ["confirmed", "confirmed", "cancelled", "confirmed"]
    assert await BusyBlock.all().count() == 0
