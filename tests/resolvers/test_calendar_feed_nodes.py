"""Calendar feeds as nodes: `node` answers a feed to the person who made it, while calendarFeeds lists it to them, and
null to everyone else (even an owner to whom calendarFeeds lists it), exactly like a feed that does not exist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from schema.ids import encode_id
from tests.support.feed_api import REVOKE_FEED, feed_rows, given_feed_shop, make_feed
from tests.support.graphql import GraphQLClient, api_with, given_shop

PUBLIC = "https://book.example.com"
NODE = """query($id: ID!) { node(id: $id) { __typename ... on CalendarFeed { id kind madeByViewer revokedAt
  staff { id } business { id } } } }"""


@pytest.fixture
async def feeds_api(db: str) -> AsyncIterator[GraphQLClient]:
    async with api_with(public_url=PUBLIC) as (client, _app):
        yield client


async def node(api: GraphQLClient, token: str | None, feed: dict[str, Any]) -> Any:
    return (await api(NODE, {"id": feed["feed"]["id"]}, token))["node"]


async def test_a_feed_is_answered_to_its_maker_and_to_nobody_else(feeds_api: GraphQLClient) -> None:
    # given feeds made by the staff member Sam, by the owner (of Sam's bookings and of the business), by a customer
    shop = await given_feed_shop(feeds_api)
    owner, sam, cleo = shop.shop.owner_token, shop.sam_token, shop.customer_token
    sams = await make_feed(feeds_api, sam, staffId=shop.shop.staff_id)
    owners_sam = await make_feed(feeds_api, owner, staffId=shop.shop.staff_id)
    business = await make_feed(feeds_api, owner, businessId=shop.shop.business_id)
    cleos = await make_feed(feeds_api, cleo)
    other_owner = (await given_shop(feeds_api, owner_email="other@example.com")).owner_token
    rows = await feed_rows()
    # when each maker fetches their own feed by its ID
    own = [await node(feeds_api, token, made) for token, made in (
        (sam, sams), (owner, owners_sam), (owner, business), (cleo, cleos))]
    # then each is answered as it was when made
    assert own == [{"__typename": "CalendarFeed", **made["feed"]} for made in (sams, owners_sam, business, cleos)]
    # and everyone else gets null: the owner and Sam for each other's feeds of Sam's bookings (which
    # calendarFeeds lists to both), Sam for the business's, the customer, another owner and anonymous callers
    others = [await node(feeds_api, token, made) for token, made in (
        (owner, sams), (sam, owners_sam), (sam, business), (cleo, sams), (owner, cleos), (other_owner, business),
        (other_owner, sams), (None, cleos))]
    assert others == [None] * 8
    assert await feeds_api.raw(NODE, {"id": sams["feed"]["id"]}, owner) == {"data": {"node": None}}
    assert await feed_rows() == rows


async def test_a_revoked_feed_is_null_as_it_is_no_longer_listed(feeds_api: GraphQLClient) -> None:
    # given Sam's feed, revoked
    shop = await given_feed_shop(feeds_api)
    sams = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    revoked = await feeds_api(REVOKE_FEED, {"input": {"id": sams["feed"]["id"]}}, shop.sam_token)
    assert revoked["revokeCalendarFeed"]["revokedAt"] is not None
    # when Sam fetches it
    answer = await node(feeds_api, shop.sam_token, sams)
    # then it is null, and his next feed is answered
    renewed = await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    assert answer is None
    assert (await node(feeds_api, shop.sam_token, renewed))["id"] == renewed["feed"]["id"]


async def test_feed_ids_that_name_no_feed_are_null(feeds_api: GraphQLClient) -> None:
    # given Sam's feed
    shop = await given_feed_shop(feeds_api)
    await make_feed(feeds_api, shop.sam_token, staffId=shop.shop.staff_id)
    # when Sam asks for a feed ID no row has, and one beyond every key
    answers = [await feeds_api.raw(NODE, {"id": encode_id("CalendarFeed", key)}, shop.sam_token)
               for key in (999_999, 2**31)]
    # then both are null without an error, as for any missing node
    assert answers == [{"data": {"node": None}}] * 2
