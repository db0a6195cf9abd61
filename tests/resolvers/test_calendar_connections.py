"""Connecting CalDAV accounts through the API: connecting and connecting the same account again, checking an account
without saving it, each connection problem, bad input, who may connect or list, disconnecting, and the app's own
account probe against a real CalDAV server.

The app runs with a fake account probe (the dependency the app injects into the services) and the tests' own
credential key (KEY in tests/support/calendar_api.py), so what is stored can be opened and checked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from jobs.pull import pull_calendar
from models import (
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    SyncLogEntry,
)
from providers.caldav import CaldavCredentials, CaldavProvider
from services.connections import ConnectionCheckError, ProbedCalendar
from services.credentials import CredentialVault
from tests.support.caldav_servers import CaldavServer, make_calendar, write_by_hand
from tests.support.calendar_api import (
    AT_TEN,
    CONNECT,
    DISCONNECT,
    KEY,
    LIST,
    LOG,
    PASSWORD,
    TEST_CONNECTION,
    UPDATE_CALENDAR,
    account,
    booked,
    calendar,
    connected,
    gid,
    mapped,
)
from tests.support.calendar_sync import FAMILY, HOLIDAYS, SERVER, WORK, FakeProbe, probed, staff_token, sync_api
from tests.support.graphql import GraphQLClient, given_shop, sign_up
from tests.support.sync import personal_event


@pytest.fixture
def probe() -> FakeProbe:
    return FakeProbe()


@pytest.fixture
async def api(db: str, probe: FakeProbe) -> AsyncIterator[GraphQLClient]:
    """The real app, checking accounts with the fake probe and sealing credentials with KEY."""
    async with sync_api(probe, KEY) as client:
        yield client


async def test_a_staff_member_connects_a_caldav_account_and_the_password_is_never_shown(
        api: GraphQLClient, probe: FakeProbe) -> None:
    shop = await given_shop(api)
    token = await staff_token(api, shop)
    response = await api.http.post("/graphql", json={"query": CONNECT, "variables": account(shop)},
                                   headers={"Authorization": f"Bearer {token}"})
    result = response.json()["data"]["connectCaldav"]
    row = await CalendarConnection.get()
    assert result["id"] == gid("CalendarConnection", row.id)
    assert {key: result[key] for key in ("provider", "serverType", "accountLabel", "direction", "frequency",
                                         "conflictPolicy", "tentativeBlocks", "allDayBlocks")} == {
        "provider": "CALDAV", "serverType": "GENERIC", "accountLabel": "sam", "direction": "TWO_WAY",
        "frequency": "REAL_TIME", "conflictPolicy": "ASK", "tentativeBlocks": False, "allDayBlocks": True}
    assert result["health"] == {"status": "ACTIVE", "lastSuccessfulSyncAt": None, "lagSeconds": None,
                                "lastError": "", "pendingCount": 0, "failedCount": 0, "openConflictCount": 0}
    assert result["calendars"] == [
        {"name": "Work", "colour": "#3366cc", "timeZone": "Europe/Berlin", "writable": True, "primary": True,
         "importBusy": True, "isDestination": True},
        {"name": "Family", "colour": "#ff8800", "timeZone": "Europe/Berlin", "writable": True, "primary": False,
         "importBusy": False, "isDestination": False},
        {"name": "Holidays", "colour": "", "timeZone": "UTC", "writable": False, "primary": False,
         "importBusy": False, "isDestination": False}]
    assert probe.calls == [("generic", SERVER, "sam", PASSWORD)]
    # the password is stored only sealed, and no answer or log line carries it
    assert PASSWORD not in response.text
    assert PASSWORD not in row.credentials
    assert CredentialVault([KEY]).unseal(row.credentials)["password"] == PASSWORD
    log = await api(LOG, {"id": result["id"], "first": 10}, token)
    assert PASSWORD not in str(log)
    assert [edge["node"]["action"] for edge in log["syncLog"]["edges"]] == ["connect"]


async def test_connecting_the_same_account_again_revives_it_in_place(api: GraphQLClient, probe: FakeProbe) -> None:
    shop, token, row = await connected(api)
    booking = await booked(api, shop)
    mapping = await mapped(booking, EventMappingState.PENDING, attempts=2)
    await CalendarConnection.filter(id=row.id).update(health=ConnectionHealth.REAUTHORIZATION_REQUIRED,
                                                      last_error="The server refused the password",
                                                      consecutive_failures=3)
    probe.account = probed(WORK, FAMILY, HOLIDAYS, ProbedCalendar("team", "Team", "", "UTC", True, False))
    # when the staff member connects the account again with the new password
    before = datetime.now(UTC)
    data = await api(CONNECT, account(shop, password="new app password"), token)
    # then it is the same connection, active again, with the new calendar added and pending work due now
    result = data["connectCaldav"]
    assert result["id"] == gid("CalendarConnection", row.id)
    assert (result["health"]["status"], result["health"]["lastError"], result["health"]["pendingCount"]) == (
        "ACTIVE", "", 1)
    assert [found["name"] for found in result["calendars"]] == ["Work", "Family", "Holidays", "Team"]
    assert await CalendarConnection.all().count() == 1
    revived = await CalendarConnection.get(id=row.id)
    assert revived.consecutive_failures == 0
    assert CredentialVault([KEY]).unseal(revived.credentials)["password"] == "new app password"
    due = (await EventMapping.get(id=mapping.id)).next_attempt_at
    assert due is not None and before <= due <= datetime.now(UTC)


async def test_checking_an_account_lists_its_calendars_and_saves_nothing(api: GraphQLClient, probe: FakeProbe) -> None:
    shop = await given_shop(api)
    data = await api(TEST_CONNECTION, account(shop, providerType="ICLOUD", serverUrl=None), shop.owner_token)
    assert data["testCalendarConnection"] == {"__typename": "ConnectionTestPayload", "serverUrl": SERVER, "calendars": [
        {"name": "Work", "writable": True, "primary": True}, {"name": "Family", "writable": True, "primary": False},
        {"name": "Holidays", "writable": False, "primary": False}]}
    assert probe.calls == [("icloud", None, "sam", PASSWORD)]
    assert (await CalendarConnection.all().count(), await ExternalCalendar.all().count()) == (0, 0)


@pytest.mark.parametrize("problem", ["wrong_password", "wrong_url", "not_caldav", "tls_error", "timeout",
                                     "unreachable"])
async def test_each_connection_problem_is_reported_and_nothing_is_saved(
        api: GraphQLClient, probe: FakeProbe, problem: str) -> None:
    shop = await given_shop(api)
    probe.failure = ConnectionCheckError(problem, f"Could not connect: {problem}")
    tested = await api(TEST_CONNECTION, account(shop), shop.owner_token)
    connecting = await api(CONNECT, account(shop), shop.owner_token)
    expected = {"__typename": "ConnectionCheckFailed", "problem": problem.upper(),
                "message": f"Could not connect: {problem}"}
    assert (tested["testCalendarConnection"], connecting["connectCaldav"]) == (expected, expected)
    assert (await CalendarConnection.all().count(), await SyncLogEntry.all().count()) == (0, 0)


async def test_bad_input_is_a_validation_error_and_the_server_is_not_asked(
        api: GraphQLClient, probe: FakeProbe) -> None:
    shop = await given_shop(api)
    ftp = await api(CONNECT, account(shop, serverUrl="ftp://dav.example.com/"), shop.owner_token)
    empty = await api(CONNECT, account(shop, password=""), shop.owner_token)
    wrong_id = await api(CONNECT, account(shop, staffId=shop.service_id), shop.owner_token)
    assert ftp["connectCaldav"] == {"__typename": "ValidationError", "path": ["input", "serverUrl"],
                                    "message": "Give the server's http:// or https:// address"}
    assert empty["connectCaldav"] == {"__typename": "ValidationError", "path": ["input", "password"],
                                      "message": "Must not be empty"}
    assert wrong_id["connectCaldav"] == {"__typename": "ValidationError", "path": ["input", "staffId"],
                                         "message": "Not a StaffMember ID"}
    assert probe.calls == []
    assert await CalendarConnection.all().count() == 0


async def test_customers_outsiders_and_anonymous_callers_cannot_connect_or_list(
        api: GraphQLClient, probe: FakeProbe) -> None:
    shop = await given_shop(api)
    customer = await sign_up(api, "c@example.com")
    rival = await sign_up(api, "rival@example.com", "OWNER")
    as_customer = await api(CONNECT, account(shop), customer["accessToken"])
    as_rival = await api(CONNECT, account(shop), rival["accessToken"])
    anonymous = await api(CONNECT, account(shop))
    listed = await api(LIST, {"staffId": shop.staff_id}, rival["accessToken"])
    assert as_customer["connectCaldav"] == {"__typename": "NotAuthorized",
                                            "message": "Only owner or staff accounts may do this"}
    assert as_rival["connectCaldav"] == {"__typename": "NotAuthorized",
                                         "message": "Only the owner or this staff member may change this schedule"}
    assert anonymous["connectCaldav"] == {"__typename": "NotAuthorized", "message": "Sign in first"}
    assert listed["calendarConnections"]["__typename"] == "NotAuthorized"
    assert probe.calls == []
    assert await CalendarConnection.all().count() == 0


async def test_disconnecting_forgets_the_password_keeps_busy_time_and_unlinks_events(api: GraphQLClient) -> None:
    shop, token, row = await connected(api)
    work = await calendar("work")
    mapping = await mapped(await booked(api, shop), EventMappingState.SYNCED, external_event_id="booking-1.ics")
    await BusyBlock.create(staff_id=row.staff_id, source=BusyBlockSource.EXTERNAL, external_calendar=work,
                           starts_at=AT_TEN, ends_at=AT_TEN + timedelta(hours=1))
    data = await api(DISCONNECT, {"input": {"connectionId": gid("CalendarConnection", row.id)}}, token)
    assert data["disconnectCalendar"]["health"]["status"] == "DISCONNECTED"
    assert {found["isDestination"] for found in data["disconnectCalendar"]["calendars"]} == {False}
    after = await CalendarConnection.get(id=row.id)
    assert (after.credentials, after.disconnected_at is not None) == ("", True)
    assert await BusyBlock.all().count() == 1  # stale but never empty: the last known busy time stays
    assert (await EventMapping.get(id=mapping.id)).state == EventMappingState.UNLINKED
    entry = await SyncLogEntry.filter(action="disconnect").get()
    assert (entry.direction, entry.outcome, entry.detail) == ("none", "ok", "imported busy blocks kept")
    # still listed, and the blocks go when asked
    listed = await api(LIST, {"staffId": shop.staff_id}, token)
    assert [found["health"]["status"] for found in listed["calendarConnections"]["connections"]] == ["DISCONNECTED"]
    await api(DISCONNECT, {"input": {"connectionId": gid("CalendarConnection", row.id),
                                     "removeImportedBlocks": True}}, token)
    assert await BusyBlock.all().count() == 0


async def test_the_apps_own_probe_connects_a_real_caldav_account_the_worker_can_read(
        db: str, radicale_server: CaldavServer) -> None:
    # given a Radicale account with a calendar holding a personal event
    server = radicale_server
    calendar_url = await make_calendar(server, "Shop work")
    await write_by_hand(server, calendar_url, "dentist", personal_event("dentist", AT_TEN, summary="Dentist"))
    real = {"providerType": "GENERIC", "serverUrl": server.url, "username": server.username,
            "password": server.password}
    async with sync_api(None, KEY) as api:
        shop = await given_shop(api)
        # when it is connected with a wrong password, with no server URL, and then properly
        wrong = await api(CONNECT, {"input": {**real, "staffId": shop.staff_id, "password": "guess"}},
                          shop.owner_token)
        no_url = await api(CONNECT, {"input": {**real, "staffId": shop.staff_id, "serverUrl": None}},
                           shop.owner_token)
        response = await api.http.post("/graphql", json={"query": CONNECT, "variables": {
            "input": {**real, "staffId": shop.staff_id}}}, headers={"Authorization": f"Bearer {shop.owner_token}"})
        connected = response.json()["data"]["connectCaldav"]
        shop_work = await ExternalCalendar.get(name="Shop work")
        await api(UPDATE_CALENDAR, {"input": {"id": gid("ExternalCalendar", shop_work.id), "importBusy": True}},
                  shop.owner_token)
    assert wrong["connectCaldav"] == {"__typename": "ConnectionCheckFailed", "problem": "WRONG_PASSWORD",
                                      "message": "The server refused the username or password"}
    assert no_url["connectCaldav"] == {"__typename": "ValidationError", "path": ["input", "serverUrl"],
                                       "message": "A generic account needs the server URL"}
    assert connected["__typename"] == "CalendarConnection"
    assert "Shop work" in [found["name"] for found in connected["calendars"]]
    assert server.password not in response.text
    # then the stored credentials are what the worker reads: a pull with them imports the personal event
    secrets = CredentialVault([KEY]).unseal((await CalendarConnection.get()).credentials)
    credentials = CaldavCredentials(secrets["server_url"], secrets["username"], secrets["password"])
    async with CaldavProvider(credentials, secrets["home_url"]) as provider:
        outcome = await pull_calendar(shop_work.id, provider, datetime.now(UTC))
    assert outcome.status == "done"
    blocks = await BusyBlock.filter(external_calendar_id=shop_work.id).values_list("title", "starts_at")
    assert [(title, start.astimezone(UTC)) for title, start in blocks] == [("Dentist", AT_TEN)]
