"""Choosing what each calendar does and how a connection syncs, at the service level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models import BusyBlock, BusyBlockSource, CalendarConnection, ConnectionHealth, ExternalCalendar, SyncDirection
from services import connection_settings
from services.connection_settings import ConnectionSettings
from services.connections import disconnect_calendar
from services.credentials import CredentialVault, new_key
from services.errors import InvalidInputError
from services.sync_health import record_success
from tests.services.test_connections import NOW, connect
from tests.support.calendar_sync import FAMILY, FakeProbe, probed
from tests.support.sync import given_connected_staff


async def test_a_new_destination_replaces_the_one_on_another_connection(db: str) -> None:
    given = await given_connected_staff()
    second = await connect(given.owner, given.staff.id, FakeProbe(probed(FAMILY)), CredentialVault([new_key()]),
                           username="sam@other.example")
    family = await ExternalCalendar.get(connection_id=second.id)
    await connection_settings.update_external_calendar(given.owner, family.id, None, True, NOW)
    assert (await ExternalCalendar.get(id=family.id)).is_destination
    assert not (await ExternalCalendar.get(id=given.calendar.id)).is_destination


async def test_import_off_removes_that_calendars_blocks_and_on_lists_it_again(db: str) -> None:
    given = await given_connected_staff()
    start = datetime(2030, 1, 8, 9, tzinfo=UTC)
    for source, calendar_id in ((BusyBlockSource.EXTERNAL, given.calendar.id), (BusyBlockSource.MANUAL, None)):
        await BusyBlock.create(staff=given.staff, source=source, external_calendar_id=calendar_id, title="x",
                               starts_at=start, ends_at=start + timedelta(hours=1))
    await ExternalCalendar.filter(id=given.calendar.id).update(sync_cursor="sync:42", window_start=start)
    off = await connection_settings.update_external_calendar(given.owner, given.calendar.id, False, None, NOW)
    assert (off.import_busy, off.sync_cursor) == (False, "sync:42")
    assert await BusyBlock.all().values_list("source", flat=True) == ["manual"]
    on = await connection_settings.update_external_calendar(given.owner, given.calendar.id, True, None, NOW)
    assert (on.import_busy, on.sync_cursor, on.window_start, on.next_pull_at) == (True, "", None, NOW)


async def test_blocking_rules_relist_every_calendar_but_other_settings_do_not(db: str) -> None:
    given = await given_connected_staff()
    await ExternalCalendar.filter(id=given.calendar.id).update(sync_cursor="sync:42", next_pull_at=None)
    await connection_settings.update_calendar_connection(given.owner, given.connection.id, ConnectionSettings(
        frequency="hourly", conflict_policy="keep_both", tentative_blocks=False), NOW)
    untouched = await ExternalCalendar.get(id=given.calendar.id)
    assert (untouched.sync_cursor, untouched.next_pull_at) == ("sync:42", None)
    changed = await connection_settings.update_calendar_connection(given.owner, given.connection.id, ConnectionSettings(
        all_day_blocks=False, direction="export_only"), NOW)
    assert (changed.frequency, changed.conflict_policy, changed.all_day_blocks, changed.direction) == (
        "hourly", "keep_both", False, SyncDirection.EXPORT_ONLY)
    relisted = await ExternalCalendar.get(id=given.calendar.id)
    assert (relisted.sync_cursor, relisted.next_pull_at) == ("", NOW)
    with pytest.raises(InvalidInputError) as raised:
        await connection_settings.update_calendar_connection(given.owner, given.connection.id, ConnectionSettings(
            frequency="hourly", conflict_policy="coin_toss"), NOW)
    assert raised.value.path == ["input", "conflictPolicy"]
    assert (await CalendarConnection.get(id=given.connection.id)).conflict_policy == "keep_both"


async def test_import_off_forgets_the_unreadable_events_so_the_next_success_is_active(db: str) -> None:
    # Given a calendar that only imports busy time, two of whose events could not be read: the connection degraded
    given = await given_connected_staff()
    await ExternalCalendar.filter(id=given.calendar.id).update(is_destination=False,
                                                              unreadable_event_ids=["a.ics", "b.ics"])
    await record_success(given.connection.id, NOW, unreadable_may_change=True)
    degraded = await CalendarConnection.get(id=given.connection.id)
    assert (degraded.health, degraded.last_error) == (
        ConnectionHealth.DEGRADED, "2 events could not be read; they keep the busy time last read")
    # When its import is switched off, and a later sync call succeeds
    off = await connection_settings.update_external_calendar(given.owner, given.calendar.id, False, None, NOW)
    await record_success(given.connection.id, NOW + timedelta(minutes=1))
    # Then nothing unreadable is remembered, and the connection is active again
    assert off.unreadable_event_ids == []
    active = await CalendarConnection.get(id=given.connection.id)
    assert (active.health, active.last_error) == (ConnectionHealth.ACTIVE, "")


async def test_a_calendar_no_longer_pulled_does_not_keep_the_connection_degraded(db: str) -> None:
    # Given a calendar that remembers an unreadable event, then stops being the destination with import already off
    given = await given_connected_staff()
    await ExternalCalendar.filter(id=given.calendar.id).update(import_busy=False, unreadable_event_ids=["a.ics"])
    await record_success(given.connection.id, NOW, unreadable_may_change=True)
    assert (await CalendarConnection.get(id=given.connection.id)).health == ConnectionHealth.DEGRADED
    await connection_settings.update_external_calendar(given.owner, given.calendar.id, None, False, NOW)
    # When a later sync call succeeds
    await record_success(given.connection.id, NOW + timedelta(minutes=1))
    # Then the calendar that is no longer pulled does not count
    active = await CalendarConnection.get(id=given.connection.id)
    assert (active.health, active.last_error) == (ConnectionHealth.ACTIVE, "")


async def test_disconnecting_forgets_the_unreadable_events(db: str) -> None:
    # Given a calendar whose last pull could not read one event
    given = await given_connected_staff()
    await ExternalCalendar.filter(id=given.calendar.id).update(unreadable_event_ids=["a.ics"])
    # When the connection is disconnected
    await disconnect_calendar(given.owner, given.connection.id, False, NOW)
    # Then nothing unreadable is remembered for it
    assert (await ExternalCalendar.get(id=given.calendar.id)).unreadable_event_ids == []
