"""The "test connection" preview of a Google connection, over real HTTP through the app against the fake of Google's
servers: the next seven days as Google holds them, what blocks under the connection's settings, titles for the staff
member alone, and each way Google can fail, named, with nothing of the sync state written."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from domain.sync import event_marker
from models import (
    Booking,
    BusyBlock,
    BusyBlockSource,
    CalendarConnection,
    ConnectionHealth,
    ExternalCalendar,
    Provider,
    Staff,
    SyncLogEntry,
)
from providers.entry import ProviderApp
from services.credentials import CredentialVault
from services.sync_health import log_action
from tests.fakes.google import FakeGoogle
from tests.support.calendar_api import KEY, gid
from tests.support.calendar_sync import staff_token
from tests.support.google import conforming_google
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop, sign_up

USER = "tech@example.com"
PUBLIC = "http://lockstep.test"
BERLIN = ZoneInfo("Europe/Berlin")
PREVIEW = """query($id: ID!) { connectionPreview(connectionId: $id) { __typename
  ... on ConnectionPreview { truncated calendars { name } events { startsAt endsAt allDay title blocks lockstep
    bookingId calendar { name } } }
  ... on ConnectionPreviewFailed { problem message retryAfterSeconds }
  ... on NotAuthorized { message } ... on NotFound { message path } ... on ValidationError { message path } } }"""
# Tomorrow, in UTC, at whole hours: inside the seven days whenever the test runs.
DAY = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
ALL_DAY = (DAY + timedelta(days=2)).date()


@dataclass
class Given:
    api: GraphQLClient
    google: FakeGoogle
    owner_token: str
    staff_token: str
    connection: CalendarConnection
    booking: Booking


def at(hour: int) -> str:
    return (DAY + timedelta(hours=hour)).isoformat()


def timed(summary: str, start: int, end: int, **fields: Any) -> dict[str, Any]:
    return {"summary": summary, "start": {"dateTime": at(start)}, "end": {"dateTime": at(end)}, **fields}


@pytest.fixture
async def given(db: str) -> AsyncIterator[Given]:
    """A shop whose staff member (signed in) has a Google connection importing busy time from the primary calendar,
    a booking tomorrow at 10:00 UTC, and the app at the fake Google."""
    async with conforming_google() as google:
        settings = dataclasses.replace(
            Settings.from_env(), secret_keys=(KEY,), public_url=PUBLIC,
            provider_apps={"google": ProviderApp(google.oauth.client_id, google.oauth.client_secret,
                                                 authorize_url=google.authorize_url, token_url=google.token_url,
                                                 revoke_url=google.revoke_url, api_url=google.api_url)})
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
            api = GraphQLClient(http)
            shop = await given_shop(api)
            token = await staff_token(api, shop)
            access, refresh = google.oauth.issue_tokens()
            connection = await CalendarConnection.create(
                staff=await Staff.get(), provider=Provider.GOOGLE, account_label=USER,
                credentials=CredentialVault([KEY]).seal({"access_token": access, "refresh_token": refresh}))
            await ExternalCalendar.create(connection=connection, provider_calendar_id=USER, name="Work",
                                          time_zone="Europe/Berlin", primary=True, import_busy=True,
                                          is_destination=True)
            booked = await api(CREATE_BOOKING, {"input": {
                "serviceId": shop.service_id, "startsAt": at(10), "staffId": shop.staff_id,
                "customer": {"name": "Cleo", "email": "cleo@example.com"}}}, shop.owner_token)
            assert booked["createBooking"]["__typename"] == "BookingPayload", booked
            yield Given(api, google, shop.owner_token, token, connection, await Booking.get())


def given_the_technicians_week(google: FakeGoogle, booking: Booking) -> None:
    """The technician's own events in Google, and the event Lockstep wrote for the booking."""
    google.insert_by_hand(USER, timed("Dentist", 8, 9))
    google.insert_by_hand(USER, timed("Boiler check – Cleo", 10, 11, extendedProperties={
        "private": {"lockstepMarker": event_marker(booking.id)}}))
    google.insert_by_hand(USER, timed("Maybe lunch", 12, 13, status="tentative"))
    google.insert_by_hand(USER, timed("Pick up parcel", 14, 15, transparency="transparent"))
    google.insert_by_hand(USER, {"summary": "Holiday", "start": {"date": ALL_DAY.isoformat()},
                                 "end": {"date": (ALL_DAY + timedelta(days=1)).isoformat()}})


def berlin_midnight(day: Any) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=BERLIN).astimezone(UTC).isoformat()


