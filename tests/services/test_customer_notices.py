"""A customer hears in their notifications when the business moves or cancels their booking, and not when they did
it themself; a walk-in without an account gets none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models import Notification
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop, sign_up

NOTIFICATIONS = """query { notifications { __typename ... on NotificationList { unreadCount
  notifications { kind message } } } }"""
RESCHEDULE = """mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) { __typename } }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename } }"""
BERLIN = ZoneInfo("Europe/Berlin")
DAY = (datetime.now(UTC) + timedelta(days=5)).date()
NINE = datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=UTC)  # 9:00 in Berlin in winter, 10:00 in summer


async def customers_booking(api: GraphQLClient, shop: Shop, token: str) -> str:
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": NINE.isoformat()}}, token)
    assert data["createBooking"]["__typename"] == "BookingPayload", data
    return str(data["createBooking"]["booking"]["id"])


async def notices(api: GraphQLClient, token: str) -> list[tuple[str, str]]:
    data: dict[str, Any] = (await api(NOTIFICATIONS, {}, token))["notifications"]
    return [(item["kind"], item["message"]) for item in data["notifications"]]


async def test_the_business_moving_then_cancelling_a_booking_tells_its_customer(api: GraphQLClient) -> None:
    # given a customer's booking
    shop = await given_shop(api)
    cleo = (await sign_up(api, "cleo@example.com", name="Cleo Customer"))["accessToken"]
    booking_id = await customers_booking(api, shop, cleo)
    # when the owner moves it an hour later, then cancels it
    later = NINE + timedelta(hours=1)
    moved = await api(RESCHEDULE, {"input": {"id": booking_id, "startsAt": later.isoformat()}}, shop.owner_token)
    cancelled = await api(CANCEL, {"input": {"id": booking_id}}, shop.owner_token)
    assert (moved["rescheduleBooking"]["__typename"], cancelled["cancelBooking"]["__typename"]) == (
        "BookingPayload", "BookingPayload")
    # then she has both notices, newest first, with the time in the business's zone
    local = later.astimezone(BERLIN).strftime("%a %d %b %Y, %H:%M")
    assert await notices(api, cleo) == [("booking_cancelled", f"Fix-It cancelled your booking of {local}"),
                                        ("booking_moved", f"Fix-It moved your booking to {local}")]


async def test_a_customer_changing_their_own_booking_is_not_told(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    cleo = (await sign_up(api, "cleo@example.com", name="Cleo Customer"))["accessToken"]
    booking_id = await customers_booking(api, shop, cleo)
    later = NINE + timedelta(hours=2)
    await api(RESCHEDULE, {"input": {"id": booking_id, "startsAt": later.isoformat()}}, cleo)
    await api(CANCEL, {"input": {"id": booking_id}}, cleo)
    assert await notices(api, cleo) == []


async def test_a_walk_in_without_an_account_gets_no_notification(api: GraphQLClient) -> None:
    shop = await given_shop(api)
    data = await api(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": NINE.isoformat(),
                                                "staffId": shop.staff_id, "customer": {"name": "Walt"}}},
                     shop.owner_token)
    await api(CANCEL, {"input": {"id": data["createBooking"]["booking"]["id"]}}, shop.owner_token)
    assert await Notification.filter(kind__in=["booking_moved", "booking_cancelled"]).count() == 0
