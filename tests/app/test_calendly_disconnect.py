"""Disconnecting a Calendly connection through the API (`disconnectCalendar`, with the app's farewell: app/farewell.py),
against the fake Calendly: its webhook subscription is deleted with the connection's own access, so Calendly
delivers nothing more, and a delivery to its URL all the same is Gone. A personal access token has no grant to
revoke (its owner deletes it in Calendly), so nothing is sent to revoke it, whether or not the deployment has a
Calendly OAuth app; an OAuth connection's grant is revoked at Calendly's revocation endpoint."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from models import CalendarConnection, ConnectionHealth, ExternalCalendar, Provider, Staff, SyncLogEntry, WatchChannel
from providers.calendly import CalendlyClient, PersonalAccessToken
from providers.calendly_account import CalendlyAccount
from providers.entry import ProviderApp
from schema.ids import decode_id
from services.credentials import CredentialVault
from services.watch_channels import record_channel
from tests.fakes.calendly import FakeCalendly
from tests.support.calendar_api import DISCONNECT, KEY, gid
from tests.support.calendly_deliveries import delivery_body, signed
from tests.support.graphql import GraphQLClient, Shop, given_shop

PUBLIC = "http://lockstep.test"
CONNECT = """mutation($input: ConnectCalendlyInput!) { connectCalendly(input: $input) { __typename
  ... on CalendlyConnected { webhookUrl webhookRefusal connection { id } } } }"""
BODY = delivery_body(start=datetime(2030, 1, 8, 9, tzinfo=UTC))


def settings_for(calendly: FakeCalendly, *, oauth_app: bool) -> Settings:
    """The app's settings with Calendly's API at the fake and, when `oauth_app`, Lockstep's OAuth app there too."""
    apps = {"calendly": ProviderApp(calendly.client_id, calendly.client_secret, authorize_url=calendly.authorize_url,
                                    token_url=calendly.token_url, revoke_url=calendly.revoke_url,
                                    api_url=calendly.api_url)} if oauth_app else {}
    return dataclasses.replace(Settings.from_env(), secret_keys=(KEY,), public_url=PUBLIC, redis_url=None,
                               api_urls={"calendly": calendly.api_url}, provider_apps=apps)


@dataclass
class Given:
    calendly: FakeCalendly
    http: httpx.AsyncClient
    api: GraphQLClient
    shop: Shop


@asynccontextmanager
async def app_with(calendly: FakeCalendly, *, oauth_app: bool) -> AsyncIterator[Given]:
    transport = httpx.ASGITransport(app=create_app(settings_for(calendly, oauth_app=oauth_app)))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        api = GraphQLClient(http)
        yield Given(calendly, http, api, await given_shop(api))


async def disconnect(given: Given, connection_id: int) -> str:
    data = await given.api(DISCONNECT, {"input": {"connectionId": gid("CalendarConnection", connection_id)}},
                           given.shop.owner_token)
    return str(data["disconnectCalendar"]["__typename"])


def paths(calendly: FakeCalendly, since: int = 0) -> list[tuple[str, str]]:
    return [(entry.method, entry.path) for entry in calendly.log[since:]]


