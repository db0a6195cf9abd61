"""createCalendarFeed, revokeCalendarFeed, calendarFeeds and exportBookings through the real ASGI app: who may have
which feed, the address shown once, typed refusals that change nothing, and the export of a range written as the
feeds write it, bounded in days and in bookings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from models import Booking, CalendarFeed
from schema.ids import decode_id, encode_id
from tests.support.feed_api import (
    CREATE_FEED,
    EXPORT,
    FEEDS,
    REVOKE_FEED,
    at_ten_in,
    book,
    feed_rows,
    fetch,
    given_feed_shop,
    make_feed,
)
from tests.support.feeds import read_feed, shown_occurrences
from tests.support.graphql import GraphQLClient, api_with, sign_up

PUBLIC = "https://book.example.com"


@pytest.fixture
async def feeds_api(db: str) -> AsyncIterator[GraphQLClient]:
    async with api_with(public_url=PUBLIC) as (client, _app):
        yield client


def pk(global_id: str) -> int:
    decoded = decode_id(global_id)
    assert decoded is not None and decoded.pk is not None
    return decoded.pk


async def test_who_may_have_which_feed(feeds_api: GraphQLClient) -> None:
    shop = await given_feed_shop(feeds_api)
    owner, sam, cleo = shop.shop.owner_token, shop.sam_token, shop.customer_token
    sam_id, kim_id, business_id = shop.shop.staff_id, shop.kim_id, shop.shop.business_id
    # a staff member for themself, the owner for any staff member and for the business, a customer for themself
    assert (await make_feed(feeds_api, sam, staffId=sam_id))["feed"]["kind"] == "STAFF"
    owners_kim = await make_feed(feeds_api, owner, staffId=kim_id)
    assert (owners_kim["feed"]["staff"]["id"], owners_kim["feed"]["business"]["id"]) == (kim_id, business_id)
    assert (await make_feed(feeds_api, owner, businessId=business_id))["feed"]["kind"] == "BUSINESS"
    customer = await make_feed(feeds_api, cleo)
    assert (customer["feed"]["kind"], customer["feed"]["staff"], customer["feed"]["business"]) == (
        "CUSTOMER", None, None)
    rows = await feed_rows()
    # and nobody else: every refusal is typed and writes nothing
    refusals = [
        (sam, {"staffId": kim_id}, "NotAuthorized"), (sam, {"businessId": business_id}, "NotAuthorized"),
        (cleo, {"staffId": sam_id}, "NotAuthorized"), (cleo, {"businessId": business_id}, "NotAuthorized"),
        (None, {}, "NotAuthorized"), (owner, {}, "ValidationError"),
        (owner, {"staffId": sam_id, "businessId": business_id}, "ValidationError"),
        (owner, {"staffId": business_id}, "ValidationError"),
        (owner, {"staffId": encode_id("StaffMember", 999)}, "NotFound"),
        (owner, {"businessId": encode_id("Business", 999)}, "NotFound"),
    ]
    for token, subject, expected in refusals:
        answer = await feeds_api(CREATE_FEED, {"input": subject}, token)
        assert answer["createCalendarFeed"]["__typename"] == expected, (subject, answer)
    assert await feed_rows() == rows
    # another owner may not have this business's feeds either
    other = (await sign_up(feeds_api, "other-owner@example.com", "OWNER"))["accessToken"]
    for subject in ({"staffId": sam_id}, {"businessId": business_id}):
        assert (await feeds_api(CREATE_FEED, {"input": subject}, other))["createCalendarFeed"]["__typename"] == (
            "NotAuthorized")
    assert await feed_rows() == rows


async def test_the_address_is_shown_once_and_only_its_digest_is_kept(feeds_api: GraphQLClient) -> None:
    shop = await given_feed_shop(feeds_api)
    made = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    token = made["url"].removeprefix(f"{PUBLIC}/feeds/").removesuffix(".ics")
    assert len(token) == 43
    # the listing names the feed but never its address
    listed = await feeds_api(FEEDS, token=shop.sam_token)
    assert listed["calendarFeeds"]["feeds"] == [{"id": made["feed"]["id"], "kind": "STAFF", "madeByViewer": True,
                                                 "staff": {"id": shop.shop.staff_id},
                                                 "business": {"id": shop.shop.business_id}}]
    assert token not in str(listed)
    # and the database keeps the token's digest, nothing from which it could be read
    (row,) = await CalendarFeed.all()
    assert row.sealed_token == "" and token not in str(row.__dict__)


async def test_each_viewer_lists_the_feeds_they_may_revoke(feeds_api: GraphQLClient) -> None:
    shop = await given_feed_shop(feeds_api)
    sams = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    owners_sam = await make_feed(feeds_api, shop.shop.owner_token, staffId=shop.shop.staff_id)
    kims = await make_feed(feeds_api, shop.shop.owner_token, staffId=shop.kim_id)
    business = await make_feed(feeds_api, shop.shop.owner_token, businessId=shop.shop.business_id)
    cleos = await make_feed(feeds_api, shop.customer_token)

    async def listed(token: str) -> list[tuple[str, bool]]:
        answer = await feeds_api(FEEDS, token=token)
        return [(feed["id"], feed["madeByViewer"]) for feed in answer["calendarFeeds"]["feeds"]]

    assert await listed(shop.sam_token) == [(sams["feed"]["id"], True), (owners_sam["feed"]["id"], False)]
    assert await listed(shop.shop.owner_token) == [
        (sams["feed"]["id"], False), (owners_sam["feed"]["id"], True), (kims["feed"]["id"], True),
        (business["feed"]["id"], True)]
    assert await listed(shop.customer_token) == [(cleos["feed"]["id"], True)]
    assert (await feeds_api(FEEDS))["calendarFeeds"]["__typename"] == "NotAuthorized"


async def test_revoking_is_for_those_who_may_and_changes_nothing_otherwise(feeds_api: GraphQLClient) -> None:
    shop = await given_feed_shop(feeds_api)
    owners_sam = await make_feed(feeds_api, shop.shop.owner_token, staffId=shop.shop.staff_id)
    kims = await make_feed(feeds_api, shop.shop.owner_token, staffId=shop.kim_id)
    rows = await feed_rows()
    # Sam may not revoke Kim's feed, nor Cleo Sam's: not found, as for an ID nothing has
    for token, feed_id in ((shop.sam_token, kims["feed"]["id"]), (shop.customer_token, owners_sam["feed"]["id"]),
                           (shop.sam_token, encode_id("CalendarFeed", 999))):
        answer = await feeds_api(REVOKE_FEED, {"input": {"id": feed_id}}, token)
        assert answer["revokeCalendarFeed"]["__typename"] == "NotFound"
        assert answer["revokeCalendarFeed"]["path"] == ["input", "id"]
    wrong_type = await feeds_api(REVOKE_FEED, {"input": {"id": shop.shop.staff_id}}, shop.sam_token)
    assert wrong_type["revokeCalendarFeed"]["__typename"] == "ValidationError"
    assert await feed_rows() == rows
    assert (await fetch(feeds_api.http, kims["url"])).status_code == 200
    # Sam may revoke the owner's feed of his own bookings; revoking it again changes nothing
    first = await feeds_api(REVOKE_FEED, {"input": {"id": owners_sam["feed"]["id"]}}, shop.sam_token)
    again = await feeds_api(REVOKE_FEED, {"input": {"id": owners_sam["feed"]["id"]}}, shop.shop.owner_token)
    assert first["revokeCalendarFeed"]["revokedAt"] == again["revokeCalendarFeed"]["revokedAt"] is not None
    assert (await fetch(feeds_api.http, owners_sam["url"])).status_code == 404


async def test_an_export_of_a_range_is_written_as_the_feeds_write_it(feeds_api: GraphQLClient) -> None:
    # given Cleo's weekly series of three with Sam, and a booking with Kim
    shop = await given_feed_shop(feeds_api)
    first = await book(feeds_api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, at_ten_in(2),
                       recurrence="FREQ=WEEKLY;COUNT=3")
    await book(feeds_api, shop.shop.owner_token, shop.shop.service_id, shop.kim_id, at_ten_in(3),
               customer={"name": "Dora Door"})
    # when Sam exports the first ten days of it
    start, end = at_ten_in(0), at_ten_in(10)
    answer = await feeds_api(EXPORT, {"staffId": shop.shop.staff_id, "from": start.isoformat(),
                                      "to": end.isoformat()}, shop.sam_token)
    export = answer["exportBookings"]
    assert (export["__typename"], export["bookingCount"]) == ("BookingExport", 2)
    # then the series is the feed's event of it, its occurrence outside the range left out
    data = export["ics"].encode()
    (event,) = read_feed(data).events
    series_id = (await Booking.get(id=pk(first))).series_id
    assert (event.uid, event.rrule) == (f"invitation-series-{series_id}@book.example.com", "FREQ=WEEKLY;COUNT=3")
    assert [shown.starts_at for shown in shown_occurrences(data, start, end + timedelta(days=30))] == [
        at_ten_in(2), at_ten_in(9)]
    # and it is the very event Sam's feed holds for the series, which shows all three
    feed = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    feed_data = (await fetch(feeds_api.http, feed["url"])).content
    assert read_feed(feed_data).uids() == [event.uid]
    assert len(shown_occurrences(feed_data, start, end + timedelta(days=30))) == 3
    assert b"Dora" not in data


async def test_who_may_export_and_what_is_refused(feeds_api: GraphQLClient) -> None:
    shop = await given_feed_shop(feeds_api)
    start, end = at_ten_in(0).isoformat(), at_ten_in(10).isoformat()
    sam, kim, business = shop.shop.staff_id, shop.kim_id, shop.shop.business_id
    cases: list[tuple[str, dict[str, str], str, list[str] | None]] = [
        (shop.shop.owner_token, {"businessId": business}, "BookingExport", None),
        (shop.shop.owner_token, {"staffId": kim}, "BookingExport", None),
        (shop.sam_token, {"staffId": sam}, "BookingExport", None),
        (shop.sam_token, {"staffId": kim}, "NotAuthorized", None),
        (shop.sam_token, {"businessId": business}, "NotAuthorized", None),
        (shop.customer_token, {"staffId": sam}, "NotAuthorized", None),
        (shop.shop.owner_token, {}, "ValidationError", []),
        (shop.shop.owner_token, {"staffId": sam, "businessId": business}, "ValidationError", []),
        (shop.shop.owner_token, {"staffId": encode_id("StaffMember", 999)}, "NotFound", ["staffId"]),
    ]
    for token, subject, expected, path in cases:
        answer = (await feeds_api(EXPORT, {**subject, "from": start, "to": end}, token))["exportBookings"]
        assert answer["__typename"] == expected, (subject, answer)
        if path is not None:
            assert answer["path"] == path
    # a range that ends before it starts, or is longer than 366 days, is refused naming `to`
    for ends in (at_ten_in(-1), at_ten_in(367)):
        answer = (await feeds_api(EXPORT, {"staffId": sam, "from": start, "to": ends.isoformat()},
                                  shop.sam_token))["exportBookings"]
        assert (answer["__typename"], answer["path"]) == ("ValidationError", ["to"])
    assert (await feeds_api(EXPORT, {"staffId": sam, "from": start, "to": at_ten_in(366).isoformat()},
                            shop.sam_token))["exportBookings"]["__typename"] == "BookingExport"


async def test_an_export_over_its_bound_says_so(db: str) -> None:
    async with api_with(public_url=PUBLIC, max_feed_bookings=2) as (api, _app):
        shop = await given_feed_shop(api)
        for days in (1, 2, 3):
            await book(api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, at_ten_in(days))
        variables = {"staffId": shop.shop.staff_id, "from": at_ten_in(0).isoformat()}
        too_many = (await api(EXPORT, {**variables, "to": at_ten_in(5).isoformat()}, shop.sam_token))["exportBookings"]
        assert (too_many["__typename"], too_many["bookingCount"], too_many["maxBookings"]) == ("ExportTooLarge", 3, 2)
        assert too_many["message"] == ("This range holds 3 bookings (each occurrence of a series counted); an export "
                                       "holds at most 2. Ask for a shorter range.")
        fits = (await api(EXPORT, {**variables, "to": at_ten_in(2, hour=12).isoformat()},
                          shop.sam_token))["exportBookings"]
        assert (fits["__typename"], fits["bookingCount"]) == ("BookingExport", 2)
        # a series in the range counts all its occurrences
        await book(api, shop.customer_token, shop.shop.service_id, shop.kim_id, at_ten_in(1),
                   recurrence="FREQ=DAILY;COUNT=3")
        answer = (await api(EXPORT, {"staffId": shop.kim_id, "from": at_ten_in(0).isoformat(),
                                     "to": at_ten_in(1, hour=12).isoformat()}, shop.shop.owner_token))
        assert (answer["exportBookings"]["__typename"], answer["exportBookings"]["bookingCount"]) == (
            "ExportTooLarge", 3)
