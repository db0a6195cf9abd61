"""GraphQL documents and small helpers for the calendar sync API tests: a shop whose staff member connected their
CalDAV account through the API, bookings made through the API, and sync items for them. KEY is the only credential
key of the app these tests run, so what it stores can be opened and checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models import Booking, CalendarConnection, EventMapping, EventMappingState, ExternalCalendar
from schema.ids import encode_id
from services.credentials import new_key
from tests.support.calendar_sync import SERVER, staff_token
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop

PASSWORD = "app-specific s3cret"
KEY = new_key()
_DAY = (datetime.now(UTC) + timedelta(days=14)).date()
AT_TEN = datetime(_DAY.year, _DAY.month, _DAY.day, 8, tzinfo=UTC)  # 10:00 in Berlin in summer, 09:00 in winter

HEALTH = "health { status lastSuccessfulSyncAt lagSeconds lastError pendingCount failedCount openConflictCount }"
CALENDARS = "calendars { name colour timeZone writable primary importBusy isDestination }"
CONNECTION = f"""id provider serverType accountLabel direction frequency conflictPolicy tentativeBlocks allDayBlocks
  {HEALTH} {CALENDARS}"""
ERRORS = """... on ValidationError { message path } ... on NotAuthorized { message } ... on NotFound { message path }"""
CONNECT = f"""mutation($input: CaldavAccountInput!) {{ connectCaldav(input: $input) {{ __typename
  ... on CalendarConnection {{ {CONNECTION} }} ... on ConnectionCheckFailed {{ problem message }} {ERRORS} }} }}"""
TEST_CONNECTION = f"""mutation($input: CaldavAccountInput!) {{ testCalendarConnection(input: $input) {{ __typename
  ... on ConnectionTestPayload {{ serverUrl calendars {{ name writable primary }} }}
  ... on ConnectionCheckFailed {{ problem message }} {ERRORS} }} }}"""
LIST = f"""query($staffId: ID!) {{ calendarConnections(staffId: $staffId) {{ __typename
  ... on CalendarConnectionList {{ connections {{ id {HEALTH} calendars {{ id name isDestination }} }} }}
  {ERRORS} }} }}"""
UPDATE_CALENDAR = f"""mutation($input: UpdateExternalCalendarInput!) {{ updateExternalCalendar(input: $input) {{
  __typename ... on ExternalCalendar {{ name importBusy isDestination }} {ERRORS} }} }}"""
UPDATE_CONNECTION = f"""mutation($input: UpdateCalendarConnectionInput!) {{ updateCalendarConnection(input: $input) {{
  __typename ... on CalendarConnection {{ direction frequency conflictPolicy tentativeBlocks allDayBlocks }}
  {ERRORS} }} }}"""
SYNC_NOW = f"""mutation($input: SyncNowInput!) {{ syncNow(input: $input) {{ __typename
  ... on CalendarConnection {{ id }} {ERRORS} }} }}"""
RETRY = f"""mutation($input: RetrySyncInput!) {{ retrySync(input: $input) {{ __typename
  ... on SyncItem {{ id state bookingId attempts lastError }} {ERRORS} }} }}"""
LOG = f"""query($id: ID!, $first: Int!, $after: String) {{ syncLog(connectionId: $id, first: $first, after: $after) {{
  __typename ... on SyncLogConnection {{ edges {{ cursor node {{ direction action outcome detail error bookingId
  mappingId }} }} pageInfo {{ hasNextPage endCursor }} }} {ERRORS} }} }}"""
CONFLICTS = f"""query($staffId: ID!, $status: ConflictStatus) {{ conflicts(staffId: $staffId, status: $status) {{
  __typename ... on SyncConflictList {{ conflicts {{ id kind status resolution proposedStartsAt
  booking {{ id customerName }} }} }} {ERRORS} }} }}"""
RESOLVE = f"""mutation($input: ResolveConflictInput!) {{ resolveConflict(input: $input) {{ __typename
  ... on SyncConflict {{ kind status resolution settledAt }} ... on SlotUnavailable {{ message }} {ERRORS} }} }}"""
DISCONNECT = f"""mutation($input: DisconnectCalendarInput!) {{ disconnectCalendar(input: $input) {{ __typename
  ... on CalendarConnection {{ {HEALTH} calendars {{ isDestination }} }} {ERRORS} }} }}"""
UNLINK = f"""mutation($input: UnlinkBookingEventInput!) {{ unlinkBookingEvent(input: $input) {{ __typename
  ... on SyncItem {{ id state bookingId }} {ERRORS} }} }}"""
NOTIFICATIONS = f"""query($unreadOnly: Boolean!) {{ notifications(unreadOnly: $unreadOnly) {{ __typename
  ... on NotificationList {{ unreadCount notifications {{ id kind message readAt }} }} {ERRORS} }} }}"""
MARK_READ = f"""mutation($input: MarkNotificationsReadInput!) {{ markNotificationsRead(input: $input) {{ __typename
  ... on NotificationList {{ unreadCount notifications {{ kind readAt }} }} {ERRORS} }} }}"""



def account(shop: Shop, **changes: Any) -> dict[str, Any]:
    return {"input": {"staffId": shop.staff_id, "providerType": "GENERIC", "serverUrl": SERVER, "username": "sam",
                      "password": PASSWORD, **changes}}


async def connected(api: GraphQLClient) -> tuple[Shop, str, CalendarConnection]:
    """Given a shop whose staff member signed in and connected their CalDAV account (Work, Family, Holidays)."""
    shop = await given_shop(api)
    token = await staff_token(api, shop)
    data = await api(CONNECT, account(shop), token)
    assert data["connectCaldav"]["__typename"] == "CalendarConnection", data
    return shop, token, await CalendarConnection.get()


async def calendar(provider_calendar_id: str) -> ExternalCalendar:
    return await ExternalCalendar.get(provider_calendar_id=provider_calendar_id)


async def booked(api: GraphQLClient, shop: Shop, hours_later: int = 0, name: str = "Cleo") -> Booking:
    start = (AT_TEN + timedelta(hours=hours_later)).isoformat()
    data = await api(CREATE_BOOKING, {"input": {
        "serviceId": shop.service_id, "startsAt": start, "staffId": shop.staff_id,
        "customer": {"name": name, "email": "cleo@example.com"}}}, shop.owner_token)
    assert data["createBooking"]["__typename"] == "BookingPayload", data
    return await Booking.get(customer_name=name)


async def mapped(booking: Booking, state: EventMappingState, **values: Any) -> EventMapping:
    work = await calendar("work")
    return await EventMapping.create(booking=booking, external_calendar=work, state=state, **values)


def gid(type_name: str, pk: int) -> str:
    return str(encode_id(type_name, pk))
