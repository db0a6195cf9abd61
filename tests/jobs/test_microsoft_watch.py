"""Graph subscriptions opened, renewed and deleted by the job bodies against the fake Graph, which validates each
new subscription by POSTing its handshake to the real `/webhooks/microsoft` of a uvicorn server of this database.
A subscription Graph refuses (an http address where Graph wants https) is logged, and its calendar is polled as
one without push."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from jobs.tasks import run_pull, run_watch
from jobs.watch import open_channel, stop_connection_channels
from models import ExternalCalendar, Provider, SyncLogEntry, WatchChannel, WorkingHoursRange
from providers.microsoft import MicrosoftProvider
from providers.registry import pushing
from services.sync_schedule import TIMING
from services.watch_channels import RENEW_AHEAD, RETRY_AFTER_FAILURE, claim_due_watches, token_hash
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.graph_contract import conforming_microsoft
from tests.support.microsoft import microsoft_provider
from tests.support.microsoft_jobs import given_microsoft_connection
from tests.support.server import live_server
from tests.support.sync import ConnectedStaff, given_connected_staff

PUSHING = pushing()


@dataclass
class Watching:
    microsoft: FakeMicrosoft
    provider: MicrosoftProvider
    given: ConnectedStaff
    address: str


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(database_url, tmp_path_factory.mktemp("microsoft-watch")) as base:
        yield base


@pytest.fixture
async def watching(server: str, db: str) -> AsyncIterator[Watching]:
    async with conforming_microsoft() as microsoft, microsoft_provider(microsoft) as (provider, _):
        given = await given_connected_staff(microsoft.default_calendar_id(), credentials="sealed",
                                            provider=Provider.MICROSOFT)
        yield Watching(microsoft, provider, given, f"{server}/webhooks/microsoft")


def calls(microsoft: FakeMicrosoft) -> list[str]:
    """The subscription calls the fake received, as METHOD and the path's first segment after the root."""
    return [f"{entry.method} {entry.path.split('/')[2]}" for entry in microsoft.log
            if entry.path.startswith("/v1.0/subscriptions")]


async def test_a_subscription_is_created_with_a_secret_client_state_of_which_only_the_hash_is_kept(
        watching: Watching) -> None:
    # given the calendar claimed by the scheduler
    now = datetime.now(UTC)
    assert await claim_due_watches(now, PUSHING) == [watching.given.calendar.id]
    # when the job opens its subscription
    assert await open_channel(watching.given.calendar.id, watching.provider, watching.address, now) == "done"
    # then Graph validated our webhook and watches the calendar's events for it, changes and lifecycle alike
    (subscription,) = watching.microsoft.subscriptions.live.values()
    assert [(delivery.kind, delivery.status) for delivery in watching.microsoft.subscriptions.deliveries] == [
        ("validation", 200)]
    assert (subscription.resource, subscription.calendar_id, subscription.change_types) == (
        f"me/calendars/{watching.microsoft.default_calendar_id()}/events",
        watching.microsoft.default_calendar_id(), ("created", "updated", "deleted"))
    assert (subscription.notification_url, subscription.lifecycle_url) == (watching.address, watching.address)
    assert subscription.client_state is not None and 32 <= len(subscription.client_state) <= 128
    # and Lockstep knows it by its id and the client state's hash alone
    (row,) = await WatchChannel.all()
    assert (row.channel_id, row.token_hash, row.stopped_at) == (
        subscription.subscription_id, token_hash(subscription.client_state), None)
    assert row.expires_at == subscription.expiration.replace(microsecond=0)
    calendar = await ExternalCalendar.get(id=watching.given.calendar.id)
    assert (calendar.watch_claimed_until, calendar.watch_due_at) == (None, row.expires_at - RENEW_AHEAD)


async def test_a_second_run_creates_no_second_subscription(watching: Watching) -> None:
    now = datetime.now(UTC)
    assert await open_channel(watching.given.calendar.id, watching.provider, watching.address, now) == "done"
    assert await open_channel(watching.given.calendar.id, watching.provider, watching.address, now) == "skipped"
    assert len(watching.microsoft.subscriptions.live) == 1
    assert calls(watching.microsoft) == ["POST subscriptions"]


