"""The generic provider edges through the real app: `GET /oauth/{provider}/callback` and `POST /webhooks/{provider}`
dispatch to the provider's registry entry; a name the registry does not know, or a provider without OAuth or push, or
one not available on this server, gets 404 and changes nothing. Google's own URLs are these routes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from models import CalendarConnection, ExternalCalendar, OAuthState, Provider, Staff, WatchChannel
from services import metrics
from services.watch_channels import record_channel
from tests.app.test_oauth_callback import Gateway
from tests.support.calendar_api import KEY
from tests.support.graphql import GraphQLClient, Shop, given_shop

TOKEN = "the-channel-token"
CHANGE = {"X-Goog-Channel-ID": "chan-1", "X-Goog-Channel-Token": TOKEN, "X-Goog-Resource-State": "exists"}


@dataclasses.dataclass
class Edges:
    app: Starlette
    http: httpx.AsyncClient
    api: GraphQLClient
    shop: Shop
    calendar: ExternalCalendar
    later: datetime


@pytest.fixture
async def edges(db: str) -> AsyncIterator[Edges]:
    """The app, and a shop's staff member with a watched Google calendar whose channel is live and whose next pull
    is an hour away."""
    settings = dataclasses.replace(Settings.from_env(), secret_keys=(KEY,), redis_url=None,
                                   oauth_return_urls=("lockstep://calendars",))
    app = create_app(settings, oauth_gateways={"google": Gateway()})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lockstep.test") as http:
        api = GraphQLClient(http)
        shop = await given_shop(api)
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        connection = await CalendarConnection.create(staff=await Staff.get(), provider=Provider.GOOGLE,
                                                     account_label="sam@example.com", credentials="sealed")
        calendar = await ExternalCalendar.create(connection=connection, provider_calendar_id="sam@example.com",
                                                 name="Sam", primary=True, import_busy=True, next_pull_at=later)
        await record_channel(calendar.id, "chan-1", "res-1", TOKEN, datetime.now(UTC) + timedelta(days=7))
        yield Edges(app, http, api, shop, calendar, later)


async def snapshot() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    return (await ExternalCalendar.all().order_by("id").values(), await WatchChannel.all().order_by("id").values(),
            await OAuthState.all().order_by("id").values())


async def google_connection_started(edges: Edges) -> str:
    """The OAuth state of a connection the owner starts at Google for the staff member."""
    started = await edges.api("""mutation($input: StartCalendarConnectionInput!) {
        startCalendarConnection(input: $input) { __typename ... on CalendarAuthorization { authorizationUrl } } }""",
                              {"input": {
        "provider": "GOOGLE", "staffId": edges.shop.staff_id, "returnUrl": "lockstep://calendars"}},
        edges.shop.owner_token)
    return httpx.URL(started["startCalendarConnection"]["authorizationUrl"]).params["state"]


def deliveries(provider: str) -> float:
    return sum(metrics.REGISTRY.get_sample_value("lockstep_webhook_deliveries_total",
                                                 {"provider": provider, "outcome": outcome}) or 0.0
               for outcome in ("accepted", "ignored", "dropped", "failed"))


async def test_the_google_webhook_url_is_the_generic_route(edges: Edges) -> None:
    # when Google reports a change on the channel
    answer = await edges.http.post("/webhooks/google", headers=CHANGE)
    await edges.app.state.webhook_inbox.drained()
    # then it is answered 200 with nothing, and the calendar is due now
    assert (answer.status_code, answer.content) == (200, b"")
    due = (await ExternalCalendar.get(id=edges.calendar.id)).next_pull_at
    assert due is not None and due < edges.later


@pytest.mark.parametrize("provider", ["myspace", "caldav", "GOOGLE"])
async def test_a_webhook_of_a_provider_that_cannot_push_here_is_not_found(edges: Edges, provider: str) -> None:
    # given what is stored, and what has been counted
    before, counted = await snapshot(), {name: deliveries(name) for name in ("google", provider)}
    # when a Google-shaped notification of the live channel arrives on another provider's path
    answer = await edges.http.post(f"/webhooks/{provider}", headers=CHANGE)
    await edges.app.state.webhook_inbox.drained()
    # then it is not found, and nothing changed or was counted
    assert answer.status_code == 404
    assert await snapshot() == before
    assert {name: deliveries(name) for name in ("google", provider)} == counted


async def test_a_google_notification_on_the_microsoft_webhook_changes_nothing(edges: Edges) -> None:
    # given what is stored
    before = await snapshot()
    # when a Google-shaped notification of Google's live channel arrives on Microsoft's webhook
    answer = await edges.http.post("/webhooks/microsoft", headers=CHANGE)
    await edges.app.state.webhook_inbox.drained()
    # then Graph's "received" is answered, and nothing changed
    assert (answer.status_code, answer.content) == (202, b"")
    assert await snapshot() == before


async def test_a_notification_on_the_calendly_webhook_without_a_channel_is_gone_and_changes_nothing(
        edges: Edges) -> None:
    # given what is stored
    before = await snapshot()
    # when a Google-shaped notification arrives on Calendly's webhook, naming no channel of a connection
    answer = await edges.http.post("/webhooks/calendly", headers=CHANGE)
    # then it is Gone (Calendly deletes a subscription answered so), and nothing changed
    assert answer.status_code == 410
    assert await snapshot() == before


async def test_a_callback_of_an_oauth_provider_this_deployment_does_not_configure_changes_nothing(
        edges: Edges) -> None:
    # given a connection started at Google, whose state is still unused; Microsoft is not configured here
    state = await google_connection_started(edges)
    before = await snapshot()
    # when the browser arrives with that state on Microsoft's callback
    answer = await edges.http.get("/oauth/microsoft/callback", params={"state": state, "code": "c"})
    # then it gets the error page, and the state is still unused (nothing changed)
    assert (answer.status_code, "not set up to connect these calendars" in answer.text) == (400, True)
    assert await snapshot() == before
    assert (await OAuthState.get()).used_at is None


@pytest.mark.parametrize("provider", ["myspace", "caldav"])
async def test_an_oauth_callback_of_a_provider_without_oauth_here_is_not_found(edges: Edges, provider: str) -> None:
    # given a connection started at Google, whose state is still unused
    state = await google_connection_started(edges)
    before = await snapshot()
    # when the browser arrives with that state on another provider's callback
    answer = await edges.http.get(f"/oauth/{provider}/callback",
                                  params={"state": state, "code": "4/abc"})
    # then it is not found, and the state is still unused (nothing changed)
    assert answer.status_code == 404
    assert await snapshot() == before
    assert (await OAuthState.get()).used_at is None


async def test_starting_a_connection_at_a_provider_not_available_here_is_refused(edges: Edges) -> None:
    for provider in ("MICROSOFT", "CALENDLY", "CALDAV"):
        answer = await edges.api("""mutation($input: StartCalendarConnectionInput!) {
            startCalendarConnection(input: $input) { __typename ... on ValidationError { message path } } }""",
                                 {"input": {
            "provider": provider, "staffId": edges.shop.staff_id, "returnUrl": "lockstep://calendars"}},
            edges.shop.owner_token)
        assert answer["startCalendarConnection"] == {
            "__typename": "ValidationError", "path": ["input", "provider"],
            "message": f"{provider.title()} calendars cannot be connected by OAuth on this server"}
    assert await OAuthState.all().count() == 0
