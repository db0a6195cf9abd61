"""Connecting Calendly by OAuth, end to end: a real uvicorn API, scheduler and worker against the fake Calendly. The
technician follows the redirects (PKCE), confirms in the app; the scheduler subscribes the account with the OAuth
app's signing key and the backstop learns its event types; a delivery signed with the app's key is applied; and a
cancellation in Lockstep after the access token expired refreshes it once (Calendly's refresh tokens are single use:
the new one replaces the old, which no longer works) and reaches Calendly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from models import Booking, CalendarConnection, WatchChannel
from schema.ids import encode_id
from services.credentials import CredentialVault, new_key
from tests.fakes.calendly import FakeCalendly
from tests.fakes.calendly_store import EventType
from tests.support.calendly import calendly_env
from tests.support.end_to_end import authorization_url, berlin, confirmed, eventually
from tests.support.google_service import sync_processes
from tests.support.graphql import GraphQLClient, Shop, given_shop
from tests.support.server import free_port, live_server_on

EVENT_TYPES = """query($c: ID!) { calendlyEventTypes(connectionId: $c) { __typename
  ... on CalendlyEventTypeList { eventTypes { uri name } } } }"""
MAP = """mutation($input: MapCalendlyEventTypeInput!) { mapCalendlyEventType(input: $input) { __typename } }"""
CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) { __typename } }"""


@dataclass
class Service:
    base: str
    calendly: FakeCalendly
    api: GraphQLClient
    shop: Shop
    return_url: str
    event_type: EventType
    secret_key: str


@pytest.fixture
async def service(db: str, redis_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    return_url = f"{base}/health"
    calendly = FakeCalendly(redirect_uris=(f"{base}/oauth/calendly/callback",))
    calendly.oauth.basic_auth_only = True  # as Calendly asks of a web client
    event_type = calendly.add_event_type(calendly.user, "Boiler check", 60)
    key = new_key()
    with calendly.running_in_thread():
        env = calendly_env(calendly, base, redis_url, key, oauth_return_url=return_url)
        with live_server_on(port, db, tmp_path, 1, env), sync_processes(db, tmp_path, env):
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                api = GraphQLClient(http)
                yield Service(base, calendly, api, await given_shop(api), return_url, event_type, key)
        calendly.assert_conforming()


def refresh_token_of(service: Service, connection: CalendarConnection) -> Any:
    return CredentialVault([service.secret_key]).unseal(connection.credentials).get("refresh_token")


async def test_a_technician_connects_calendly_by_oauth_and_a_cancellation_refreshes_once(service: Service) -> None:
    calendly = service.calendly
    # when the technician follows the authorization URL with a real browser and the app confirms
    async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:
        landed = await browser.get(await authorization_url(service, "CALENDLY"))
    assert (landed.status_code, str(landed.url).split("?")[0]) == (200, service.return_url)
    back = parse_qs(urlsplit(str(landed.url)).query)
    assert "confirmationCode" in back, (back, [str(hop.url) for hop in landed.history])
    code = back["confirmationCode"][0]
    shown = await confirmed(service, code)
    assert (shown["__typename"], shown["accountLabel"]) == ("CalendarConnection", calendly.user_uri)
    connection = await CalendarConnection.get()

    # then the scheduler subscribes the account (signed with the app's key) and the backstop learns its event types
    async def subscribed() -> bool:
        return bool(calendly.store.subscriptions) and await WatchChannel.filter(stopped_at=None).exists()

    await eventually(subscribed, "the account's webhook subscription")
    (subscription,) = calendly.store.subscriptions.values()
    assert subscription.signing_key == calendly.oauth.app_signing_key
    assert subscription.callback_url.startswith(f"{service.base}/webhooks/calendly?channel=")

    async def offered() -> list[dict[str, Any]]:
        data = await service.api(EVENT_TYPES, {"c": shown["id"]}, service.shop.owner_token)
        return list(data["calendlyEventTypes"].get("eventTypes", []))

    (event_type,) = await eventually(offered, "the event types read by the backstop")
    await service.api(MAP, {"input": {"connectionId": shown["id"], "eventTypeUri": event_type["uri"],
                                      "serviceId": service.shop.service_id}}, service.shop.owner_token)

    # when an appointment is booked, its delivery signed with the app's key is applied
    booked = calendly.book(service.event_type, berlin(2, 10))

    async def booking() -> Booking | None:
        return await Booking.filter(status="confirmed").first()

    held = await eventually(booking, "the appointment as a booking")
    # when the access token has expired and the business cancels the booking in Lockstep
    before = refresh_token_of(service, await CalendarConnection.get(id=connection.id))
    refreshes = calendly.oauth.refresh_requests
    calendly.oauth.expire_access_tokens()
    await service.api(CANCEL, {"input": {"id": encode_id("Booking", held.id), "reason": "No longer needed"}},
                      service.shop.owner_token)

    # then the cancellation reaches Calendly, after exactly one refresh whose new refresh token is kept
    async def cancelled() -> bool:
        return calendly.store.events[booked.event_uri.rsplit("/", 1)[1]].status == "canceled"

    await eventually(cancelled, "the cancellation at Calendly")
    after = refresh_token_of(service, await CalendarConnection.get(id=connection.id))
    assert calendly.oauth.refresh_requests == refreshes + 1
    assert after != before and after in calendly.oauth.refresh_tokens
    assert before not in calendly.oauth.refresh_tokens  # single use: the old one is spent