async def test_a_subscription_running_out_is_renewed_by_patch_and_keeps_its_id(watching: Watching) -> None:
    # given a subscription with two hours left (inside the renewal margin)
    now = datetime.now(UTC)
    assert await open_channel(watching.given.calendar.id, watching.provider, watching.address, now) == "done"
    (subscription,) = watching.microsoft.subscriptions.live.values()
    soon = (now + timedelta(hours=2)).replace(microsecond=0)
    subscription.expiration = soon
    await WatchChannel.all().update(expires_at=soon)
    await ExternalCalendar.all().update(watch_due_at=soon - RENEW_AHEAD)
    # when the scheduler claims the calendar again and the job runs
    assert await claim_due_watches(now, PUSHING) == [watching.given.calendar.id]
    assert await open_channel(watching.given.calendar.id, watching.provider, watching.address, now) == "done"
    # then the same subscription runs about a week longer, at Graph and in Lockstep
    (row,) = await WatchChannel.all()
    assert list(watching.microsoft.subscriptions.live) == [row.channel_id] == [subscription.subscription_id]
    assert row.expires_at == subscription.expiration.replace(microsecond=0)
    assert row.expires_at > now + timedelta(days=6)
    assert row.stopped_at is None
    assert calls(watching.microsoft) == ["POST subscriptions", "PATCH subscriptions"]


async def test_a_subscription_graph_no_longer_knows_is_replaced_by_a_new_one(watching: Watching) -> None:
    # given a subscription inside the renewal margin that Graph has dropped meanwhile
    now = datetime.now(UTC)
    assert await open_channel(watching.given.calendar.id, watching.provider, watching.address, now) == "done"
    old = await WatchChannel.get()
    await WatchChannel.filter(id=old.id).update(expires_at=now + timedelta(hours=2))
    del watching.microsoft.subscriptions.live[old.channel_id]
    # when the job runs
    assert await open_channel(watching.given.calendar.id, watching.provider, watching.address, now) == "done"
    # then a new subscription watches the calendar, and the old one is recorded stopped
    (new,) = watching.microsoft.subscriptions.live.values()
    assert await WatchChannel.filter(stopped_at=None).values_list("channel_id", flat=True) == [new.subscription_id]
    assert (await WatchChannel.get(id=old.id)).stopped_at == now
    assert calls(watching.microsoft) == ["POST subscriptions", "PATCH subscriptions", "POST subscriptions",
                                         "DELETE subscriptions"]
    (renewal,) = await SyncLogEntry.filter(action="renew").values_list("outcome", flat=True)
    assert renewal == "failed"


async def test_every_subscription_of_a_connection_is_deleted(watching: Watching) -> None:
    now = datetime.now(UTC)
    assert await open_channel(watching.given.calendar.id, watching.provider, watching.address, now) == "done"
    assert await stop_connection_channels(watching.given.connection.id, watching.provider, now) == 1
    assert watching.microsoft.subscriptions.live == {}
    assert await WatchChannel.filter(stopped_at=now).count() == 1
    assert calls(watching.microsoft)[-1] == "DELETE subscriptions"


async def test_the_worker_subscribes_the_public_webhook_url(server: str, database_url: str, db: str) -> None:
    async with conforming_microsoft() as microsoft:
        # given a connection whose tokens are stored sealed, and a worker configured with the public URL
        connection = await given_microsoft_connection(microsoft, database_url, timedelta(hours=1), server)
        # when the watch job runs
        assert await run_watch(connection.given.calendar.id) == "done"
        # then Graph notifies the server's webhook
        (subscription,) = microsoft.subscriptions.live.values()
        assert subscription.notification_url == f"{server}/webhooks/microsoft"
        assert await WatchChannel.filter(channel_id=subscription.subscription_id).count() == 1


async def test_an_http_address_graph_refuses_is_logged_and_the_calendar_is_polled_without_push(
        server: str, database_url: str, db: str) -> None:
    async with conforming_microsoft() as microsoft:
        # given Graph wanting https, a public URL of plain http, and a technician not bookable in the next days
        microsoft.subscriptions.require_https = True
        connection = await given_microsoft_connection(microsoft, database_url, timedelta(hours=1), server)
        await WorkingHoursRange.all().delete()
        calendar_id = connection.given.calendar.id
        # when the watch job runs
        before = datetime.now(UTC)
        assert await run_watch(calendar_id) == "retry"
        # then no subscription exists, the refusal is in the sync log, and the job is tried again later
        assert microsoft.subscriptions.live == {}
        assert await WatchChannel.all().count() == 0
        entry = await SyncLogEntry.get(action="watch")
        assert (entry.outcome, entry.error) == (
            "retrying", "subscription.create: Microsoft Graph answered 400 InvalidRequest (notificationUrl must use "
                        "the https scheme.)")
        claimed = (await ExternalCalendar.get(id=calendar_id)).watch_claimed_until
        assert claimed is not None and before + RETRY_AFTER_FAILURE <= claimed <= datetime.now(
            UTC) + RETRY_AFTER_FAILURE
        # when the calendar is pulled
        assert await run_pull(calendar_id) == "done"
        pulled = datetime.now(UTC)
        # then it is due again as a calendar without push is, not at the backstop of a pushing one
        due = (await ExternalCalendar.get(id=calendar_id)).next_pull_at
        assert due is not None and before + TIMING.hot_poll <= due <= pulled + TIMING.hot_poll
