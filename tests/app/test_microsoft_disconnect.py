"""Disconnecting a Microsoft connection through the API, against the fake Graph: its subscriptions are deleted with
the connection's own access and the credentials are deleted. Microsoft has no revocation endpoint, so nothing is
sent to revoke the grant (the account or its administrator removes the app). When Graph fails, the disconnect
still goes ahead and the sync log says what was not done."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from app.main import create_app
from jobs.watch import open_channel
from models import CalendarConnection, ConnectionHealth, ExternalCalendar, Provider, Staff, SyncLogEntry, WatchChannel
from providers.registry import MICROSOFT_OAUTH_SCOPES
from services.credentials import CredentialVault
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.calendar_api import DISCONNECT, KEY, gid
from tests.support.graph_contract import conforming_microsoft
from tests.support.graphql import GraphQLClient, given_shop, sign_up
from tests.support.microsoft import microsoft_provider
from tests.support.microsoft_service import settings_for
from tests.support.server import live_server

ACCOUNT = "tech@contoso.example"
PUBLIC = "http://lockstep.test"


@dataclass
class Given:
    api: GraphQLClient
    microsoft: FakeMicrosoft
    owner_token: str
    connection: CalendarConnection
    refresh_token: str
    subscription_id: str


@pytest.fixture(scope="module")
def webhook(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose /webhooks/microsoft answers Graph's validation of the subscription."""
    with live_server(database_url, tmp_path_factory.mktemp("microsoft-disconnect")) as base:
        yield f"{base}/webhooks/microsoft"


@pytest.fixture
async def given(db: str, webhook: str) -> AsyncIterator[Given]:
    """An owner's staff member with a Microsoft connection whose default calendar has a subscription."""
    async with conforming_microsoft() as microsoft:
        transport = httpx.ASGITransport(app=create_app(settings_for(microsoft, PUBLIC, KEY, ())))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
            api = GraphQLClient(http)
            shop = await given_shop(api)
            issued = microsoft.oauth.issue_tokens(ACCOUNT, " ".join(MICROSOFT_OAUTH_SCOPES))
            connection = await CalendarConnection.create(
                staff=await Staff.get(), provider=Provider.MICROSOFT, account_label=ACCOUNT,
                credentials=CredentialVault([KEY]).seal({"access_token": issued["access_token"],
                                                         "refresh_token": issued["refresh_token"]}))
            calendar = await ExternalCalendar.create(connection=connection, name="Calendar", primary=True,
                                                     provider_calendar_id=microsoft.default_calendar_id(),
                                                     import_busy=True, is_destination=True)
            async with microsoft_provider(microsoft) as (provider, _):
                assert await open_channel(calendar.id, provider, webhook, datetime.now(UTC)) == "done"
            (subscription_id,) = microsoft.subscriptions.live
            microsoft.log.clear()
            yield Given(api, microsoft, shop.owner_token, connection, str(issued["refresh_token"]), subscription_id)


async def disconnect(given: Given, token: str) -> dict[str, object]:
    data = await given.api(DISCONNECT, {"input": {"connectionId": gid("CalendarConnection", given.connection.id)}},
                           token)
    answer: dict[str, object] = data["disconnectCalendar"]
    return answer


def requests(given: Given) -> list[tuple[str, str]]:
    return [(entry.method, entry.path) for entry in given.microsoft.log]


async def test_disconnecting_deletes_the_subscriptions_and_the_credentials_and_revokes_nothing(given: Given) -> None:
    # when the owner disconnects the Microsoft connection
    answer = await disconnect(given, given.owner_token)
    # then Graph deleted the subscription, and that was all Microsoft heard: it has no revocation endpoint
    assert answer["__typename"] == "CalendarConnection"
    assert given.microsoft.subscriptions.live == {}
    assert requests(given) == [("DELETE", f"/v1.0/subscriptions/{given.subscription_id}")]
    assert given.refresh_token in given.microsoft.oauth.refresh_tokens  # the grant is the account's to remove
    # and Lockstep keeps no credentials, no live subscription, and a log entry of the farewell
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.credentials, connection.health) == ("", ConnectionHealth.DISCONNECTED)
    assert await WatchChannel.filter(stopped_at=None).count() == 0
    assert await SyncLogEntry.filter(connection_id=given.connection.id).order_by("id").values_list(
        "action", "outcome", "detail") == [
        ("unwatch", "ok", "push channels stopped: 1; Microsoft has no revocation, the account's grant stays until "
                          "its owner removes the app"),
        ("disconnect", "ok", "imported busy blocks kept")]


async def test_when_graph_fails_the_disconnect_still_deletes_the_credentials(given: Given) -> None:
    # given Graph failing to delete subscriptions
    given.microsoft.fail("DELETE", r"/subscriptions/", 503)
    # when the owner disconnects
    answer = await disconnect(given, given.owner_token)
    # then the connection is disconnected all the same, and the log says the subscription lapses by itself
    assert answer["__typename"] == "CalendarConnection"
    connection = await CalendarConnection.get(id=given.connection.id)
    assert (connection.credentials, connection.health) == ("", ConnectionHealth.DISCONNECTED)
    assert list(given.microsoft.subscriptions.live) == [given.subscription_id]
    assert await SyncLogEntry.filter(connection_id=given.connection.id).order_by("id").values_list(
        "action", "outcome") == [("unwatch", "failed"), ("disconnect", "ok")]


async def test_a_farewell_with_an_expired_access_token_refreshes_in_memory_and_deletes(given: Given) -> None:
    # given an access token Graph no longer accepts
    given.microsoft.oauth.expire_access_tokens()
    # when the owner disconnects (deleting the subscription meets a 401 and refreshes, storing nothing)
    answer = await disconnect(given, given.owner_token)
    # then the subscription is deleted with the fresh token
    assert answer["__typename"] == "CalendarConnection"
    assert given.microsoft.subscriptions.live == {}
    path = f"/v1.0/subscriptions/{given.subscription_id}"
    assert requests(given) == [("DELETE", path), ("POST", "/common/oauth2/v2.0/token"), ("DELETE", path)]
    assert (await CalendarConnection.get(id=given.connection.id)).credentials == ""


async def test_someone_else_cannot_disconnect_and_graph_hears_nothing(given: Given) -> None:
    rival = (await sign_up(given.api, "rival@example.com", "OWNER"))["accessToken"]
    before = await CalendarConnection.get(id=given.connection.id)
    answer = await disconnect(given, rival)
    assert answer["__typename"] == "NotFound"
    assert requests(given) == []
    assert list(given.microsoft.subscriptions.live) == [given.subscription_id]
    after = await CalendarConnection.get(id=given.connection.id)
    assert (after.credentials, after.health) == (before.credentials, ConnectionHealth.ACTIVE)
    assert await WatchChannel.filter(stopped_at=None).count() == 1
