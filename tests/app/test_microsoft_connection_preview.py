"""The "test connection" preview of a Microsoft connection, over real HTTP through the app against the fake
Microsoft Graph: the same query and the same code as Google's, through the registry: the next seven days as Outlook
holds them, busy semantics of Graph (showAs, all-day days in the event's own zone), Lockstep's own events known by
their marker property, titles for the staff member alone, and a revoked grant named with nothing written."""

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
from domain.graph_events import MARKER_PROPERTY_ID
from domain.sync import event_marker
from models import Booking, BusyBlock, CalendarConnection, ExternalCalendar, Provider, Staff, SyncLogEntry
from providers.entry import ProviderApp
from services.credentials import CredentialVault
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.calendar_api import KEY, gid
from tests.support.calendar_sync import staff_token
from tests.support.graph_contract import conforming_microsoft
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, given_shop
from tests.support.microsoft import ACCOUNT, SCOPES

PUBLIC = "http://lockstep.test"
TOKYO = ZoneInfo("Asia/Tokyo")
PREVIEW = """query($id: ID!) { connectionPreview(connectionId: $id) { __typename
  ... on ConnectionPreview { truncated calendars { name } events { startsAt endsAt allDay title blocks lockstep
    bookingId calendar { name } } }
  ... on ConnectionPreviewFailed { problem message retryAfterSeconds } } }"""
DAY = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
ALL_DAY = (DAY + timedelta(days=2)).date()


@dataclass
class Given:
    api: GraphQLClient
    microsoft: FakeMicrosoft
    owner_token: str
    staff_token: str
    connection: CalendarConnection
    booking: Booking
    calendar_id: str


