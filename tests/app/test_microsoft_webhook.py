"""POST /webhooks/microsoft on a real uvicorn server with Redis, reached by the fake Graph: the validation handshake
of a new subscription answered with its decoded token, change notifications answered 202 at once and handing the
calendar's pull to the queue, forged ones (a wrong client state, an unknown subscription) changing nothing, a
notification repeated in one POST pulled once, and the lifecycle events: reauthorizationRequired has the next watch
job renew the subscription by PATCH, subscriptionRemoved has it create a new one while the calendar is pulled,
missed pulls the calendar at once. Everything the fake sent, and every answer, conforms to Graph's description."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from jobs.scheduler import sync_queue
from jobs.watch import open_channel
from models import ExternalCalendar, Provider, WatchChannel
from providers.microsoft import MicrosoftProvider
from providers.registry import pushing
from services.sync_dispatch import LEASE
from services.watch_channels import RENEW_AHEAD, claim_due_watches
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.graph_contract import conforming_microsoft
from tests.support.microsoft import microsoft_provider
from tests.support.server import live_server
from tests.support.sync import ConnectedStaff, given_connected_staff

CLIENT_STATE_HINT = "forged-client-state"


@dataclass
class Subscribed:
    """A calendar whose subscription at the fake notifies the server, not due for a pull for an hour."""

    server: str
    microsoft: FakeMicrosoft
    provider: MicrosoftProvider
    given: ConnectedStaff
    subscription_id: str
    redis_url: str


@pytest.fixture(scope="module")
def server(database_url: str, redis_session_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(database_url, tmp_path_factory.mktemp("microsoft-webhook"), 1, LOCKSTEP_METRICS="open",
                     LOCKSTEP_REDIS_URL=redis_session_url) as base:
        yield base


def deliveries_checked(base: str) -> float:
    """How many Microsoft deliveries the server has answered as handshakes or checked, whatever became of them."""
    text = httpx.get(f"{base}/metrics").text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "lockstep_webhook_deliveries_total" and sample.labels.get("provider") == "microsoft")


async def until_checked(base: str, count: float) -> None:
    deadline = time.monotonic() + 10
    while deliveries_checked(base) < count:
        assert time.monotonic() < deadline, "the notification was never checked"
        await asyncio.sleep(0.01)


def queued(redis_url: str) -> list[tuple[str | None, Any]]:
    return [(job.func_name, job.args) for job in sync_queue(Redis.from_url(redis_url)).jobs]


@pytest.fixture
async def subscribed(server: str, db: str, redis_url: str) -> AsyncIterator[Subscribed]:
    async with conforming_microsoft() as microsoft, microsoft_provider(microsoft) as (provider, _):
        given = await given_connected_staff(microsoft.default_calendar_id(), credentials="sealed",
                                            provider=Provider.MICROSOFT)
        handshakes = deliveries_checked(server)
        assert await open_channel(given.calendar.id, provider, f"{server}/webhooks/microsoft",
                                  datetime.now(UTC)) == "done"
        await until_checked(server, handshakes + 1)
        await ExternalCalendar.filter(id=given.calendar.id).update(
            next_pull_at=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1))
        (subscription_id,) = microsoft.subscriptions.live
        yield Subscribed(server, microsoft, provider, given, subscription_id, redis_url)


async def heard(subscribed: Subscribed, action: Any) -> None:
    """Do what makes the fake notify, and wait until the server has checked what it sent."""
    before = deliveries_checked(subscribed.server)
    sent = len(subscribed.microsoft.subscriptions.deliveries)
    action()
    await subscribed.microsoft.notifications_sent()
    await until_checked(subscribed.server, before + len(subscribed.microsoft.subscriptions.deliveries) - sent)


async def snapshot() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (await ExternalCalendar.all().order_by("id").values(),
            await WatchChannel.all().order_by("id").values())


async def test_the_handshake_is_answered_and_a_change_hands_the_pull_to_the_queue(subscribed: Subscribed) -> None:
    # given the subscription Graph created once the server echoed its validation token
    (validation,) = subscribed.microsoft.subscriptions.deliveries
    assert (validation.kind, validation.status, validation.answer_type, validation.answer) == (
        "validation", 200, "text/plain; charset=utf-8", validation.token)
    assert validation.seconds < 1
    # when the technician adds an event in Outlook
    before = datetime.now(UTC)
    await heard(subscribed, lambda: subscribed.microsoft.insert_by_hand(
        subscribed.microsoft.default_calendar_id(), {
            "subject": "Dentist", "start": {"dateTime": "2030-01-08T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-01-08T10:00:00", "timeZone": "UTC"}}))
    # then the notification was answered 202 with nothing, fast, and the calendar's pull is on the queue, claimed
    (notification,) = subscribed.microsoft.subscriptions.deliveries[1:]
    assert (notification.kind, notification.status, notification.answer) == ("notification", 202, "")
    assert notification.seconds < 1
    assert queued(subscribed.redis_url) == [("jobs.tasks.pull", (subscribed.given.calendar.id,))]
    due = (await ExternalCalendar.get(id=subscribed.given.calendar.id)).next_pull_at
    assert due is not None and before + LEASE <= due <= datetime.now(UTC) + LEASE


async def test_a_validation_token_is_echoed_decoded_as_plain_text(server: str) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1f4e <&> ü"
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{server}/webhooks/microsoft", params={"validationToken": token},
                                   headers={"Content-Type": "text/plain; charset=utf-8"})
    assert (answer.status_code, answer.headers["content-type"], answer.text) == (
        200, "text/plain; charset=utf-8", token)
    assert answer.headers["x-content-type-options"] == "nosniff"


def change(subscription_id: str, client_state: str | None) -> dict[str, Any]:
    return {"subscriptionId": subscription_id, "clientState": client_state, "changeType": "updated",
            "resource": "Users/u/Events/e", "tenantId": "t", "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": "e"}}


async def post(subscribed: Subscribed, items: list[dict[str, Any]], checks: int) -> httpx.Response:
    """POST a notification collection as Graph does; return the answer once the server has checked `checks`."""
    before = deliveries_checked(subscribed.server)
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{subscribed.server}/webhooks/microsoft", content=json.dumps({"value": items}),
                                   headers={"Content-Type": "application/json"})
    await until_checked(subscribed.server, before + checks)
    return answer


@pytest.mark.parametrize("forged", ["wrong client state", "no client state", "unknown subscription"])
async def test_forged_notifications_change_nothing(subscribed: Subscribed, forged: str) -> None:
    # given the calendar and its subscription as they are
    item = {"wrong client state": change(subscribed.subscription_id, CLIENT_STATE_HINT),
            "no client state": change(subscribed.subscription_id, None),
            "unknown subscription": change("3c0b9c8a-unknown", CLIENT_STATE_HINT)}[forged]
    before = await snapshot()
    # when a notification arrives that Graph did not send
    answer = await post(subscribed, [item], 1)
    # then it is answered as any other, and nothing changed or was queued
    assert (answer.status_code, answer.content) == (202, b"")
    assert await snapshot() == before
    assert queued(subscribed.redis_url) == []


async def test_one_subscriptions_notification_repeated_in_a_post_is_one_pull(subscribed: Subscribed) -> None:
    # given Graph's real client state, as its deliveries carry it
    state = subscribed.microsoft.subscriptions.live[subscribed.subscription_id].client_state
    item = change(subscribed.subscription_id, state)
    # when one POST repeats the same change three times
    answer = await post(subscribed, [item, item, {**item, "changeType": "created"}], 1)
    # then it is checked once and one pull is queued
    assert answer.status_code == 202
    assert queued(subscribed.redis_url) == [("jobs.tasks.pull", (subscribed.given.calendar.id,))]


async def test_reauthorization_required_has_the_next_watch_job_renew_by_patch(subscribed: Subscribed) -> None:
    # given a subscription a week from running out
    (row,) = await WatchChannel.all()
    assert row.expires_at > datetime.now(UTC) + timedelta(days=6)
    # when Graph asks for it to be reauthorised
    now = datetime.now(UTC)
    await heard(subscribed, lambda: subscribed.microsoft.send_lifecycle(subscribed.subscription_id,
                                                                        "reauthorizationRequired"))
    # then it counts as inside the renewal margin, and the calendar is due its watch job
    asked = await WatchChannel.get(id=row.id)
    assert now + RENEW_AHEAD <= asked.expires_at <= datetime.now(UTC) + RENEW_AHEAD
    assert await claim_due_watches(datetime.now(UTC), pushing()) == [subscribed.given.calendar.id]
    # when the watch job runs
    subscribed.microsoft.log.clear()
    assert await open_channel(subscribed.given.calendar.id, subscribed.provider,
                              f"{subscribed.server}/webhooks/microsoft", datetime.now(UTC)) == "done"
    # then the same subscription is renewed by PATCH, a week on again, and nothing else was asked of Graph
    renewed = await WatchChannel.get(id=row.id)
    assert [(entry.method, entry.path) for entry in subscribed.microsoft.log] == [
        ("PATCH", f"/v1.0/subscriptions/{subscribed.subscription_id}")]
    assert list(subscribed.microsoft.subscriptions.live) == [subscribed.subscription_id]
    assert renewed.expires_at > datetime.now(UTC) + timedelta(days=6)
    assert (renewed.stopped_at, await WatchChannel.all().count()) == (None, 1)


async def test_a_removed_subscription_is_replaced_and_the_calendar_pulled_meanwhile(subscribed: Subscribed) -> None:
    # when Graph removes the subscription
    before = datetime.now(UTC)
    await heard(subscribed, lambda: subscribed.microsoft.send_lifecycle(subscribed.subscription_id,
                                                                        "subscriptionRemoved"))
    # then it is recorded stopped, and the calendar is due a pull now (no notification came since the removal)
    (row,) = await WatchChannel.all()
    assert row.stopped_at is not None and before <= row.stopped_at <= datetime.now(UTC)
    due = (await ExternalCalendar.get(id=subscribed.given.calendar.id)).next_pull_at
    assert due is not None and before <= due <= datetime.now(UTC)
    # when the next watch job runs, then a new subscription watches the calendar
    assert await claim_due_watches(datetime.now(UTC), pushing()) == [subscribed.given.calendar.id]
    assert await open_channel(subscribed.given.calendar.id, subscribed.provider,
                              f"{subscribed.server}/webhooks/microsoft", datetime.now(UTC)) == "done"
    (new,) = subscribed.microsoft.subscriptions.live
    assert new != subscribed.subscription_id
    assert await WatchChannel.filter(stopped_at=None).values_list("channel_id", flat=True) == [new]


async def test_missed_notifications_pull_the_calendar_at_once(subscribed: Subscribed) -> None:
    before = await WatchChannel.all().values()
    await heard(subscribed, lambda: subscribed.microsoft.send_lifecycle(subscribed.subscription_id, "missed"))
    assert queued(subscribed.redis_url) == [("jobs.tasks.pull", (subscribed.given.calendar.id,))]
    assert await WatchChannel.all().values() == before
