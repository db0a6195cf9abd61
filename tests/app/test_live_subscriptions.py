"""Subscriptions through a real uvicorn server with Redis, driven by the Python `gql` client over websockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from gql.transport.exceptions import TransportQueryError

from models import Business, CalendarConnection, Provider, Staff, User, UserRole
from services import live
from services.sync_health import record_failure
from tests.support.calendar_api import AT_TEN
from tests.support.calendar_sync import staff_token
from tests.support.graphql import CREATE_BOOKING, GraphQLClient, Shop, given_shop, sign_up
from tests.support.live import (
    AVAILABILITY_CHANGED,
    BOOKING_CHANGED,
    COMPLETED,
    NOTIFICATIONS,
    SYNC_HEALTH_CHANGED,
    live_api,
    new_channel,
    socket,
    wait_for_health,
)


@pytest.fixture
def channel() -> str:
    return new_channel()


@pytest.fixture
def server(db: str, redis_url: str, channel: str, tmp_path: Path) -> Iterator[str]:
    with live_api(db, tmp_path, redis_url, channel, LOCKSTEP_WS_MAX_SUBSCRIPTIONS="2",
                  LOCKSTEP_ALLOWED_ORIGINS="https://app.example.com") as base:
        yield base


@pytest.fixture
async def http(server: str) -> AsyncIterator[GraphQLClient]:
    async with httpx.AsyncClient(base_url=server, timeout=15) as client:
        yield GraphQLClient(client)


async def book(http: GraphQLClient, shop: Shop, hours_later: int = 0) -> str:
    start = (AT_TEN + timedelta(hours=hours_later)).isoformat()
    data = await http(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": start,
                                                 "staffId": shop.staff_id, "customer": {"name": "Cleo"}}},
                      shop.owner_token)
    assert data["createBooking"]["__typename"] == "BookingPayload", data
    return str(data["createBooking"]["booking"]["id"])


async def test_a_booking_reaches_owner_staff_and_anonymous_availability_subscribers(server: str, http: GraphQLClient
                                                                                    ) -> None:
    # given the owner following the business, the staff member following themself, and an anonymous visitor
    # following the service's availability
    shop = await given_shop(http)
    staff = await staff_token(http, shop)
    async with (socket(server, shop.owner_token) as owner, socket(server, staff) as mine,
                socket(server) as visitor):
        business_feed = owner.subscribe(BOOKING_CHANGED, {"businessId": shop.business_id})
        staff_feed = mine.subscribe(BOOKING_CHANGED, {"staffId": shop.staff_id})
        slots_feed = visitor.subscribe(AVAILABILITY_CHANGED, {"serviceId": shop.service_id})
        await wait_for_health(server, subscribers=3)
        # when the owner books over HTTP
        booking_id = await book(http, shop)
        # then both business subscribers hear of the booking, and the visitor of the time it took only
        changed = {"__typename": "BookingChanged", "kind": "CREATED", "businessId": shop.business_id,
                   "staffIds": [shop.staff_id],
                   "bookings": [{"id": booking_id, "status": "CONFIRMED", "startsAt": AT_TEN.isoformat(),
                                 "customerName": "Cleo"}]}
        assert await business_feed.next() == {"bookingChanged": changed}
        assert await staff_feed.next() == {"bookingChanged": changed}
        assert await slots_feed.next() == {"availabilityChanged": {
            "__typename": "AvailabilityChanged", "staffId": shop.staff_id,
            "spans": [{"start": AT_TEN.isoformat(), "end": (AT_TEN + timedelta(hours=1)).isoformat()}]}}


async def test_queries_and_mutations_work_over_the_socket_with_the_token_from_connection_init(
        server: str, http: GraphQLClient) -> None:
    # given a socket opened with the owner's token as a plain token (no "Bearer")
    shop = await given_shop(http)
    async with socket(server, payload={"authorization": shop.owner_token}) as owner:
        # when the owner asks who they are and books, over the socket
        viewer = await owner.execute("query { viewer { email role } }")
        booked = await owner.execute(CREATE_BOOKING, {"input": {
            "serviceId": shop.service_id, "startsAt": AT_TEN.isoformat(), "staffId": shop.staff_id,
            "walkIn": True}})
    # then both ran as the owner
    assert viewer == {"viewer": {"email": "owner@example.com", "role": "OWNER"}}
    assert booked["createBooking"]["__typename"] == "BookingPayload"
    assert booked["createBooking"]["booking"]["customerName"] == "Walk-in"


async def test_each_operation_over_a_socket_reads_the_users_current_role_and_existence(
        server: str, http: GraphQLClient) -> None:
    # given a socket opened with an owner's token
    shop = await given_shop(http)
    async with socket(server, shop.owner_token) as owner:
        before = await owner.execute("query { viewer { role } }")
        # when the account is made a customer's, and later deleted, while the socket stays open
        await User.filter(email="owner@example.com").update(role=UserRole.CUSTOMER)
        demoted = await owner.execute("query { viewer { role } }")
        await Business.filter(owner__email="owner@example.com").delete()
        await User.filter(email="owner@example.com").delete()
        deleted = await owner.execute("query { viewer { role } }")
    # then every operation ran as the account was at that moment
    assert (before, demoted, deleted) == ({"viewer": {"role": "OWNER"}}, {"viewer": {"role": "CUSTOMER"}},
                                          {"viewer": None})


async def test_refused_subscriptions_get_one_typed_error_and_nothing_after_it(server: str, http: GraphQLClient
                                                                               ) -> None:
    # given a customer, a second staff member of the business, another business's owner and an anonymous client
    shop = await given_shop(http)
    customer = (await sign_up(http, "cleo@example.com"))["accessToken"]
    stranger = await given_shop(http, owner_email="rival@example.com")
    async with (socket(server, customer) as cleo, socket(server, stranger.owner_token) as rival,
                socket(server) as nobody, socket(server, shop.owner_token) as owner):
        # when each subscribes to what the queries would not show them
        refused = [
            cleo.subscribe(BOOKING_CHANGED, {"businessId": shop.business_id}),
            rival.subscribe(BOOKING_CHANGED, {"staffId": shop.staff_id}),
            nobody.subscribe(SYNC_HEALTH_CHANGED, {"staffId": shop.staff_id}),
            rival.subscribe(SYNC_HEALTH_CHANGED, {"businessId": shop.business_id}),
        ]
        answers = [await feed.next() for feed in refused]
        ends = [await feed.next() for feed in refused]
        control = owner.subscribe(BOOKING_CHANGED, {"businessId": shop.business_id})
        await wait_for_health(server, subscribers=1)
        await book(http, shop)
        # then each got NotAuthorized and its subscription ended; the booking reached only the owner
        field = ["bookingChanged", "bookingChanged", "syncHealthChanged", "syncHealthChanged"]
        assert [answer[name]["__typename"] for answer, name in zip(answers, field, strict=True)] == [
            "NotAuthorized"] * 4
        assert answers[0]["bookingChanged"]["message"] == "Only the business's owner and staff may do this"
        assert answers[2]["syncHealthChanged"]["message"] == "Sign in first"
        assert ends == [COMPLETED] * 4
        assert (await control.next())["bookingChanged"]["kind"] == "CREATED"
        for feed in refused:
            assert await feed.nothing_within(0.3)


async def test_a_staff_member_may_not_follow_another_staff_members_sync_health(server: str, http: GraphQLClient
                                                                               ) -> None:
    # given two staff members of one business
    shop = await given_shop(http)
    second = await http("""mutation($input: CreateStaffInput!) { createStaff(input: $input) {
        ... on CreateStaffPayload { inviteCode } } }""", {"input": {"businessId": shop.business_id, "name": "Ann",
                                                                      "email": "ann@example.com",
                                                                      "timeZone": "Europe/Berlin"}}, shop.owner_token)
    accepted = await http("""mutation($input: AcceptStaffInviteInput!) { acceptStaffInvite(input: $input) {
        ... on AuthPayload { accessToken } } }""", {"input": {"code": second["createStaff"]["inviteCode"],
                                                                "password": "staff pass 123"}})
    async with socket(server, accepted["acceptStaffInvite"]["accessToken"]) as ann:
        # when the second follows the first one's calendar health
        feed = ann.subscribe(SYNC_HEALTH_CHANGED, {"staffId": shop.staff_id})
        # then it is refused as the calendarConnections query is
        assert await feed.next() == {"syncHealthChanged": {
            "__typename": "NotAuthorized", "message": "Only the owner or this staff member may change this schedule"}}
        assert await feed.next() == COMPLETED


async def test_sync_health_and_notifications_published_by_another_process_reach_the_owner(
        server: str, http: GraphQLClient, redis_url: str, channel: str) -> None:
    # given a staff member's calendar connection, and the owner following health and notifications
    shop = await given_shop(http)
    staff = await Staff.get()
    connection = await CalendarConnection.create(staff=staff, provider=Provider.CALDAV, account_label="sam")
    async with socket(server, shop.owner_token) as owner:
        health = owner.subscribe(SYNC_HEALTH_CHANGED, {"businessId": shop.business_id})
        inbox = owner.subscribe(NOTIFICATIONS)
        await wait_for_health(server, subscribers=2)
        # when this (non-API) process records that the calendar refused the credentials
        publisher = live.configure(redis_url, channel)
        try:
            await record_failure(connection.id, "credentials refused", AT_TEN, credentials_refused=True)
        finally:
            assert publisher is not None
            await publisher.close()
            live.configure(None)
        # then the owner hears the new health and gets the notification it stored
        changed = (await health.next())["syncHealthChanged"]
        assert (changed["__typename"], changed["status"], changed["connection"]["health"]) == (
            "SyncHealthChanged", "REAUTHORIZATION_REQUIRED",
            {"status": "REAUTHORIZATION_REQUIRED", "lastError": "credentials refused"})
        assert await inbox.next() == {"notifications": {"__typename": "NotificationReceived", "notification": {
            "kind": "reauthorization_required", "message": "The calendar refused Lockstep's credentials: reconnect it",
            "readAt": None}}}


async def test_blocking_and_unblocking_time_announce_the_span(server: str, http: GraphQLClient) -> None:
    # given an anonymous client following the staff member's availability
    shop = await given_shop(http)
    block = {"staffId": shop.staff_id, "startsAt": AT_TEN.isoformat(),
             "endsAt": (AT_TEN + timedelta(minutes=90)).isoformat(), "title": "Dentist"}
    span = {"start": AT_TEN.isoformat(), "end": (AT_TEN + timedelta(minutes=90)).isoformat()}
    async with socket(server) as visitor:
        feed = visitor.subscribe(AVAILABILITY_CHANGED, {"staffId": shop.staff_id})
        await wait_for_health(server, subscribers=1)
        # when the owner blocks time and removes the block again
        blocked = await http("""mutation($input: BlockTimeInput!) { blockTime(input: $input) {
            ... on BusyBlock { id } } }""", {"input": block}, shop.owner_token)
        await http("""mutation($input: RemoveBlockedTimeInput!) { removeBlockedTime(input: $input) {
            __typename } }""", {"input": {"id": blocked["blockTime"]["id"]}}, shop.owner_token)
        # then the visitor hears of the span twice, and never of its title
        expected = {"availabilityChanged": {"__typename": "AvailabilityChanged", "staffId": shop.staff_id,
                                            "spans": [span]}}
        assert [await feed.next(), await feed.next()] == [expected, expected]


async def test_a_connection_has_a_subscription_limit(server: str, http: GraphQLClient) -> None:
    # given a server allowing two subscriptions per connection
    shop = await given_shop(http)
    async with socket(server) as visitor, socket(server) as another:
        first = visitor.subscribe(AVAILABILITY_CHANGED, {"staffId": shop.staff_id})
        second = visitor.subscribe(AVAILABILITY_CHANGED, {"serviceId": shop.service_id})
        await wait_for_health(server, subscribers=2)
        # when the same connection asks for a third, and another connection for one
        third = visitor.subscribe(AVAILABILITY_CHANGED, {"staffId": shop.staff_id})
        refused = await third.next()
        elsewhere = another.subscribe(AVAILABILITY_CHANGED, {"staffId": shop.staff_id})
        await wait_for_health(server, subscribers=3)
        await book(http, shop)
        # then the third is refused, and the other three subscriptions all hear the booking
        assert isinstance(refused, TransportQueryError)
        assert str(refused) == "{'message': 'Subscription limit reached'}"
        for feed in (first, second, elsewhere):
            assert (await feed.next())["availabilityChanged"]["staffId"] == shop.staff_id


RESCHEDULE = """mutation($input: RescheduleBookingInput!) { rescheduleBooking(input: $input) { __typename } }"""


async def test_a_customer_follows_their_own_bookings_and_nobody_elses(server: str, http: GraphQLClient) -> None:
    # given two customers following their own bookings (no business, no staff member), each with a booking
    shop = await given_shop(http)
    cleo = await sign_up(http, "cleo@example.com", name="Cleo Customer")
    dan = await sign_up(http, "dan@example.com", name="Dan Customer")
    booked = await http(CREATE_BOOKING, {"input": {"serviceId": shop.service_id, "startsAt": AT_TEN.isoformat()}},
                        cleo["accessToken"])
    cleos = booked["createBooking"]["booking"]["id"]
    async with socket(server, cleo["accessToken"]) as mine, socket(server, dan["accessToken"]) as his:
        cleo_feed = mine.subscribe(BOOKING_CHANGED, {})
        dan_feed = his.subscribe(BOOKING_CHANGED, {})
        await wait_for_health(server, subscribers=2)
        # when the business moves Cleo's booking an hour later, and books a walk-in for someone else
        later = AT_TEN + timedelta(hours=1)
        moved = await http(RESCHEDULE, {"input": {"id": cleos, "startsAt": later.isoformat()}}, shop.owner_token)
        assert moved["rescheduleBooking"]["__typename"] == "BookingPayload", moved
        await book(http, shop, hours_later=3)
        # then Cleo hears of her booking's move, as a customer sees it (no staff list), and of nothing else
        assert await cleo_feed.next() == {"bookingChanged": {
            "__typename": "BookingChanged", "kind": "RESCHEDULED", "businessId": shop.business_id, "staffIds": [],
            "bookings": [{"id": cleos, "status": "CONFIRMED", "startsAt": later.isoformat(),
                          "customerName": "Cleo Customer"}]}}
        assert await cleo_feed.nothing_within(0.3)
        # and Dan hears nothing of either
        assert await dan_feed.nothing_within(0.3)
