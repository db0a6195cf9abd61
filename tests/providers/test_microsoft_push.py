"""Graph change notifications: a subscription per calendar (validated by the receiver, notifying each change with the
client state), renewed before it runs out, capped where Graph caps it, and deleted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from providers.base import NotFound, ProviderError, Subscription
from tests.support.microsoft import Graph, by_hand, connected
from tests.support.server import free_port

CLIENT_STATE = "secret-client-state"


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that echoes Graph's validation token and keeps the notifications it gets."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        token = request.query.get("validationToken")
        if token is not None:
            return web.Response(status=200, text=token, content_type="text/plain")
        self.received.append(json.loads(await request.read()))
        return web.Response(status=202)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver()
    app = web.Application()
    app.router.add_post("/webhooks/microsoft", made.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    made.url = f"http://127.0.0.1:{port}/webhooks/microsoft"
    yield made
    await runner.cleanup()


@pytest.fixture
async def graph() -> AsyncIterator[Graph]:
    async with connected() as made:
        yield made


def lifetime(subscription: Subscription) -> timedelta:
    return subscription.expires_at - datetime.now(UTC)


async def test_a_subscription_watches_one_calendar_and_notifies_each_change(graph: Graph,
                                                                           receiver: Receiver) -> None:
    # when Lockstep watches the calendar
    subscription = await graph.provider.watch(graph.calendar_id, receiver.url, CLIENT_STATE)
    # then Graph was asked for changes to that calendar's events, for about a week
    create = next(entry for entry in graph.fake.log if entry.path.endswith("/subscriptions"))
    assert {key: value for key, value in create.body.items() if key != "expirationDateTime"} == {
        "changeType": "created,updated,deleted", "notificationUrl": receiver.url,
        "lifecycleNotificationUrl": receiver.url, "resource": f"me/calendars/{graph.calendar_id}/events",
        "clientState": CLIENT_STATE}
    assert (create.status, subscription.resource_id) == (201, f"me/calendars/{graph.calendar_id}/events")
    assert timedelta(minutes=9_998) < lifetime(subscription) <= timedelta(minutes=10_000)
    # and when the staff member adds an event, the receiver hears of it with the client state
    added = graph.fake.insert_by_hand(graph.calendar_id, by_hand("Dentist", 8))
    await graph.fake.notifications_sent()
    [notification] = [item for body in receiver.received for item in body["value"]]
    assert (notification["subscriptionId"], notification["changeType"], notification["clientState"]) == (
        subscription.subscription_id, "created", CLIENT_STATE)
    assert notification["resourceData"]["id"] == graph.fake.immutable_id(added["id"])


async def test_a_lifetime_graph_refuses_is_asked_again_within_its_cap(graph: Graph, receiver: Receiver) -> None:
    graph.fake.subscriptions.max_expiry_minutes = 4230
    subscription = await graph.provider.watch(graph.calendar_id, receiver.url, CLIENT_STATE)
    creates = [entry.status for entry in graph.fake.log if entry.path.endswith("/subscriptions")]
    assert creates == [400, 201]
    assert timedelta(minutes=4_218) < lifetime(subscription) <= timedelta(minutes=4_220)
    # and a renewal meets the same cap the same way
    renewed = await graph.provider.renew(subscription)
    assert timedelta(minutes=4_218) < lifetime(renewed) <= timedelta(minutes=4_220)


async def test_a_renewal_extends_the_subscription(graph: Graph, receiver: Receiver) -> None:
    graph.fake.subscriptions.max_expiry_minutes = 20_000  # so the first ask is granted as asked
    subscription = await graph.provider.watch(graph.calendar_id, receiver.url, CLIENT_STATE)
    graph.fake.subscriptions.live[subscription.subscription_id].expiration = datetime.now(UTC) + timedelta(hours=1)
    renewed = await graph.provider.renew(subscription)
    assert (renewed.subscription_id, renewed.resource_id) == (subscription.subscription_id,
                                                              subscription.resource_id)
    assert timedelta(minutes=9_998) < lifetime(renewed) <= timedelta(minutes=10_000)
    stored = graph.fake.subscriptions.live[subscription.subscription_id].expiration
    assert abs(stored - renewed.expires_at) < timedelta(seconds=1)


async def test_a_deleted_subscription_stays_quiet_and_is_not_found_again(graph: Graph, receiver: Receiver) -> None:
    subscription = await graph.provider.watch(graph.calendar_id, receiver.url, CLIENT_STATE)
    await graph.provider.unwatch(subscription)
    graph.fake.insert_by_hand(graph.calendar_id, by_hand("Dentist", 8))
    await graph.fake.notifications_sent()
    assert receiver.received == []
    with pytest.raises(NotFound):
        await graph.provider.unwatch(subscription)
    with pytest.raises(NotFound):
        await graph.provider.renew(subscription)
    deletes = [entry.status for entry in graph.fake.log if entry.method == "DELETE"]
    assert deletes == [204, 404]


async def test_a_client_state_graph_would_refuse_is_never_sent(graph: Graph, receiver: Receiver) -> None:
    with pytest.raises(ProviderError) as raised:
        await graph.provider.watch(graph.calendar_id, receiver.url, "x" * 129)
    assert "x" * 129 not in str(raised.value)
    assert graph.fake.log == []
