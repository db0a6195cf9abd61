"""Push channels: events.watch makes Google notify a receiver (sync first, then exists on each change) until
channels.stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from providers.base import NotFound
from providers.google import GoogleProvider
from tests.fakes.google import FakeGoogle
from tests.providers.google_fixtures import CALENDAR, by_hand
from tests.support.server import free_port


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps what it was sent and answers 200."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver()
    app = web.Application()
    app.router.add_post("/webhooks/google", made.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    made.url = f"http://127.0.0.1:{port}/webhooks/google"
    yield made
    await runner.cleanup()


def goog(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.startswith("X-Goog-")}


async def test_a_channel_notifies_sync_then_each_change(google: FakeGoogle, provider: GoogleProvider,
                                                        receiver: Receiver) -> None:
    # when Lockstep watches the calendar
    subscription = await provider.watch(CALENDAR, receiver.url, "secret-channel-token")
    assert subscription is not None
    assert timedelta(days=6, hours=23) < subscription.expires_at - datetime.now(UTC) <= timedelta(days=7)
    await google.notifications_sent()
    # then the receiver got the sync message
    [(headers, body)] = receiver.received
    expiry = headers["X-Goog-Channel-Expiration"]
    resource_uri = f"{google.api_url}calendars/tech%40example.com/events?alt=json"
    assert (body, headers["User-Agent"], goog(headers)) == (b"", "APIs-Google", {
        "X-Goog-Channel-ID": subscription.subscription_id, "X-Goog-Message-Number": "1",
        "X-Goog-Resource-ID": subscription.resource_id, "X-Goog-Resource-State": "sync",
        "X-Goog-Resource-URI": resource_uri, "X-Goog-Channel-Expiration": expiry,
        "X-Goog-Channel-Token": "secret-channel-token"})
    # and when the staff member adds and deletes an event, one exists message each, numbers growing
    event = google.insert_by_hand(CALENDAR, by_hand("Dentist", 8))
    google.delete_by_hand(CALENDAR, event["id"])
    await google.notifications_sent()
    later = [goog(headers) for headers, _ in receiver.received[1:]]
    assert [(h["X-Goog-Resource-State"], h["X-Goog-Channel-Token"]) for h in later] == [
        ("exists", "secret-channel-token")] * 2
    numbers = [int(h["X-Goog-Message-Number"]) for h in later]
    assert 1 < numbers[0] < numbers[1]


async def test_a_stopped_channel_stays_quiet(google: FakeGoogle, provider: GoogleProvider,
                                             receiver: Receiver) -> None:
    subscription = await provider.watch(CALENDAR, receiver.url, "secret-channel-token")
    assert subscription is not None
    await google.notifications_sent()
    # when the channel is stopped
    await provider.unwatch(subscription)
    google.insert_by_hand(CALENDAR, by_hand("Dentist", 8))
    await google.notifications_sent()
    # then no change is notified after the sync message, and stopping again finds no channel
    assert [headers["X-Goog-Resource-State"] for headers, _ in receiver.received] == ["sync"]
    with pytest.raises(NotFound):
        await provider.unwatch(subscription)
    stop = next(entry for entry in google.log if entry.path.endswith("/channels/stop"))
    assert (stop.body, stop.status) == ({"id": subscription.subscription_id,
                                         "resourceId": subscription.resource_id}, 204)


async def test_each_watch_is_a_new_channel_on_the_same_resource(provider: GoogleProvider,
                                                                receiver: Receiver) -> None:
    first = await provider.watch(CALENDAR, receiver.url, "token-1")
    second = await provider.watch(CALENDAR, receiver.url, "token-2")
    assert first is not None and second is not None
    assert first.subscription_id != second.subscription_id
    assert first.resource_id == second.resource_id
