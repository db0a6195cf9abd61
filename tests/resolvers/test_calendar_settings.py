"""A connection's calendars and settings through the API: which calendar takes the bookings, turning busy-time import
off, the connection's settings, unlinking one booking's event, and that another business can reach none of a
connection's calendars, settings, sync or log.

The app runs with a fake account probe (the dependency the app injects into the services) and the tests' own
credential key (KEY in tests/support/calendar_api.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from models import (
    Booking,
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    SyncLogEntry,
)
from tests.support.calendar_api import (
    AT_TEN,
    DISCONNECT,
    KEY,
    LOG,
    SYNC_NOW,
    UNLINK,
    UPDATE_CALENDAR,
    UPDATE_CONNECTION,
    booked,
    calendar,
    connected,
    gid,
    mapped,
)
from tests.support.calendar_sync import FakeProbe, sync_api
from tests.support.graphql import GraphQLClient, sign_up


@pytest.fixture
def probe() -> FakeProbe:
    return FakeProbe()


@pytest.fixture
async def api(db: str, probe: FakeProbe) -> AsyncIterator[GraphQLClient]:
    """The real app, checking accounts with the fake probe and sealing credentials with KEY."""
    async with sync_api(probe, KEY) as client:
        yield client


async def test_another_business_cannot_touch_a_connection_and_nothing_changes(api: GraphQLClient) -> None:
    _, _, row = await connected(api)
    rival = (await sign_up(api, "rival@example.com", "OWNER"))["accessToken"]
    work = await calendar("work")
    connection_id = gid("CalendarConnection", row.id)
    answers = [
        (await api(UPDATE_CALENDAR, {"input": {"id": gid("ExternalCalendar", work.id), "importBusy": False}},
                   rival))["updateExternalCalendar"],
        (await api(UPDATE_CONNECTION, {"input": {"id": connection_id, "frequency": "MANUAL"}},
                   rival))["updateCalendarConnection"],
        (await api(DISCONNECT, {"input": {"connectionId": connection_id}}, rival))["disconnectCalendar"],
        (await api(SYNC_NOW, {"input": {"connectionId": connection_id}}, rival))["syncNow"],
        (await api(LOG, {"id": connection_id, "first": 5}, rival))["syncLog"],
    ]
    assert {answer["__typename"] for answer in answers} == {"NotFound"}
    assert [answer["message"] for answer in answers[:2]] == ["Calendar not found", "Calendar connection not found"]
    after = await CalendarConnection.get(id=row.id)
    assert (after.credentials, after.health, after.frequency) == (row.credentials, "active", "real_time")
    assert (await calendar("work")).import_busy
    assert await SyncLogEntry.all().values_list("action", flat=True) == ["connect"]


async def test_one_calendar_per_staff_member_is_the_destination(api: GraphQLClient) -> None:
    _, token, row = await connected(api)
    family, holidays = await calendar("family"), await calendar("holidays")
    made = await api(UPDATE_CALENDAR, {"input": {"id": gid("ExternalCalendar", family.id), "isDestination": True}},
                     token)
    read_only = await api(UPDATE_CALENDAR, {"input": {"id": gid("ExternalCalendar", holidays.id),
                                                      "isDestination": True}}, token)
    assert made["updateExternalCalendar"] == {"__typename": "ExternalCalendar", "name": "Family", "importBusy": False,
                                              "isDestination": True}
    assert read_only["updateExternalCalendar"] == {"__typename": "ValidationError", "path": ["input", "isDestination"],
                                                   "message": "This calendar is read-only"}
    destinations = await ExternalCalendar.filter(is_destination=True).values_list("provider_calendar_id", flat=True)
    assert destinations == ["family"]
    # an import-only connection writes no bookings, so none of its calendars can take them
    await api(UPDATE_CONNECTION, {"input": {"id": gid("CalendarConnection", row.id), "direction": "IMPORT_ONLY"}},
              token)
    work = await calendar("work")
    refused = await api(UPDATE_CALENDAR, {"input": {"id": gid("ExternalCalendar", work.id), "isDestination": True}},
                        token)
    assert refused["updateExternalCalendar"]["path"] == ["input", "isDestination"]
    assert not (await calendar("work")).is_destination


async def test_turning_import_off_removes_the_calendars_busy_blocks(api: GraphQLClient) -> None:
    _, token, row = await connected(api)
    work, family = await calendar("work"), await calendar("family")
    for source in (work, family):
        await BusyBlock.create(staff_id=row.staff_id, source=BusyBlockSource.EXTERNAL, external_calendar=source,
                               title="Dentist",
                               starts_at=AT_TEN, ends_at=AT_TEN + timedelta(hours=1))
    data = await api(UPDATE_CALENDAR, {"input": {"id": gid("ExternalCalendar", work.id), "importBusy": False}}, token)
    assert data["updateExternalCalendar"] == {"__typename": "ExternalCalendar", "name": "Work", "importBusy": False,
                                              "isDestination": True}
    assert await BusyBlock.all().values_list("external_calendar_id", flat=True) == [family.id]


async def test_connection_settings_change_and_new_blocking_rules_relist_the_calendars(api: GraphQLClient) -> None:
    _, token, row = await connected(api)
    await ExternalCalendar.all().update(sync_cursor="sync:7", next_pull_at=datetime(2099, 1, 1, tzinfo=UTC))
    data = await api(UPDATE_CONNECTION, {"input": {
        "id": gid("CalendarConnection", row.id), "direction": "EXPORT_ONLY", "frequency": "EVERY_15_MINUTES",
        "conflictPolicy": "CALENDAR_WINS", "tentativeBlocks": True}}, token)
    assert data["updateCalendarConnection"] == {
        "__typename": "CalendarConnection", "direction": "EXPORT_ONLY", "frequency": "EVERY_15_MINUTES",
        "conflictPolicy": "CALENDAR_WINS", "tentativeBlocks": True, "allDayBlocks": True}
    rows = await ExternalCalendar.all()
    assert {row.sync_cursor for row in rows} == {""}
    assert all(row.next_pull_at is not None and row.next_pull_at <= datetime.now(UTC) for row in rows)


async def test_unlinking_stops_syncing_one_booking_and_keeps_both_copies(api: GraphQLClient) -> None:
    shop, token, row = await connected(api)
    booking = await booked(api, shop)
    mapping = await mapped(booking, EventMappingState.SYNCED, external_event_id="booking-1.ics")
    variables = {"input": {"bookingId": gid("Booking", booking.id), "connectionId": gid("CalendarConnection", row.id)}}
    data = await api(UNLINK, variables, token)
    assert data["unlinkBookingEvent"] == {"__typename": "SyncItem", "id": gid("SyncItem", mapping.id),
                                          "state": "UNLINKED", "bookingId": gid("Booking", booking.id)}
    unlinked = await EventMapping.get(id=mapping.id)
    assert (unlinked.external_event_id, (await Booking.get(id=booking.id)).status) == ("booking-1.ics", "confirmed")
    other = await booked(api, shop, 3, "Dora")
    missing = await api(UNLINK, {"input": {**variables["input"], "bookingId": gid("Booking", other.id)}}, token)
    assert missing["unlinkBookingEvent"] == {"__typename": "NotFound", "path": ["input", "bookingId"],
                                             "message": "Synced event of this booking not found"}
