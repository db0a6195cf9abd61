"""Disconnecting a Google connection through the API, against the fake of Google's servers: the push channels are
stopped, the grant is revoked at the revocation endpoint and the credentials are deleted; when Google fails, the
disconnect still goes ahead and the sync log says what was not done."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from jobs.watch import open_channel
from models import CalendarConnection, ConnectionHealth, ExternalCalendar, Provider, Staff, SyncLogEntry, WatchChannel
from providers.entry import ProviderApp
from providers.google import GoogleProvider
from services.credentials import CredentialVault
from tests.fakes.google import FakeGoogle
from tests.support.calendar_api import DISCONNECT, KEY, gid
from tests.support.google import FakeGoogleTokens, conforming_google
from tests.support.graphql import GraphQLClient, given_shop, sign_up

USER = "tech@example.com"
PUBLIC = "http://lockstep.test"
NOWHERE = "http://127.0.0.1:9/webhooks/google"  # the fake accepts only loopback or HTTPS addresses


@dataclass
class Given:
    api: GraphQLClient
    google: FakeGoogle
    owner_token: str
    connection: CalendarConnection
    refresh_token: str
    channel_id: str


@pytest.fixture
async def given(db: str) -> AsyncIterator[Given]:
    """An owner's staff member with a Google connection whose primary calendar has a push channel open."""
    async with conforming_google() as google:
        settings = dataclasses.replace(
            Settings.from_env(), secret_keys=(KEY,), public_url=PUBLIC,
            provider_apps={"google": ProviderApp(google.oauth.client_id, google.oauth.client_secret,
                                                 authorize_url=google.authorize_url, token_url=google.token_url,
                                                 revoke_url=google.revoke_url, api_url=google.api_url)})
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
            api = GraphQLClient(http)
            shop = await given_shop(api)
            access, refresh = google.oauth.issue_tokens()
            connection = await CalendarConnection.create(
                staff=await Staff.get(), provider=Provider.GOOGLE, account_label=USER,
                credentials=CredentialVault([KEY]).seal({"access_token": access, "refresh_token": refresh}))
            calendar = await ExternalCalendar.create(connection=connection, provider_calendar_id=USER, name=USER,
                                                     primary=True, import_busy=True, is_destination=True)
            async with GoogleProvider(FakeGoogleTokens(google), api_url=google.api_url) as provider:
                assert await open_channel(calendar.id, provider, NOWHERE, datetime.now(UTC)) == "done"
            (channel_id,) = google.channels.channels
            google.log.clear()
            yield Given(api, google, shop.owner_token, connection, refresh, channel_id)


async def disconnect(given: Given, token: str) -> dict[str, object]:
    data = await given.api(DISCONNECT, {"input": {"connectionId": gid("CalendarConnection", given.connection.id)}},
                           token)
    answer: dict[str, object] = data["disconnectCalendar"]
    return answer


async def test_disconnecting_stops_the_channels_revokes_access_and_deletes_the_credentials(given: Given) -> None:
    # when the owner disconnects the Google connection
    answer = await disconnect(given, given.owner_token)
    # then Google stopped the channel, then revoked the grant
    assert answer["__typename"] == "CalendarConnection"
    assert given.google.channels.channels == {}
    assert given.google.oauth.grants[given.refresh_token].revoked
    assert [entry.path for entry in given.google.log] == ["/calendar/v3/channels/stop", "/revoke"]
    # and the token travelled in the form body, never in a URL (URLs end up in access logs)
    assert given.google.log[1].query == ()
    # and Lockstep keeps no credentials, no live channel, and a log entry of the farewell
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.credentials, connection.health) == ("", ConnectionHealth.DISCONNECTED)
    assert await WatchChannel.filter(stopped_at=None).count() == 0
    assert await SyncLogEntry.filter(connection_id=given.connection.id).order_by("id").values_list(
        "action", "outcome", "detail") == [
        ("revoke", "ok", "access revoked at Google; push channels stopped: 1"),
        ("disconnect", "ok", "imported busy blocks kept")]


async def test_when_google_fails_the_disconnect_still_deletes_the_credentials(given: Given) -> None:
    # given Google's channel and revocation endpoints both failing
    given.google.fail("POST", r"/channels/stop$", 503)
    given.google.fail("POST", r"^/revoke$", 503)
    # when the owner disconnects
    answer = await disconnect(given, given.owner_token)
    # then the connection is disconnected all the same, and the log says what Google did not do
    assert answer["__typename"] == "CalendarConnection"
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.credentials, connection.health) == ("", ConnectionHealth.DISCONNECTED)
    assert not given.google.oauth.grants[given.refresh_token].revoked
    assert await SyncLogEntry.filter(connection_id=given.connection.id).order_by("id").values_list(
        "action", "outcome", "error") == [
        ("unwatch", "failed", "channels.stop: Google answered 503 backendError"),
        ("revoke", "failed", "the revocation endpoint failed (503)"),
        ("disconnect", "ok", "")]


async def test_someone_else_cannot_disconnect_and_google_hears_nothing(given: Given) -> None:
    # given the owner of another business
    rival = (await sign_up(given.api, "rival@example.com", "OWNER"))["accessToken"]
    before = await CalendarConnection.get(id=given.connection.id)
    # when they try to disconnect the connection
    answer = await disconnect(given, rival)
    # then it is not found, Google was not called, and nothing changed
    assert answer["__typename"] == "NotFound"
    assert given.google.log == []
    assert list(given.google.channels.channels) == [given.channel_id]
    assert not given.google.oauth.grants[given.refresh_token].revoked
    after = await CalendarConnection.get(id=given.connection.id)
    assert (after.credentials, after.health) == (before.credentials, ConnectionHealth.ACTIVE)
    assert await WatchChannel.filter(stopped_at=None).count() == 1
    assert await SyncLogEntry.all().count() == 0


async def test_a_farewell_that_refreshes_a_rotating_token_revokes_the_grant_with_the_new_one(given: Given) -> None:
    # given a token endpoint that rotates refresh tokens, and an access token Google no longer accepts
    given.google.oauth.rotate_refresh_tokens = True
    given.google.oauth.expire_access_tokens()
    grant = given.google.oauth.grants[given.refresh_token]
    # when the owner disconnects (stopping the channel meets a 401 and refreshes in memory, spending the old token)
    answer = await disconnect(given, given.owner_token)
    # then the channel is stopped and the grant is revoked with the refresh token it was rotated to
    assert answer["__typename"] == "CalendarConnection"
    assert given.google.channels.channels == {}
    assert grant.refresh_token not in (None, given.refresh_token)
    assert given.refresh_token not in given.google.oauth.grants
    assert grant.revoked
    assert [entry.path for entry in given.google.log] == ["/calendar/v3/channels/stop", "/token",
                                                          "/calendar/v3/channels/stop", "/revoke"]