def expected_week(given: Given, titles: bool) -> list[dict[str, Any]]:
    def title(text: str) -> str:
        return text if titles else "Busy"

    def event(start: str, end: str, name: str, blocks: bool, *, all_day: bool = False, lockstep: bool = False,
              booking: str | None = None) -> dict[str, Any]:
        return {"startsAt": start, "endsAt": end, "allDay": all_day, "title": name, "blocks": blocks,
                "lockstep": lockstep, "bookingId": booking, "calendar": {"name": "Work"}}

    return [
        event(at(8), at(9), title("Dentist"), True),
        event(at(10), at(11), "Boiler check – Cleo", False, lockstep=True, booking=gid("Booking", given.booking.id)),
        event(at(12), at(13), title("Maybe lunch"), False),
        event(berlin_midnight(ALL_DAY), berlin_midnight(ALL_DAY + timedelta(days=1)), title("Holiday"), True,
              all_day=True),
    ]


async def preview(given: Given, token: str) -> dict[str, Any]:
    data = await given.api(PREVIEW, {"id": gid("CalendarConnection", given.connection.id)}, token)
    answer: dict[str, Any] = data["connectionPreview"]
    return answer


async def sync_state() -> tuple[list[Any], ...]:
    """Everything a pull writes: busy blocks, the sync log, the calendars' cursors and the connection's health."""
    return (
        list(await BusyBlock.all().order_by("id").values_list("id", "title", "starts_at", "ends_at")),
        list(await SyncLogEntry.all().order_by("id").values_list("id", "action", "outcome", "error")),
        list(await ExternalCalendar.all().order_by("id").values_list(
            "id", "sync_cursor", "window_start", "last_pulled_at", "next_pull_at", "unreadable_event_ids")),
        list(await CalendarConnection.all().order_by("id").values_list(
            "id", "health", "last_error", "consecutive_failures", "refresh_failures", "last_successful_sync_at")),
    )


async def given_earlier_sync_state(given: Given) -> None:
    """What earlier pulls left: a cursor, an imported busy block and a log entry."""
    calendar = await ExternalCalendar.get()
    await ExternalCalendar.filter(id=calendar.id).update(sync_cursor="earlier-sync-token", window_start=DAY)
    await BusyBlock.create(staff_id=given.connection.staff_id, source=BusyBlockSource.EXTERNAL,
                           external_calendar=calendar, external_event_id="old", title="Old dentist",
                           starts_at=DAY + timedelta(hours=16), ends_at=DAY + timedelta(hours=17))
    await log_action(given.connection.id, "import", "pull", "ok", detail="1 busy blocks added or changed")


async def test_the_staff_member_sees_the_week_with_titles_and_what_blocks(given: Given) -> None:
    given_the_technicians_week(given.google, given.booking)
    await given_earlier_sync_state(given)
    before = await sync_state()
    # when the technician tests the connection
    answer = await preview(given, given.staff_token)
    # then every event but the free one is listed with its title, and only busy time blocks
    assert answer == {"__typename": "ConnectionPreview", "truncated": False, "calendars": [{"name": "Work"}],
                      "events": expected_week(given, titles=True)}
    # and nothing of the sync state changed
    assert await sync_state() == before


async def test_the_owner_sees_busy_for_every_personal_title(given: Given) -> None:
    given_the_technicians_week(given.google, given.booking)
    # when the owner tests the technician's connection
    answer = await preview(given, given.owner_token)
    # then personal titles read "Busy"; the booking's own title stays
    assert answer == {"__typename": "ConnectionPreview", "truncated": False, "calendars": [{"name": "Work"}],
                      "events": expected_week(given, titles=False)}


async def test_tentative_events_block_when_the_connection_says_so(given: Given) -> None:
    given.google.insert_by_hand(USER, timed("Maybe lunch", 12, 13, status="tentative"))
    await CalendarConnection.filter(id=given.connection.id).update(tentative_blocks=True, all_day_blocks=False)
    given.google.insert_by_hand(USER, {"summary": "Holiday", "start": {"date": ALL_DAY.isoformat()},
                                       "end": {"date": (ALL_DAY + timedelta(days=1)).isoformat()}})
    answer = await preview(given, given.staff_token)
    assert [(event["title"], event["blocks"]) for event in answer["events"]] == [
        ("Maybe lunch", True), ("Holiday", False)]


async def test_an_expired_access_token_is_refreshed_and_stored(given: Given) -> None:
    given.google.insert_by_hand(USER, timed("Dentist", 8, 9))
    given.google.oauth.expire_access_tokens()
    sealed = (await CalendarConnection.get()).credentials
    # when the preview meets a 401
    answer = await preview(given, given.staff_token)
    # then it refreshed the token, stored it, and read the calendar; the health is as it was
    assert [event["title"] for event in answer["events"]] == ["Dentist"]
    connection = await CalendarConnection.get()
    assert connection.credentials != sealed
    assert (connection.health, connection.last_error) == (ConnectionHealth.ACTIVE, "")


