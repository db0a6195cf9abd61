"""Calendar feeds as nodes: `node` answers a feed to whoever calendarFeeds lists it to, as listed, and null to everyone
else, exactly like a feed that does not exist."""

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


async def listed(api: GraphQLClient, token: str) -> dict[str, Any]:
    answer = await api("""{ calendarFeeds { __typename ... on CalendarFeeds { feeds { id kind madeByViewer
      revokedAt staff { id } business { id } } } } }""", {}, token)
    return {feed["id"]: feed for feed in answer["calendarFeeds"]["feeds"]}


async def test_a_feed_is_answered_to_whoever_it_is_listed_to_and_to_nobody_else(feeds_api: GraphQLClient) -> None:
    # given feeds made by the staff member Sam, by the owner (of Sam's bookings and of the business), by a customer
    shop = await given_feed_shop(feeds_api)
    owner, sam, cleo = shop.shop.owner_token, shop.sam_token, shop.customer_token
    sams = await make_feed(feeds_api, sam, staffId=shop.shop.staff_id)
    owners_sam = await make_feed(feeds_api, owner, staffId=shop.shop.staff_id)
    business = await make_feed(feeds_api, owner, businessId=shop.shop.business_id)
    cleos = await make_feed(feeds_api, cleo)
    other_owner = (await given_shop(feeds_api, owner_email="other@example.com")).owner_token
    rows = await feed_rows()
    # when each viewer fetches by ID each feed calendarFeeds lists to them
    seen = {}
    for token, feeds in ((sam, (sams, owners_sam)), (owner, (sams, owners_sam, business)), (cleo, (cleos,))):
        listing = await listed(feeds_api, token)
        seen[token] = ([await node(feeds_api, token, made) for made in feeds],
                       [{"__typename": "CalendarFeed", **listing[made["feed"]["id"]]} for made in feeds])
    # then each is answered exactly as listed; the makers see their feeds as they were when made
    for answered, as_listed in seen.values():
        assert answered == as_listed
    assert seen[sam][0][0] == {"__typename": "CalendarFeed", **sams["feed"]}
    assert seen[owner][0][1] == {"__typename": "CalendarFeed", **owners_sam["feed"]}
    # and everyone else gets null: Sam for the business's, the customer for Sam's, the owner for the customer's,
    # another owner and anonymous callers
    others = [await node(feeds_api, token, made) for token, made in (
        (sam, business), (cleo, sams), (owner, cleos), (other_owner, business), (other_owner, sams), (None, cleos))]
    assert others == [None] * 6
    assert await feeds_api.raw(NODE, {"id": cleos["feed"]["id"]}, owner) == {"data": {"node": None}}
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
