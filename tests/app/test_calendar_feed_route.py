"""GET /feeds/{token}.ics through the real ASGI app: each feed holds its own bookings only (never busy blocks), each
booking under the UID of its invitation mail whatever happens to it, cancelled ones left out; conditional GET with
the ETag of the bytes; a revoked, unknown or malformed address is one and the same 404; the answer is bounded."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.logs import masked
from models import Booking
from schema.ids import decode_id
from tests.support.feed_api import (
    CANCEL,
    RESCHEDULE,
    REVOKE_FEED,
    FeedShop,
    at_ten_in,
    book,
    fetch,
    given_feed_shop,
    make_feed,
)
from tests.support.feeds import read_feed
from tests.support.graphql import GraphQLClient, api_with

PUBLIC = "https://book.example.com"


@pytest.fixture
async def feeds_api(db: str) -> AsyncIterator[GraphQLClient]:
    async with api_with(public_url=PUBLIC) as (client, _app):
        yield client


def uid(booking_id: str) -> str:
    decoded = decode_id(booking_id)
    assert decoded is not None
    return f"invitation-booking-{decoded.pk}@book.example.com"


async def given_bookings_of_both_staff(api: GraphQLClient) -> tuple[FeedShop, str, str]:
    """Cleo's booking with Sam in two days, a named customer's with Kim at the same time, and Sam's dentist block."""
    shop = await given_feed_shop(api)
    cleo = await book(api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, at_ten_in(2))
    dora = await book(api, shop.shop.owner_token, shop.shop.service_id, shop.kim_id, at_ten_in(2),
                      customer={"name": "Dora Door", "email": "dora@example.com", "phone": "+49 170 1"})
    blocked = await api("""mutation($input: BlockTimeInput!) { blockTime(input: $input) { __typename } }""",
                        {"input": {"staffId": shop.shop.staff_id, "startsAt": at_ten_in(3).isoformat(),
                                   "endsAt": (at_ten_in(3) + timedelta(hours=1)).isoformat(), "title": "Dentist"}},
                        shop.sam_token)
    assert blocked["blockTime"]["__typename"] == "BusyBlock", blocked
    return shop, cleo, dora


async def test_a_staff_feed_holds_their_own_bookings_and_no_busy_blocks(feeds_api: GraphQLClient) -> None:
    # given bookings with Sam and with Kim, and a block in Sam's calendar
    shop, cleo, _dora = await given_bookings_of_both_staff(feeds_api)
    # when Sam makes his own feed and a calendar app fetches it
    made = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    assert made["url"].startswith(f"{PUBLIC}/feeds/") and made["url"].endswith(".ics")
    response = await fetch(feeds_api.http, made["url"])
    # then it is a private calendar, tagged by its bytes
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    # holding Sam's booking as staff see it, and nothing of Kim's booking or of the block
    feed = read_feed(response.content)
    assert feed.name == "Sam Tech – Fix-It"
    (event,) = feed.events
    assert (event.uid, event.sequence, event.starts_at) == (uid(cleo), 1, at_ten_in(2))
    assert (event.summary, event.description) == ("Boiler check – Cleo Customer", "Customer: Cleo Customer\nFix-It")
    for absent in (b"Dora", b"Dentist", b"Busy", b"cleo@example.com", b"dora@example.com"):
        assert absent not in response.content


async def test_the_business_feed_holds_every_staff_members_bookings(feeds_api: GraphQLClient) -> None:
    shop, cleo, dora = await given_bookings_of_both_staff(feeds_api)
    made = await make_feed(feeds_api, shop.shop.owner_token, businessId=shop.shop.business_id)
    feed = read_feed((await fetch(feeds_api.http, made["url"])).content)
    assert feed.name == "Fix-It"
    assert {(event.uid, event.summary) for event in feed.events} == {
        (uid(cleo), "Boiler check – Cleo Customer (Sam Tech)"), (uid(dora), "Boiler check – Dora Door (Kim Tech)")}
    assert b"Dentist" not in (await fetch(feeds_api.http, made["url"])).content


async def test_a_customer_feed_holds_their_own_bookings_as_their_invitation_says(feeds_api: GraphQLClient) -> None:
    shop, cleo, _dora = await given_bookings_of_both_staff(feeds_api)
    made = await make_feed(feeds_api, shop.customer_token)
    assert made["feed"]["kind"] == "CUSTOMER"
    feed = read_feed((await fetch(feeds_api.http, made["url"])).content)
    assert feed.name == "My bookings"
    (event,) = feed.events
    assert (event.uid, event.summary, event.description) == (uid(cleo), "Boiler check at Fix-It",
                                                             "Boiler check with Sam Tech\nFix-It")