@pytest.mark.parametrize("oauth_app", [False, True], ids=["personal_tokens_only", "with_an_oauth_app"])
async def test_disconnecting_a_personal_token_connection_deletes_its_subscription_and_revokes_nothing(
        db: str, oauth_app: bool) -> None:
    async with FakeCalendly() as calendly, app_with(calendly, oauth_app=oauth_app) as given:
        # given a staff member who connected Calendly with a personal access token (Calendly delivers to Lockstep)
        connected = (await given.api(CONNECT, {"input": {"staffId": given.shop.staff_id,
                                                         "personalAccessToken": calendly.personal_token()}},
                                     given.shop.owner_token))["connectCalendly"]
        assert (connected["__typename"], connected["webhookRefusal"]) == ("CalendlyConnected", "")
        (subscription,) = calendly.store.subscriptions.values()
        key, url = subscription.signing_key, connected["webhookUrl"]
        decoded = decode_id(connected["connection"]["id"])
        assert decoded is not None and decoded.pk is not None
        since = len(calendly.log)
        # when the owner disconnects it
        assert await disconnect(given, decoded.pk) == "CalendarConnection"
        # then the subscription was deleted at Calendly, and that is all Calendly heard (no revocation)
        assert calendly.store.subscriptions == {}
        assert paths(calendly, since) == [("DELETE", f"/webhook_subscriptions/{subscription.uuid}")]
        # and Lockstep keeps no credentials and no live channel, and logs the farewell, failing nowhere
        connection = await CalendarConnection.get(id=decoded.pk)
        assert (connection.credentials, connection.health) == ("", ConnectionHealth.DISCONNECTED)
        assert await WatchChannel.filter(stopped_at=None).count() == 0
        assert await SyncLogEntry.filter(connection_id=decoded.pk, action__in=["unwatch", "revoke", "disconnect"]
                                         ).order_by("id").values_list("action", "outcome", "detail") == [
            ("unwatch", "ok", "push channels stopped: 1; a personal access token has no grant to revoke: its owner "
                              "deletes it in Calendly"),
            ("disconnect", "ok", "imported busy blocks kept")]
        # and a delivery to the subscription's URL, signed with its key, is Gone
        answer = await given.http.post(url.removeprefix(PUBLIC), content=BODY, headers=signed(key, BODY))
        assert answer.status_code == 410


async def test_disconnecting_an_oauth_connection_deletes_its_subscription_and_revokes_the_grant(db: str) -> None:
    async with FakeCalendly() as calendly, app_with(calendly, oauth_app=True) as given:
        # given a staff member whose Calendly account is connected through Lockstep's OAuth app, subscribed
        issued = calendly.oauth.issue_tokens(calendly.user.uuid)
        credentials = {"access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
                       "user_uri": calendly.user_uri, "organization_uri": calendly.organization_uri}
        connection = await CalendarConnection.create(
            staff=await Staff.get(), provider=Provider.CALENDLY, account_label=calendly.user_uri,
            credentials=CredentialVault([KEY]).seal(credentials))
        calendar = await ExternalCalendar.create(connection=connection, provider_calendar_id=calendly.user_uri,
                                                 name="Calendly: Tess Tech", primary=True, writable=False,
                                                 import_busy=True)
        async with CalendlyClient(PersonalAccessToken(str(issued["access_token"])),
                                  api_url=calendly.api_url) as client:
            opened = await CalendlyAccount(client, credentials).watch(calendly.user_uri,
                                                                      f"{PUBLIC}/webhooks/calendly", "")
        assert opened is not None
        await record_channel(calendar.id, opened.subscription_id, opened.resource_id, "", opened.expires_at)
        (subscription,) = calendly.store.subscriptions.values()
        since = len(calendly.log)
        # when the owner disconnects it
        assert await disconnect(given, connection.id) == "CalendarConnection"
        # then the subscription was deleted with the connection's access, and the grant revoked
        assert calendly.store.subscriptions == {}
        assert paths(calendly, since) == [("DELETE", f"/webhook_subscriptions/{subscription.uuid}"),
                                          ("POST", "/oauth/revoke")]
        assert issued["refresh_token"] not in calendly.oauth.refresh_tokens
        assert calendly.oauth.grant_for(str(issued["access_token"]))[0] is None
        assert await SyncLogEntry.filter(connection_id=connection.id).order_by("id").values_list(
            "action", "outcome", "detail") == [
            ("revoke", "ok", "access revoked at Calendly; push channels stopped: 1"),
            ("disconnect", "ok", "imported busy blocks kept")]
        # and a delivery to the subscription's URL, signed with the app's key, is Gone
        answer = await given.http.post(f"/webhooks/calendly?channel={opened.subscription_id}", content=BODY,
                                       headers=signed(calendly.oauth.app_signing_key, BODY))
        assert answer.status_code == 410