async def test_a_revoked_grant_asks_to_reconnect_and_writes_nothing(given: Given) -> None:
    given.google.insert_by_hand(USER, timed("Dentist", 8, 9))
    await given_earlier_sync_state(given)
    before = await sync_state()
    sealed = (await CalendarConnection.get()).credentials
    # given the technician revoked Lockstep's access at Google
    given.google.oauth.revoke_all()
    # when the preview runs
    answer = await preview(given, given.staff_token)
    # then it names the failure without any token in it
    assert answer == {"__typename": "ConnectionPreviewFailed", "problem": "REAUTHORIZATION_REQUIRED",
                      "retryAfterSeconds": None,
                      "message": "The calendar refused Lockstep's credentials; reconnect the calendar (Google no "
                                 "longer accepts this connection's access)"}
    stored = CredentialVault([KEY]).unseal(sealed)
    assert stored["access_token"] not in answer["message"] and stored["refresh_token"] not in answer["message"]
    # and the busy blocks, sync log, cursors, health and credentials are as they were
    assert await sync_state() == before
    assert (await CalendarConnection.get()).credentials == sealed


async def test_google_down_is_unavailable(given: Given) -> None:
    await given_earlier_sync_state(given)
    before = await sync_state()
    given.google.fail("GET", r"/calendars/.*/events$", 503)
    answer = await preview(given, given.staff_token)
    assert answer == {"__typename": "ConnectionPreviewFailed", "problem": "UNAVAILABLE", "retryAfterSeconds": None,
                      "message": "The calendar could not be reached (events.list: Google answered 503 backendError); "
                                 "try again later"}
    assert await sync_state() == before


async def test_a_rate_limit_says_how_long_to_wait(given: Given) -> None:
    given.google.fail("GET", r"/calendars/.*/events$", 429, retry_after="30")
    answer = await preview(given, given.staff_token)
    assert answer == {"__typename": "ConnectionPreviewFailed", "problem": "RATE_LIMITED", "retryAfterSeconds": 30,
                      "message": "The calendar limits how often it is asked (events.list: Google answered 429 "
                                 "rateLimitExceeded); try again in 30 seconds"}


async def test_a_disconnected_connection_is_named_and_google_is_not_asked(given: Given) -> None:
    await CalendarConnection.filter(id=given.connection.id).update(health=ConnectionHealth.DISCONNECTED,
                                                                   credentials="")
    given.google.log.clear()
    answer = await preview(given, given.owner_token)
    assert answer == {"__typename": "ConnectionPreviewFailed", "problem": "DISCONNECTED", "retryAfterSeconds": None,
                      "message": "This calendar connection is disconnected; connect the account again"}
    assert given.google.log == []


async def test_another_business_owner_learns_nothing(given: Given) -> None:
    # given the owner of another business
    other = await sign_up(given.api, "rival@example.com", "OWNER", "Rita Rival")
    given.google.insert_by_hand(USER, timed("Dentist", 8, 9))
    given.google.log.clear()
    # when they ask for the technician's preview
    answer = await preview(given, other["accessToken"])
    # then it is not found, as every connection that is not theirs, and Google was not asked
    assert answer == {"__typename": "NotFound", "message": "Calendar connection not found", "path": ["connectionId"]}
    assert given.google.log == []


async def test_a_customer_is_not_authorized(given: Given) -> None:
    customer = await sign_up(given.api, "cleo@example.com")
    answer = await preview(given, customer["accessToken"])
    assert answer == {"__typename": "NotAuthorized", "message": "Only owner or staff accounts may do this"}


async def test_an_unknown_connection_is_not_found(given: Given) -> None:
    data = await given.api(PREVIEW, {"id": gid("CalendarConnection", given.connection.id + 1000)},
                           given.owner_token)
    assert data["connectionPreview"] == {"__typename": "NotFound", "message": "Calendar connection not found",
                                         "path": ["connectionId"]}


async def test_google_not_configured_on_this_server_is_named(db: str) -> None:
    # given a server whose settings configure no Google client, and a Google connection made before
    settings = dataclasses.replace(Settings.from_env(), secret_keys=(KEY,), public_url=PUBLIC, provider_apps={})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)), base_url=PUBLIC) as http:
        api = GraphQLClient(http)
        shop = await given_shop(api)
        connection = await CalendarConnection.create(
            staff=await Staff.get(), provider=Provider.GOOGLE, account_label=USER,
            credentials=CredentialVault([KEY]).seal({"access_token": "a", "refresh_token": "r"}))
        await ExternalCalendar.create(connection=connection, provider_calendar_id=USER, name="Work", import_busy=True)
        # when the owner tests it
        data = await api(PREVIEW, {"id": gid("CalendarConnection", connection.id)}, shop.owner_token)
    # then the answer says the provider is not available here
    assert data["connectionPreview"] == {
        "__typename": "ConnectionPreviewFailed", "problem": "PROVIDER_NOT_AVAILABLE", "retryAfterSeconds": None,
        "message": "Google connections are not configured on this server"}