def wall(hour: int) -> dict[str, str]:
    return {"dateTime": (DAY + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def timed(subject: str, start: int, end: int, **fields: Any) -> dict[str, Any]:
    return {"subject": subject, "start": wall(start), "end": wall(end), **fields}


def at(hour: int) -> str:
    return (DAY + timedelta(hours=hour)).isoformat()


@pytest.fixture
async def given(db: str) -> AsyncIterator[Given]:
    """A shop whose signed-in staff member has a Microsoft connection importing busy time from the default calendar,
    a booking tomorrow at 10:00 UTC, and the app at the fake."""
    async with conforming_microsoft() as microsoft:
        settings = dataclasses.replace(
            Settings.from_env(), secret_keys=(KEY,), public_url=PUBLIC,
            provider_apps={"microsoft": ProviderApp(microsoft.client_id, microsoft.client_secret,
                                                    authorize_url=microsoft.authorize_url,
                                                    token_url=microsoft.token_url, revoke_url="",
                                                    api_url=microsoft.api_url)})
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
            api = GraphQLClient(http)
            shop = await given_shop(api)
            token = await staff_token(api, shop)
            issued = microsoft.oauth.issue_tokens(account=ACCOUNT, scope=" ".join(SCOPES))
            connection = await CalendarConnection.create(
                staff=await Staff.get(), provider=Provider.MICROSOFT, account_label=ACCOUNT,
                credentials=CredentialVault([KEY]).seal({"access_token": issued["access_token"],
                                                         "refresh_token": issued["refresh_token"]}))
            calendar_id = microsoft.default_calendar_id()
            await ExternalCalendar.create(connection=connection, provider_calendar_id=calendar_id, name="Calendar",
                                          primary=True, import_busy=True, is_destination=True)
            booked = await api(CREATE_BOOKING, {"input": {
                "serviceId": shop.service_id, "startsAt": at(10), "staffId": shop.staff_id,
                "customer": {"name": "Cleo", "email": "cleo@example.com"}}}, shop.owner_token)
            assert booked["createBooking"]["__typename"] == "BookingPayload", booked
            yield Given(api, microsoft, shop.owner_token, token, connection, await Booking.get(), calendar_id)


def given_the_technicians_week(given: Given) -> None:
    """The technician's own events in Outlook, and the event Lockstep wrote for the booking."""
    add = given.microsoft.insert_by_hand
    add(given.calendar_id, timed("Dentist", 8, 9, showAs="busy"))
    add(given.calendar_id, timed("Boiler check – Cleo", 10, 11, showAs="busy", singleValueExtendedProperties=[
        {"id": MARKER_PROPERTY_ID, "value": event_marker(given.booking.id)}]))
    add(given.calendar_id, timed("Maybe lunch", 12, 13, showAs="tentative"))
    add(given.calendar_id, timed("Pick up parcel", 14, 15, showAs="free"))
    add(given.calendar_id, timed("Client dinner", 18, 19, showAs="oof", sensitivity="private"))
    # an all-day day off booked while travelling in Tokyo: its day is Tokyo's, whatever zone Graph answers in
    add(given.calendar_id, {"subject": "Day off", "isAllDay": True, "showAs": "oof",
                            "start": {"dateTime": f"{ALL_DAY.isoformat()}T00:00:00", "timeZone": "Tokyo Standard Time"},
                            "end": {"dateTime": f"{(ALL_DAY + timedelta(days=1)).isoformat()}T00:00:00",
                                    "timeZone": "Tokyo Standard Time"}})


def tokyo_midnight(day: Any) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=TOKYO).astimezone(UTC).isoformat()


def expected_week(given: Given, titles: bool) -> list[dict[str, Any]]:
    def event(start: str, end: str, name: str, blocks: bool, *, all_day: bool = False, lockstep: bool = False,
              booking: str | None = None) -> dict[str, Any]:
        shown = name if titles or lockstep else "Busy"
        return {"startsAt": start, "endsAt": end, "allDay": all_day, "title": shown, "blocks": blocks,
                "lockstep": lockstep, "bookingId": booking, "calendar": {"name": "Calendar"}}

    return [
        event(at(8), at(9), "Dentist", True),
        event(at(10), at(11), "Boiler check – Cleo", False, lockstep=True, booking=gid("Booking", given.booking.id)),
        event(at(12), at(13), "Maybe lunch", False),
        event(at(18), at(19), "Client dinner", True),
        event(tokyo_midnight(ALL_DAY), tokyo_midnight(ALL_DAY + timedelta(days=1)), "Day off", True, all_day=True),
    ]


async def preview(given: Given, token: str) -> dict[str, Any]:
    data = await given.api(PREVIEW, {"id": gid("CalendarConnection", given.connection.id)}, token)
    answer: dict[str, Any] = data["connectionPreview"]
    return answer


async def sync_state() -> tuple[list[Any], ...]:
    return (list(await BusyBlock.all().values_list("id", "starts_at")),
            list(await SyncLogEntry.all().values_list("id", "outcome")),
            list(await ExternalCalendar.all().values_list("id", "sync_cursor", "next_pull_at")),
            list(await CalendarConnection.all().values_list("id", "health", "last_error", "consecutive_failures")))


async def test_the_staff_member_sees_the_outlook_week_with_titles_and_what_blocks(given: Given) -> None:
    given_the_technicians_week(given)
    before = await sync_state()
    # when the technician tests the connection
    answer = await preview(given, given.staff_token)
    # then every event but the free one is listed (soonest first), with Graph's busy semantics
    assert answer == {"__typename": "ConnectionPreview", "truncated": False, "calendars": [{"name": "Calendar"}],
                      "events": sorted(expected_week(given, titles=True), key=lambda event: event["startsAt"])}
    # and nothing of the sync state changed
    assert await sync_state() == before


async def test_the_owner_sees_busy_for_every_personal_title_private_ones_included(given: Given) -> None:
    given_the_technicians_week(given)
    answer = await preview(given, given.owner_token)
    assert answer["events"] == sorted(expected_week(given, titles=False), key=lambda event: event["startsAt"])


async def test_a_revoked_grant_asks_to_reconnect_and_writes_nothing(given: Given) -> None:
    given.microsoft.insert_by_hand(given.calendar_id, timed("Dentist", 8, 9))
    before = await sync_state()
    sealed = (await CalendarConnection.get()).credentials
    # given the technician removed Lockstep at My Apps (refresh refused) and the access token expired
    given.microsoft.oauth.revoke_all()
    given.microsoft.oauth.expire_access_tokens()
    # when the preview runs
    answer = await preview(given, given.staff_token)
    # then it names the failure, and nothing was written
    assert (answer["__typename"], answer["problem"], answer["retryAfterSeconds"]) == (
        "ConnectionPreviewFailed", "REAUTHORIZATION_REQUIRED", None)
    assert await sync_state() == before
    assert (await CalendarConnection.get()).credentials == sealed