async def test_a_conditional_get_is_answered_not_modified_until_a_booking_changes(feeds_api: GraphQLClient) -> None:
    # given Sam's feed with Cleo's booking, fetched once
    shop, cleo, _dora = await given_bookings_of_both_staff(feeds_api)
    made = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    first = await fetch(feeds_api.http, made["url"])
    etag = first.headers["etag"]
    # when the calendar asks again with that tag, it is told nothing changed, without a body
    again = await fetch(feeds_api.http, made["url"], **{"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert again.headers["cache-control"] == "private, no-cache"
    # and with another tag it gets the feed
    assert (await fetch(feeds_api.http, made["url"], **{"If-None-Match": '"other"'})).content == first.content
    # when the owner moves the booking an hour later
    moved = await feeds_api(RESCHEDULE, {"input": {"id": cleo, "startsAt": at_ten_in(2, hour=11).isoformat()}},
                            shop.shop.owner_token)
    assert moved["rescheduleBooking"]["__typename"] == "BookingPayload", moved
    # then the old tag no longer matches, and the same event (same UID) has its new time and a higher SEQUENCE
    changed = await fetch(feeds_api.http, made["url"], **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    (event,) = read_feed(changed.content).events
    assert (event.uid, event.sequence, event.starts_at) == (uid(cleo), 2, at_ten_in(2, hour=11))


async def test_a_cancelled_booking_leaves_the_feed(feeds_api: GraphQLClient) -> None:
    shop, cleo, _dora = await given_bookings_of_both_staff(feeds_api)
    other = await book(feeds_api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, at_ten_in(4))
    made = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    cancelled = await feeds_api(CANCEL, {"input": {"id": cleo}}, shop.customer_token)
    assert cancelled["cancelBooking"]["booking"]["status"] == "CANCELLED"
    feed = read_feed((await fetch(feeds_api.http, made["url"])).content)
    assert feed.uids() == [uid(other)]


async def test_a_series_is_one_event_with_the_uid_of_its_invitation(feeds_api: GraphQLClient) -> None:
    shop = await given_feed_shop(feeds_api)
    first = await book(feeds_api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, at_ten_in(2),
                       recurrence="FREQ=WEEKLY;COUNT=3")
    series_id = (await Booking.get(id=decode_id(first).pk)).series_id  # type: ignore[union-attr]
    made = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    (event,) = read_feed((await fetch(feeds_api.http, made["url"])).content).events
    assert (event.uid, event.rrule, event.sequence) == (
        f"invitation-series-{series_id}@book.example.com", "FREQ=WEEKLY;COUNT=3", 3)


async def test_a_revoked_address_is_not_found_like_one_that_never_was(feeds_api: GraphQLClient) -> None:
    # given Sam's feed, and the owner's own feed of Sam's bookings
    shop, _cleo, _dora = await given_bookings_of_both_staff(feeds_api)
    mine = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    owners = await make_feed(feeds_api, shop.shop.owner_token, staffId=shop.shop.staff_id)
    # when Sam revokes his
    revoked = await feeds_api(REVOKE_FEED, {"input": {"id": mine["feed"]["id"]}}, shop.sam_token)
    assert revoked["revokeCalendarFeed"]["__typename"] == "CalendarFeed" and revoked["revokeCalendarFeed"]["revokedAt"]
    # then his address answers exactly as an unknown or malformed one does
    answers = [await fetch(feeds_api.http, url) for url in (
        mine["url"], f"{PUBLIC}/feeds/{'A' * 43}.ics", f"{PUBLIC}/feeds/short.ics", f"{PUBLIC}/feeds/%00.ics")]
    assert {(answer.status_code, answer.content, answer.headers["cache-control"]) for answer in answers} == {
        (404, b"Not Found", "no-store")}
    assert all("etag" not in answer.headers for answer in answers)
    # and the owner's feed of the same bookings still works
    assert (await fetch(feeds_api.http, owners["url"])).status_code == 200


async def test_a_new_feed_replaces_its_makers_previous_one(feeds_api: GraphQLClient) -> None:
    shop = await given_feed_shop(feeds_api)
    old = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    new = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    assert new["url"] != old["url"]
    assert [(await fetch(feeds_api.http, feed["url"])).status_code for feed in (old, new)] == [404, 200]


async def test_the_feed_holds_thirty_days_back_and_what_is_nearest_now_when_it_is_over_its_bound(db: str) -> None:
    # given four bookings ahead, and two that were made and then lay 29 and 31 days back
    async with api_with(public_url=PUBLIC) as (api, _app):
        shop = await given_feed_shop(api)
        ahead = [await book(api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, at_ten_in(days))
                 for days in (1, 2, 3, 4)]
        past = [await book(api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, at_ten_in(days))
                for days in (5, 6)]
        for booking_id, days_back in zip(past, (29, 31), strict=True):
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_back)
            await Booking.filter(id=decode_id(booking_id).pk).update(  # type: ignore[union-attr]
                starts_at=start, ends_at=start + timedelta(hours=1))
        made = await make_feed(api, shop.sam_token, staffId=shop.shop.staff_id)
        # when the feed is read with room for every booking, it holds those ahead and the one 29 days back
        assert read_feed((await fetch(api.http, made["url"])).content).uids() == sorted(
            uid(booking) for booking in [*ahead, past[0]])
    # when it may be made from three bookings only, it holds the three soonest ahead
    async with api_with(public_url=PUBLIC, max_feed_bookings=3) as (bounded, _app):
        response = await fetch(bounded.http, made["url"])
        assert read_feed(response.content).uids() == sorted(uid(booking) for booking in ahead[:3])


async def test_a_head_request_has_the_tag_and_no_body(feeds_api: GraphQLClient) -> None:
    shop = await given_feed_shop(feeds_api)
    made = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    full = await fetch(feeds_api.http, made["url"])
    head = await feeds_api.http.head(made["url"].removeprefix(PUBLIC))
    assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", full.headers["etag"])


def test_an_access_line_never_names_a_feed_token() -> None:
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"
    line = masked(f'127.0.0.1:5000 - "GET /feeds/{token}.ics HTTP/1.1" 200')
    assert line == '127.0.0.1:5000 - "GET /feeds/[masked].ics HTTP/1.1" 200'
