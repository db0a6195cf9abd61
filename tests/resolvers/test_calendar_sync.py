"""Calendar connections and sync through the API: connecting and checking CalDAV accounts, the calendars' roles,
connection settings, sync now, retries, the sync log, health, conflicts, disconnecting, unlinking and notifications.

The app runs with a fake account probe (the dependency the app injects into the services) and a credential key of
the test's own, so what is stored can be opened and checked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from jobs.pull import pull_calendar
from models import (
    Booking,
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    Notification,
    SyncConflict,
    SyncLogEntry,
)
from providers.caldav import CaldavCredentials, CaldavProvider
from services.connections import ConnectionCheckError, ProbedCalendar
from services.credentials import CredentialVault, new_key
from services.sync_health import log_action, notify_staff
from tests.support.caldav_servers import CaldavServer, make_calendar, write_by_hand
from tests.support.calendar_api import (
    AT_TEN,
    CONFLICTS,
    CONNECT,
    DISCONNECT,
    LIST,
    LOG,
    MARK_READ,
    NOTIFICATIONS,
    PASSWORD,
    RESOLVE,
    RETRY,
    SYNC_NOW,
    TEST_CONNECTION,
    UNLINK,
    UPDATE_CALENDAR,
    UPDATE_CONNECTION,
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

KEY = new_key()

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


async def test_sync_now_makes_every_calendar_and_pending_push_due(api: GraphQLClient) -> None:
    shop, token, row = await connected(api)
    later = datetime(2099, 1, 1, tzinfo=UTC)
    mapping = await mapped(await booked(api, shop), EventMappingState.PENDING, next_attempt_at=later)
    await ExternalCalendar.all().update(next_pull_at=later)
    data = await api(SYNC_NOW, {"input": {"connectionId": gid("CalendarConnection", row.id)}}, token)
    assert data["syncNow"] == {"__typename": "CalendarConnection", "id": gid("CalendarConnection", row.id)}
    now = datetime.now(UTC)
    assert all(found.next_pull_at is not None and found.next_pull_at <= now for found in await ExternalCalendar.all())
    due = (await EventMapping.get(id=mapping.id)).next_attempt_at
    assert due is not None and due <= now
    # a connection that needs the password again cannot sync until it is reconnected
    await CalendarConnection.filter(id=row.id).update(health=ConnectionHealth.REAUTHORIZATION_REQUIRED)
    refused = await api(SYNC_NOW, {"input": {"connectionId": gid("CalendarConnection", row.id)}}, token)
    assert refused["syncNow"]["message"] == ("The calendar refused Lockstep's credentials: connect the account again "
                                             "first")


async def test_only_a_failed_item_can_be_retried_and_only_by_its_people(api: GraphQLClient) -> None:
    shop, token, _ = await connected(api)
    failed = await mapped(await booked(api, shop), EventMappingState.FAILED, attempts=6, last_error="Server error 500")
    synced = await mapped(await booked(api, shop, 3, "Dora"), EventMappingState.SYNCED)
    rival = (await sign_up(api, "rival@example.com", "OWNER"))["accessToken"]
    foreign = await api(RETRY, {"input": {"mappingId": gid("SyncItem", failed.id)}}, rival)
    assert foreign["retrySync"] == {"__typename": "NotFound", "message": "Sync item not found",
                                    "path": ["input", "mappingId"]}
    assert (await EventMapping.get(id=failed.id)).state == EventMappingState.FAILED
    retried = await api(RETRY, {"input": {"mappingId": gid("SyncItem", failed.id)}}, token)
    assert retried["retrySync"] == {"__typename": "SyncItem", "id": gid("SyncItem", failed.id), "state": "PENDING",
                                    "bookingId": gid("Booking", failed.booking_id), "attempts": 0, "lastError": ""}
    not_failed = await api(RETRY, {"input": {"mappingId": gid("SyncItem", synced.id)}}, token)
    assert not_failed["retrySync"] == {"__typename": "ValidationError", "path": ["input", "mappingId"],
                                       "message": "Only a failed item can be retried"}
    assert (await EventMapping.get(id=synced.id)).state == EventMappingState.SYNCED


async def test_the_sync_log_pages_newest_first(api: GraphQLClient) -> None:
    shop, token, row = await connected(api)
    booking = await booked(api, shop)
    mapping = await mapped(booking, EventMappingState.FAILED)
    for action in ("pull", "create", "update"):
        await log_action(row.id, "import" if action == "pull" else "export", action, "ok")
    await log_action(row.id, "export", "delete", "failed", booking_id=booking.id, mapping_id=mapping.id,
                     error="Server error 503")
    connection_id = gid("CalendarConnection", row.id)
    actions: list[list[str]] = []
    after = None
    while True:
        page = (await api(LOG, {"id": connection_id, "first": 2, "after": after}, token))["syncLog"]
        actions.append([edge["node"]["action"] for edge in page["edges"]])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert actions == [["delete", "update"], ["create", "pull"], ["connect"]]
    newest = (await api(LOG, {"id": connection_id, "first": 1}, token))["syncLog"]["edges"][0]["node"]
    assert newest == {"direction": "export", "action": "delete", "outcome": "failed", "detail": "",
                      "error": "Server error 503", "bookingId": gid("Booking", booking.id),
                      "mappingId": gid("SyncItem", mapping.id)}
    bad_cursor = await api(LOG, {"id": connection_id, "first": 2, "after": "nonsense"}, token)
    too_many = await api(LOG, {"id": connection_id, "first": 101}, token)
    assert bad_cursor["syncLog"] == {"__typename": "ValidationError", "path": ["after"],
                                     "message": "This cursor is not valid"}
    assert too_many["syncLog"] == {"__typename": "ValidationError", "path": ["first"],
                                   "message": "Ask for between 1 and 100 entries"}


async def test_health_shows_lag_last_error_and_counts(api: GraphQLClient) -> None:
    shop, token, row = await connected(api)
    synced_at = datetime.now(UTC) - timedelta(seconds=90)
    await CalendarConnection.filter(id=row.id).update(
        health=ConnectionHealth.DEGRADED, last_successful_sync_at=synced_at, last_error="Server error 503")
    first, second = await booked(api, shop), await booked(api, shop, 3, "Dora")
    await mapped(first, EventMappingState.PENDING)
    await mapped(second, EventMappingState.FAILED)
    await SyncConflict.create(staff_id=row.staff_id, booking=first, connection=row, kind="busy_overlap")
    data = await api(LIST, {"staffId": shop.staff_id}, token)
    (health,) = [found["health"] for found in data["calendarConnections"]["connections"]]
    assert 90 <= health.pop("lagSeconds") < 120
    assert health == {"status": "DEGRADED", "lastSuccessfulSyncAt": synced_at.isoformat(),
                      "lastError": "Server error 503", "pendingCount": 1, "failedCount": 1, "openConflictCount": 1}


async def test_conflicts_are_listed_and_settled_through_the_api(api: GraphQLClient) -> None:
    shop, token, row = await connected(api)
    moved, other = await booked(api, shop), await booked(api, shop, 3, "Dora")
    overlap = await SyncConflict.create(staff_id=row.staff_id, booking=moved, connection=row, kind="busy_overlap")
    taken = await SyncConflict.create(staff_id=row.staff_id, booking=moved, connection=row, kind="event_moved",
                                      proposed_start=other.starts_at, proposed_end=other.ends_at)
    listed = await api(CONFLICTS, {"staffId": shop.staff_id, "status": "OPEN"}, token)
    assert listed["conflicts"]["conflicts"] == [
        {"id": gid("SyncConflict", taken.id), "kind": "EVENT_MOVED", "status": "OPEN", "resolution": None,
         "proposedStartsAt": other.starts_at.astimezone(UTC).isoformat(),
         "booking": {"id": gid("Booking", moved.id), "customerName": "Cleo"}},
        {"id": gid("SyncConflict", overlap.id), "kind": "BUSY_OVERLAP", "status": "OPEN", "resolution": None,
         "proposedStartsAt": None, "booking": {"id": gid("Booking", moved.id), "customerName": "Cleo"}}]
    kept = await api(RESOLVE, {"input": {"conflictId": gid("SyncConflict", overlap.id), "choice": "KEEP_BOOKING"}},
                     token)
    assert {key: kept["resolveConflict"][key] for key in ("__typename", "kind", "status", "resolution")} == {
        "__typename": "SyncConflict", "kind": "BUSY_OVERLAP", "status": "SETTLED", "resolution": "KEEP_BOTH"}
    # accepting a move onto Dora's time is refused as SlotUnavailable, and the conflict stays open
    onto_taken = await api(RESOLVE, {"input": {"conflictId": gid("SyncConflict", taken.id),
                                               "choice": "ACCEPT_CALENDAR"}}, token)
    assert onto_taken["resolveConflict"] == {"__typename": "SlotUnavailable", "message": "That time is not available"}
    assert (await SyncConflict.get(id=taken.id)).status == "open"
    again = await api(RESOLVE, {"input": {"conflictId": gid("SyncConflict", overlap.id), "choice": "KEEP_BOOKING"}},
                      token)
    assert again["resolveConflict"]["message"] == "This conflict is already settled"
    customer = await sign_up(api, "c@example.com")
    denied = await api(CONFLICTS, {"staffId": shop.staff_id}, customer["accessToken"])
    assert denied["conflicts"]["__typename"] == "NotAuthorized"


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


async def test_notifications_are_the_viewers_own_and_can_be_marked_read(api: GraphQLClient) -> None:
    shop, token, row = await connected(api)
    await notify_staff(row.staff_id, "reauthorization_required", "Reconnect your calendar")
    await notify_staff(row.staff_id, "sync_recovered", "Calendar sync is working again")
    listed = await api(NOTIFICATIONS, {"unreadOnly": True}, token)
    assert [(found["kind"], found["readAt"]) for found in listed["notifications"]["notifications"]] == [
        ("sync_recovered", None), ("reauthorization_required", None)]
    ids = [found["id"] for found in listed["notifications"]["notifications"]]
    # the owner got copies of their own, and may not mark the staff member's
    foreign = await api(MARK_READ, {"input": {"ids": ids[:1]}}, shop.owner_token)
    assert foreign["markNotificationsRead"] == {"__typename": "NotFound", "path": ["input", "ids", "0"],
                                                "message": "Notification not found"}
    marked = await api(MARK_READ, {"input": {"ids": ids[1:]}}, token)
    assert marked["markNotificationsRead"]["unreadCount"] == 1
    assert marked["markNotificationsRead"]["notifications"][0]["readAt"] is not None
    unread = await api(NOTIFICATIONS, {"unreadOnly": True}, token)
    assert [found["kind"] for found in unread["notifications"]["notifications"]] == ["sync_recovered"]
    assert await Notification.filter(read_at=None).count() == 3  # the owner's two are untouched


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
