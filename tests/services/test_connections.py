"""Connecting calendar accounts and managing them, at the service level, with a fake account probe (the injected
dependency) and a real credential vault."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from models import (
    Booking,
    Business,
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    Staff,
    SyncLogEntry,
    User,
    UserRole,
)
from services import connection_settings, connections
from services.auth import Viewer
from services.connections import ConnectionCheckError, ProbedCalendar
from services.credentials import CredentialVault, new_key
from services.errors import InvalidInputError, NotAuthorizedError, NotFoundError
from tests.support.calendar_sync import FAMILY, SERVER, WORK, FakeProbe, probed
from tests.support.sync import book, given_connected_staff

NOW = datetime(2030, 1, 7, 6, tzinfo=UTC)
PASSWORD = "app-specific s3cret"


@dataclass(frozen=True)
class Given:
    owner: Viewer
    staff_viewer: Viewer
    staff: Staff


async def given_staff() -> Given:
    owner = await User.create(email="owner@example.com", name="Olga", password_hash="-", role=UserRole.OWNER)
    member = await User.create(email="sam@example.com", name="Sam", password_hash="-", role=UserRole.STAFF)
    business = await Business.create(name="Fix-It", time_zone="Europe/Berlin", owner=owner)
    staff = await Staff.create(business=business, user=member, name="Sam", email="sam@example.com",
                               time_zone="Europe/Berlin")
    return Given(Viewer(owner.id, UserRole.OWNER), Viewer(member.id, UserRole.STAFF), staff)


async def connect(viewer: Viewer, staff_id: int, probe: FakeProbe, vault: CredentialVault, *,
                  username: str = "sam", password: str = PASSWORD, now: datetime = NOW) -> CalendarConnection:
    return await connections.connect_caldav(viewer, staff_id, "generic", SERVER, username, password, probe, vault, now)


async def calendars() -> list[tuple[str, bool, bool]]:
    rows = await ExternalCalendar.all().order_by("id")
    return [(row.provider_calendar_id, row.import_busy, row.is_destination) for row in rows]


async def test_connecting_stores_sealed_credentials_and_makes_every_calendar_due(db: str) -> None:
    given = await given_staff()
    probe, vault = FakeProbe(), CredentialVault([new_key()])
    connection = await connect(given.staff_viewer, given.staff.id, probe, vault)
    assert probe.calls == [("generic", SERVER, "sam", PASSWORD)]
    assert (connection.provider, connection.server_type, connection.account_label, connection.health) == (
        "caldav", "generic", "sam", ConnectionHealth.ACTIVE)
    assert PASSWORD not in connection.credentials
    assert vault.unseal(connection.credentials) == {
        "server_url": SERVER, "username": "sam", "password": PASSWORD, "home_url": f"{SERVER}calendars/sam/",
        "principal_url": f"{SERVER}principals/sam/", "own_addresses": ["sam@example.com"]}
    # only the primary imports busy time and takes bookings; every calendar is due for its first import now
    assert await calendars() == [("work", True, True), ("family", False, False), ("holidays", False, False)]
    rows = await ExternalCalendar.all().order_by("id")
    assert [(row.name, row.colour, row.time_zone, row.writable, row.primary) for row in rows] == [
        ("Work", "#3366cc", "Europe/Berlin", True, True), ("Family", "#ff8800", "Europe/Berlin", True, False),
        ("Holidays", "", "UTC", False, False)]
    assert {row.next_pull_at for row in rows} == {NOW}
    entry = await SyncLogEntry.get()
    assert (entry.action, entry.outcome, entry.detail) == ("connect", "ok", "3 calendars found, 3 new")
    assert PASSWORD not in entry.detail + entry.error


async def test_an_existing_destination_stays_the_destination(db: str) -> None:
    given = await given_connected_staff()  # its Work calendar, on another account, is the destination
    staff_viewer = Viewer(given.staff.user_id or 0, UserRole.STAFF)
    await connect(staff_viewer, given.staff.id, FakeProbe(probed(WORK)), CredentialVault([new_key()]),
                  username="sam@icloud.example")
    new = await ExternalCalendar.exclude(id=given.calendar.id).get()
    assert (new.import_busy, new.is_destination) == (True, False)
    assert (await ExternalCalendar.get(id=given.calendar.id)).is_destination


async def test_a_read_only_primary_calendar_imports_but_is_no_destination(db: str) -> None:
    given = await given_staff()
    read_only = probed(ProbedCalendar("shared", "Shared", "", "UTC", writable=False, primary=True), FAMILY)
    await connect(given.owner, given.staff.id, FakeProbe(read_only), CredentialVault([new_key()]))
    assert await calendars() == [("shared", True, False), ("family", False, False)]


async def test_another_username_on_the_same_server_is_another_connection(db: str) -> None:
    given = await given_staff()
    probe, vault = FakeProbe(probed(FAMILY)), CredentialVault([new_key()])
    first = await connect(given.owner, given.staff.id, probe, vault)
    second = await connect(given.owner, given.staff.id, probe, vault, username="sam-work")
    assert first.id != second.id
    assert await CalendarConnection.all().count() == 2


async def test_connecting_again_after_a_disconnect_starts_a_new_connection(db: str) -> None:
    given = await given_staff()
    probe, vault = FakeProbe(), CredentialVault([new_key()])
    old = await connect(given.owner, given.staff.id, probe, vault)
    await connections.disconnect_calendar(given.owner, old.id, False, NOW)
    new = await connect(given.owner, given.staff.id, probe, vault, now=NOW + timedelta(hours=1))
    assert new.id != old.id
    assert (await CalendarConnection.get(id=old.id)).health == ConnectionHealth.DISCONNECTED
    # the old connection's calendars gave up being the destination, so the new primary takes over
    assert (await ExternalCalendar.get(connection_id=new.id, provider_calendar_id="work")).is_destination


async def test_checking_an_account_saves_nothing(db: str) -> None:
    given = await given_staff()
    probe = FakeProbe()
    found = await connections.test_calendar_connection(given.staff_viewer, given.staff.id, "icloud", None, "sam",
                                                       PASSWORD, probe)
    assert [calendar.name for calendar in found.calendars] == ["Work", "Family", "Holidays"]
    assert probe.calls == [("icloud", None, "sam", PASSWORD)]
    assert (await CalendarConnection.all().count(), await ExternalCalendar.all().count()) == (0, 0)


@pytest.mark.parametrize(("server_type", "server_url", "username", "password", "path"), [
    ("exchange", None, "sam", PASSWORD, ["input", "providerType"]),
    ("generic", SERVER, "  ", PASSWORD, ["input", "username"]),
    ("generic", SERVER, "sam", "   ", ["input", "password"]),
    ("generic", "ftp://dav.example.com/", "sam", PASSWORD, ["input", "serverUrl"]),
    ("generic", "https://", "sam", PASSWORD, ["input", "serverUrl"]),
])
async def test_bad_account_details_are_refused_before_the_server_is_asked(
        db: str, server_type: str, server_url: str | None, username: str, password: str, path: list[str]) -> None:
    given = await given_staff()
    probe = FakeProbe()
    with pytest.raises(InvalidInputError) as raised:
        await connections.connect_caldav(given.owner, given.staff.id, server_type, server_url, username, password,
                                         probe, CredentialVault([new_key()]), NOW)
    assert raised.value.path == path
    assert probe.calls == []
    assert await CalendarConnection.all().count() == 0


async def test_a_failed_account_check_saves_nothing(db: str) -> None:
    given = await given_staff()
    probe = FakeProbe()
    probe.failure = ConnectionCheckError("wrong_password", "The server refused the username or password")
    with pytest.raises(ConnectionCheckError) as raised:
        await connect(given.owner, given.staff.id, probe, CredentialVault([new_key()]))
    assert (raised.value.problem, raised.value.message) == ("wrong_password",
                                                           "The server refused the username or password")
    assert (await CalendarConnection.all().count(), await SyncLogEntry.all().count()) == (0, 0)


async def test_a_colleague_may_not_connect_or_see_a_staff_members_calendars(db: str) -> None:
    given = await given_staff()
    colleague = await User.create(email="kim@example.com", name="Kim", password_hash="-", role=UserRole.STAFF)
    await Staff.create(business_id=given.staff.business_id, user=colleague, name="Kim", email="kim@example.com",
                       time_zone="UTC")
    probe = FakeProbe()
    as_colleague = Viewer(colleague.id, UserRole.STAFF)
    with pytest.raises(NotAuthorizedError):
        await connect(as_colleague, given.staff.id, probe, CredentialVault([new_key()]))
    with pytest.raises(NotAuthorizedError):
        await connections.list_connections(as_colleague, given.staff.id)
    with pytest.raises(NotFoundError):
        await connect(given.owner, given.staff.id + 100, probe, CredentialVault([new_key()]))
    assert probe.calls == []
    assert await CalendarConnection.all().count() == 0


async def test_unlinking_a_series_occurrence_unlinks_the_series_event(db: str) -> None:
    given = await given_connected_staff()
    first, second = await book(given, datetime(2030, 1, 8, 9, tzinfo=UTC), NOW, recurrence="FREQ=WEEKLY;COUNT=2")
    mapping = await EventMapping.create(booking=first, external_calendar=given.calendar,
                                        state=EventMappingState.SYNCED, external_event_id="series-1@lockstep.ics")
    unlinked = await connections.unlink_booking_event(given.owner, second.id, given.connection.id)
    assert (unlinked.id, unlinked.state) == (mapping.id, EventMappingState.UNLINKED)
    entry = await SyncLogEntry.get(action="unlink")
    assert (entry.booking_id, entry.mapping_id) == (first.id, mapping.id)
    assert (await Booking.get(id=second.id)).status == "confirmed"


async def test_unlinking_a_booking_that_has_no_event_there_is_not_found(db: str) -> None:
    given = await given_connected_staff()
    (booking,) = await book(given, datetime(2030, 1, 8, 9, tzinfo=UTC), NOW)
    with pytest.raises(NotFoundError) as raised:
        await connections.unlink_booking_event(given.owner, booking.id, given.connection.id)
    assert raised.value.path == ["input", "bookingId"]
    assert await SyncLogEntry.all().count() == 0


async def test_disconnecting_twice_keeps_the_first_time_and_can_still_remove_blocks(db: str) -> None:
    given = await given_connected_staff(credentials="sealed")
    start = datetime(2030, 1, 8, 9, tzinfo=UTC)
    await BusyBlock.create(staff=given.staff, source=BusyBlockSource.EXTERNAL, external_calendar=given.calendar,
                           starts_at=start, ends_at=start + timedelta(hours=1))
    first = await connections.disconnect_calendar(given.owner, given.connection.id, False, NOW)
    assert (first.credentials, first.health, first.disconnected_at) == ("", ConnectionHealth.DISCONNECTED, NOW)
    assert await BusyBlock.all().count() == 1
    again = await connections.disconnect_calendar(given.owner, given.connection.id, True, NOW + timedelta(hours=1))
    assert again.disconnected_at == NOW
    assert await BusyBlock.all().count() == 0
    details = await SyncLogEntry.filter(action="disconnect").order_by("id").values_list("detail", flat=True)
    assert details == ["imported busy blocks kept", "imported busy blocks removed: 1"]
    with pytest.raises(InvalidInputError):
        await connection_settings.update_external_calendar(given.owner, given.calendar.id, True, None, NOW)
