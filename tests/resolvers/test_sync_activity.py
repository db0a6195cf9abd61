"""Sync activity through the API: sync now, retrying a failed item, the sync log, a connection's health, listing and
settling conflicts, and the viewer's notifications.

The app runs with a fake account probe (the dependency the app injects into the services) and the tests' own
credential key (KEY in tests/support/calendar_api.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from models import (
    CalendarConnection,
    ConnectionHealth,
    EventMapping,
    EventMappingState,
    ExternalCalendar,
    Notification,
    SyncConflict,
)
from services.sync_health import log_action, notify_staff, record_success
from tests.support.calendar_api import (
    CONFLICTS,
    KEY,
    LIST,
    LOG,
    MARK_READ,
    NOTIFICATIONS,
    RESOLVE,
    RETRY,
    SYNC_NOW,
    booked,
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
    both = await api("""query($id: ID!) { syncLog(connectionId: $id, first: 0, after: "nonsense") {
        ... on ValidationError { fields { path message } } } }""", {"id": connection_id}, token)
    assert both["syncLog"] == {"fields": [{"path": ["first"], "message": "Ask for between 1 and 100 entries"},
                                          {"path": ["after"], "message": "This cursor is not valid"}]}


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


UNREADABLE = """query($staffId: ID!) { calendarConnections(staffId: $staffId) {
  ... on CalendarConnectionList { connections { health { status lastError unreadableEvents } } } } }"""


async def test_health_says_how_many_events_could_not_be_read_until_they_are(api: GraphQLClient) -> None:
    # Given a connection two of whose pulled calendars' events the last pulls could not read
    shop, token, row = await connected(api)
    work, family = await ExternalCalendar.filter(connection_id=row.id).order_by("id").limit(2)
    await ExternalCalendar.filter(id=work.id).update(import_busy=True, unreadable_event_ids=["w1", "w2"])
    await ExternalCalendar.filter(id=family.id).update(import_busy=True, unreadable_event_ids=["f1"])
    # When a sync succeeds
    await record_success(row.id, datetime.now(UTC), unreadable_may_change=True)
    # Then the connection is degraded and says how many
    data = await api(UNREADABLE, {"staffId": shop.staff_id}, token)
    assert [found["health"] for found in data["calendarConnections"]["connections"]] == [
        {"status": "DEGRADED", "lastError": "3 events could not be read; they keep the busy time last read",
         "unreadableEvents": 3}]
    # When later pulls read them all, the next success makes it active again
    await ExternalCalendar.filter(connection_id=row.id).update(unreadable_event_ids=[])
    await record_success(row.id, datetime.now(UTC), unreadable_may_change=True)
    data = await api(UNREADABLE, {"staffId": shop.staff_id}, token)
    assert [found["health"] for found in data["calendarConnections"]["connections"]] == [
        {"status": "ACTIVE", "lastError": "", "unreadableEvents": 0}]


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
