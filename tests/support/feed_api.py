"""Calendar feeds through the real app: the GraphQL documents, a business with two staff members and a customer, and
fetching a feed's address from the same ASGI app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from models import CalendarFeed
from tests.support.calendar_sync import staff_token
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop, sign_up

BERLIN = ZoneInfo("Europe/Berlin")
CREATE_FEED = """mutation($input: CreateCalendarFeedInput!) { createCalendarFeed(input: $input) { __typename
  ... on CalendarFeedCreated { url feed { id kind madeByViewer revokedAt staff { id } business { id } } }
  ... on ValidationError { message path } ... on NotAuthorized { message } ... on NotFound { message path } } }"""
REVOKE_FEED = """mutation($input: RevokeCalendarFeedInput!) { revokeCalendarFeed(input: $input) { __typename
  ... on CalendarFeed { id kind revokedAt }
  ... on ValidationError { message path } ... on NotAuthorized { message } ... on NotFound { message path } } }"""
FEEDS = """{ calendarFeeds { __typename ... on CalendarFeeds { feeds { id kind madeByViewer staff { id }
  business { id } } } ... on NotAuthorized { message } } }"""
EXPORT = """query($staffId: ID, $businessId: ID, $from: DateTime!, $to: DateTime!) {
  exportBookings(staffId: $staffId, businessId: $businessId, from: $from, to: $to) { __typename
    ... on BookingExport { ics bookingCount from to }
    ... on ExportTooLarge { message bookingCount maxBookings }
    ... on ValidationError { message path } ... on NotAuthorized { message } ... on NotFound { message path } } }"""
RESCHEDULE = """mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) { __typename
  ... on BookingPayload { booking { id startsAt } } } }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename
  ... on BookingPayload { booking { id status } } } }"""


@dataclass
class FeedShop:
    """A business (owner Olga), its staff members Sam (signed in) and Kim, one service both perform, a customer."""

    shop: Shop
    sam_token: str
    kim_id: str
    customer_token: str


async def given_feed_shop(api: GraphQLClient) -> FeedShop:
    shop = await given_shop(api)
    sam = await staff_token(api, shop)
    kim = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) {
        ... on CreateStaffPayload { staff { id } } } }""", {"input": {
        "businessId": shop.business_id, "name": "Kim Tech", "email": "kim@example.com", "timeZone": "Europe/Berlin"}},
        shop.owner_token)
    kim_id = kim["createStaff"]["staff"]["id"]
    week = [{"weekday": day, "ranges": [{"start": "09:00", "end": "17:00"}]}
            for day in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")]
    await api("""mutation($input: SetWorkingHoursInput!) { setWorkingHours(input: $input) { __typename } }""",
              {"input": {"staffId": kim_id, "days": week}}, shop.owner_token)
    updated = await api("""mutation($input: UpdateServiceInput!) { updateService(input: $input) { __typename } }""",
                        {"input": {"id": shop.service_id, "staffIds": [shop.staff_id, kim_id]}}, shop.owner_token)
    assert updated["updateService"]["__typename"] == "Service", updated
    customer = await sign_up(api, "cleo@example.com", name="Cleo Customer")
    return FeedShop(shop, sam, kim_id, customer["accessToken"])


def at_ten_in(days: int, hour: int = 10) -> datetime:
    local = datetime.now(BERLIN).replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return local.astimezone(UTC)


async def book(api: GraphQLClient, token: str, service_id: str, staff_id: str, starts_at: datetime,
               **more: Any) -> str:
    made = await api(CREATE_BOOKING, {"input": {"serviceId": service_id, "staffId": staff_id,
                                                "startsAt": starts_at.isoformat(), **more}}, token)
    assert made["createBooking"]["__typename"] == "BookingPayload", made
    return str(made["createBooking"]["booking"]["id"])


async def make_feed(api: GraphQLClient, token: str, **subject: str) -> dict[str, Any]:
    made = await api(CREATE_FEED, {"input": subject}, token)
    assert made["createCalendarFeed"]["__typename"] == "CalendarFeedCreated", made
    return made["createCalendarFeed"]  # type: ignore[no-any-return]


async def fetch(http: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    """GET the feed's address from the app under test (its public host is not where the test's client points)."""
    return await http.get(urlsplit(url).path, headers=headers)


async def feed_rows() -> list[tuple[str, int, int, bool]]:
    """Every feed row's kind, subject, maker and whether it is active, by id."""
    return [(str(row.kind), row.subject_id, row.created_by_id, row.revoked_at is None)
            for row in await CalendarFeed.all().order_by("id")]
