"""A customer's booking confirmation links to their calendar feed: through the real ASGI app, the real mail job and a
real SMTP server, the link in the mail is fetched from the app and read by two parsers; it holds the booking under
the UID and SEQUENCE of the mail's own invitation, every later confirmation links to the same feed, and the link
is never kept in the mail's row. A guest (no account) gets no link; a revoked feed's link stops working and the
next confirmation carries a new one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from domain.mail import MailKind
from models import MailOutbox
from tests.support.feed_api import FEEDS, REVOKE_FEED, FeedShop, at_ten_in, book, fetch, given_feed_shop
from tests.support.feeds import read_feed
from tests.support.graphql import GraphQLClient, api_with
from tests.support.invitations import invitation_of
from tests.support.mail import MailTimeline, mail_runtime
from tests.support.smtp import SmtpTestServer, parts, running_smtp

PUBLIC = "https://lockstep.example"  # the app's public URL and the worker's, as one deployment has them
LINK = re.compile(r"https://lockstep\.example/feeds/[A-Za-z0-9_-]{43}\.ics")
CLEO = "cleo@example.com"


@pytest.fixture
def smtp() -> Iterator[SmtpTestServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture
def mail_jobs(db: str, redis_url: str, smtp: SmtpTestServer) -> Iterator[MailTimeline]:
    with mail_runtime(db, redis_url, smtp.url, public_url=PUBLIC):
        yield MailTimeline(redis_url)


@pytest.fixture
async def feeds_api(db: str) -> AsyncIterator[GraphQLClient]:
    async with api_with(public_url=PUBLIC) as (client, _app):
        yield client


async def given_customer(api: GraphQLClient) -> FeedShop:
    shop = await given_feed_shop(api)
    # The accounts' verification mail and the staff member's invitation are not what these tests read.
    await MailOutbox.filter(kind__in=[MailKind.ACCOUNT_VERIFY.value, MailKind.STAFF_INVITE.value]).delete()
    return shop


def feed_link(message: object) -> str:
    bodies = parts(message)  # type: ignore[arg-type]
    (link,) = set(LINK.findall(bodies["text/plain"]))
    assert f'<a href="{link}">{link}</a>' in bodies["text/html"]
    return str(link)


async def test_the_confirmation_links_to_the_customers_feed_which_holds_the_booking(
        feeds_api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given a customer's booking, and its confirmation sent
    shop = await given_customer(feeds_api)
    start = at_ten_in(3)
    await book(feeds_api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, start)
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    (confirmed,) = smtp.to(CLEO)
    # when the link in it is opened by a calendar app
    link = feed_link(confirmed)
    response = await fetch(feeds_api.http, link)
    # then it is the customer's feed, holding the booking as the same event the mail's invitation is
    assert (response.status_code, response.headers["content-type"]) == (200, "text/calendar; charset=utf-8")
    invitation = invitation_of(confirmed, "REQUEST")
    (event,) = read_feed(response.content).events
    assert (event.uid, event.sequence, event.starts_at, event.ends_at) == (
        invitation.uid, invitation.sequence, invitation.starts_at, invitation.ends_at)
    assert event.summary == invitation.summary == "Boiler check at Fix-It"
    # and neither the link nor its token is kept in the mail's row
    token = link.removeprefix(f"{PUBLIC}/feeds/").removesuffix(".ics")
    for row in await MailOutbox.all():
        assert token not in str(row.data)

    # when the customer books again
    later = at_ten_in(5)
    await book(feeds_api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, later)
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    # then that confirmation links to the same feed, which now holds both bookings
    assert feed_link(smtp.to(CLEO)[1]) == link
    feed = read_feed((await fetch(feeds_api.http, link)).content)
    assert [event.starts_at for event in sorted(feed.events, key=lambda event: event.starts_at)] == [start, later]


async def test_a_guest_gets_no_link_and_a_reminder_carries_none(
        feeds_api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    shop = await given_customer(feeds_api)
    start = at_ten_in(3)
    await book(feeds_api, shop.shop.owner_token, shop.shop.service_id, shop.shop.staff_id, start,
               customer={"name": "Gus Guest", "email": "gus@example.com"})
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    (confirmed,) = smtp.to("gus@example.com")
    assert "/feeds/" not in confirmed.as_string()
    await book(feeds_api, shop.customer_token, shop.shop.service_id, shop.kim_id, start)
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    # both reminders are due 24 hours before the start
    assert await mail_jobs.tick(start - timedelta(hours=24)) == ["sent", "sent"]
    reminders = [item for item in smtp.received if item.message["Subject"].startswith("Reminder")]
    assert len(reminders) == 2 and all("/feeds/" not in item.message.as_string() for item in reminders)


async def test_a_revoked_feed_s_link_stops_and_the_next_confirmation_carries_a_new_one(
        feeds_api: GraphQLClient, mail_jobs: MailTimeline, smtp: SmtpTestServer) -> None:
    # given the customer's feed linked from their first confirmation
    shop = await given_customer(feeds_api)
    await book(feeds_api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, at_ten_in(3))
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    first = feed_link(smtp.to(CLEO)[0])
    # when they revoke it
    (listed,) = (await feeds_api(FEEDS, token=shop.customer_token))["calendarFeeds"]["feeds"]
    assert listed["kind"] == "CUSTOMER"
    revoked = await feeds_api(REVOKE_FEED, {"input": {"id": listed["id"]}}, shop.customer_token)
    assert revoked["revokeCalendarFeed"]["__typename"] == "CalendarFeed"
    # then its link answers 404, and the next confirmation links to a new feed that works
    assert (await fetch(feeds_api.http, first)).status_code == 404
    await book(feeds_api, shop.customer_token, shop.shop.service_id, shop.shop.staff_id, at_ten_in(4))
    assert await mail_jobs.tick(datetime.now(UTC)) == ["sent"]
    second = feed_link(smtp.to(CLEO)[1])
    assert second != first
    assert len(read_feed((await fetch(feeds_api.http, second)).content).events) == 2
