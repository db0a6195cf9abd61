"""Push channels opened, renewed and stopped by the job bodies against the fake of Google's servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from jobs import runtime
from jobs.tasks import run_watch
from jobs.watch import open_channel, stop_connection_channels
from models import ExternalCalendar, Provider, SyncLogEntry, WatchChannel
from providers.entry import ProviderSetup
from providers.google import GoogleProvider
from providers.oauth import OAuthClient
from providers.registry import pushing
from services.credentials import CredentialVault, new_key
from services.watch_channels import RENEW_AHEAD, RETRY_AFTER_FAILURE, claim_due_watches, token_hash
from tests.fakes.google import FakeGoogle
from tests.support.google import FakeGoogleTokens, conforming_google
from tests.support.sync import ConnectedStaff, given_connected_staff

USER = "tech@example.com"
PUSHING = pushing()
NOWHERE = "http://127.0.0.1:9/webhooks/google"  # nothing listens: the fake's notifications go unanswered


@dataclass
class Watching:
    google: FakeGoogle
    provider: GoogleProvider
    given: ConnectedStaff


@pytest.fixture
async def watching(db: str) -> AsyncIterator[Watching]:
    async with conforming_google() as google:  # its account is USER
        tokens = FakeGoogleTokens(google)
        async with GoogleProvider(tokens, api_url=google.api_url) as provider:
            given = await given_connected_staff(USER, credentials="sealed", provider=Provider.GOOGLE)
            yield Watching(google, provider, given)


def calls(google: FakeGoogle) -> list[str]:
    """The Calendar API calls the fake received, by the last segment of their paths."""
    return [entry.path.rsplit("/", 1)[-1] for entry in google.log if entry.path.startswith("/calendar/v3/")]


async def test_a_channel_is_opened_with_a_secret_token_of_which_only_the_hash_is_kept(watching: Watching) -> None:
    # given the calendar claimed by the scheduler
    now = datetime.now(UTC)
    assert await claim_due_watches(now, PUSHING) == [watching.given.calendar.id]
    # when the job opens its channel
    assert await open_channel(watching.given.calendar.id, watching.provider, NOWHERE, now) == "done"
    # then Google watches the calendar for Lockstep's webhook, and Lockstep knows the channel by its token's hash
    (channel,) = watching.google.channels.channels.values()
    (row,) = await WatchChannel.all()
    assert (channel.address, channel.calendar_id) == (NOWHERE, USER)
    assert channel.token is not None and len(channel.token) >= 32
    assert (row.channel_id, row.resource_id, row.token_hash, row.stopped_at) == (
        channel.channel_id, channel.resource_id, token_hash(channel.token), None)
    assert row.expires_at == datetime.fromtimestamp(channel.expires_ms / 1000, UTC)
    assert (await ExternalCalendar.get(id=watching.given.calendar.id)).watch_claimed_until is None


async def test_a_second_run_opens_no_second_channel(watching: Watching) -> None:
    now = datetime.now(UTC)
    assert await open_channel(watching.given.calendar.id, watching.provider, NOWHERE, now) == "done"
    assert await open_channel(watching.given.calendar.id, watching.provider, NOWHERE, now) == "skipped"
    assert len(watching.google.channels.channels) == 1
    assert await WatchChannel.all().count() == 1


async def test_renewal_opens_the_new_channel_before_it_stops_the_old_one(watching: Watching) -> None:
    # given a channel a week old, so it expires within the renewal margin a week later
    now = datetime.now(UTC)
    assert await open_channel(watching.given.calendar.id, watching.provider, NOWHERE, now) == "done"
    old = await WatchChannel.get()
    later = old.expires_at - RENEW_AHEAD + timedelta(minutes=1)
    # when the scheduler claims the calendar again and the job runs
    assert await claim_due_watches(later, PUSHING) == [watching.given.calendar.id]
    assert await open_channel(watching.given.calendar.id, watching.provider, NOWHERE, later) == "done"
    # then the new channel is the only one Google keeps, the old one is stopped, in that order
    new = await WatchChannel.filter(stopped_at=None).get()
    assert list(watching.google.channels.channels) == [new.channel_id]
    assert (await WatchChannel.get(id=old.id)).stopped_at == later
    assert calls(watching.google) == ["watch", "watch", "stop"]


async def test_a_refused_watch_is_retried_later_and_logged(watching: Watching) -> None:
    now = datetime.now(UTC)
    watching.google.fail("POST", r"/events/watch$", 500)
    assert await open_channel(watching.given.calendar.id, watching.provider, NOWHERE, now) == "retry"
    assert await WatchChannel.all().count() == 0
    calendar = await ExternalCalendar.get(id=watching.given.calendar.id)
    assert calendar.watch_claimed_until == now + RETRY_AFTER_FAILURE
    assert await claim_due_watches(now + RETRY_AFTER_FAILURE - timedelta(seconds=1), PUSHING) == []
    entry = await SyncLogEntry.get(action="watch")
    assert (entry.outcome, entry.error) == ("retrying", "events.watch: Google answered 500 backendError")


async def test_every_channel_of_a_connection_is_stopped(watching: Watching) -> None:
    # given two watched calendars, one of whose channels Google has forgotten already
    now = datetime.now(UTC)
    watching.google.add_calendar("team@group.calendar.google.com", "Team")
    team = await ExternalCalendar.create(connection=watching.given.connection, name="Team",
                                         provider_calendar_id="team@group.calendar.google.com")
    for calendar_id in (watching.given.calendar.id, team.id):
        assert await open_channel(calendar_id, watching.provider, NOWHERE, now) == "done"
    forgotten = (await WatchChannel.get(external_calendar_id=team.id)).channel_id
    del watching.google.channels.channels[forgotten]
    # when the connection's channels are stopped
    assert await stop_connection_channels(watching.given.connection.id, watching.provider, now) == 2
    # then Google keeps none, and none is live any more
    assert watching.google.channels.channels == {}
    assert await WatchChannel.filter(stopped_at=now).count() == 2


async def test_a_channel_google_will_not_stop_now_stays_live_and_is_logged(watching: Watching) -> None:
    now = datetime.now(UTC)
    assert await open_channel(watching.given.calendar.id, watching.provider, NOWHERE, now) == "done"
    watching.google.fail("POST", r"/channels/stop$", 503)
    assert await stop_connection_channels(watching.given.connection.id, watching.provider, now) == 0
    assert (await WatchChannel.get()).stopped_at is None
    entry = await SyncLogEntry.get(action="unwatch")
    assert (entry.outcome, entry.error) == ("failed", "channels.stop: Google answered 503 backendError")


async def test_the_worker_opens_the_channel_to_the_public_webhook_url(database_url: str, db: str) -> None:
    # given a Google connection whose tokens are stored sealed, and a worker configured with the public URL
    key = new_key()
    async with conforming_google() as google:
        client = OAuthClient(authorize_url=google.authorize_url, token_url=google.token_url,
                             revoke_url=google.revoke_url, client_id=google.oauth.client_id,
                             client_secret=google.oauth.client_secret, redirect_uri="http://127.0.0.1/cb",
                             scopes=("https://www.googleapis.com/auth/calendar",))
        runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused",
                                            secret_keys=(key,),
                                            providers={"google": ProviderSetup(client, google.api_url)},
                                            public_url="http://127.0.0.1:9"))
        access, refresh = google.oauth.issue_tokens()
        sealed = CredentialVault([key]).seal({"access_token": access, "refresh_token": refresh})
        given = await given_connected_staff(USER, credentials=sealed, provider=Provider.GOOGLE)
        # when the watch job runs
        assert await run_watch(given.calendar.id) == "done"
        # then Google notifies the public webhook URL
        (channel,) = google.channels.channels.values()
        assert channel.address == NOWHERE
        assert await WatchChannel.filter(channel_id=channel.channel_id).count() == 1


async def test_without_a_public_url_the_worker_opens_no_channel(database_url: str, db: str) -> None:
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused",
                                        secret_keys=(new_key(),)))
    given = await given_connected_staff(USER, credentials="sealed", provider=Provider.GOOGLE)
    assert await run_watch(given.calendar.id) == "skipped"
    assert await WatchChannel.all().count() == 0
