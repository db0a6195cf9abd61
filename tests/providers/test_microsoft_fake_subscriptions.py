"""Change-notification subscriptions of the fake Microsoft Graph over real HTTP, against a tiny receiver: the
validation handshake (and a receiver that fails it), notifications of changes by hand and by API scoped to the
subscribed calendar, renewal, lifecycle notifications, expiry, and the limits on expiry, clientState and scheme.
Traffic, the fake's POSTs and the receiver's answers are checked against the contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.fakes.microsoft import FakeMicrosoft
from tests.support.graph_contract import check_graph_traffic, graph_client

CLIENT_STATE = "a-secret-of-the-subscriber"


class Receiver:
    """A subscriber's endpoint: echoes validation tokens (or not) and keeps what it is sent."""

    def __init__(self, echo: str = "decoded") -> None:
        self.echo = echo
        self.tokens: list[str] = []
        self.notifications: list[dict[str, Any]] = []
        self.lifecycle: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        if "validationToken" in request.query:
            token = request.query["validationToken"]
            self.tokens.append(token)
            answer = token if self.echo == "decoded" else request.raw_path.split("validationToken=")[1]
            return web.Response(text=answer, content_type="text/plain")
        (self.lifecycle if request.path == "/lifecycle" else self.notifications).append(await request.json())
        return web.Response(status=202)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        app.router.add_post("/lifecycle", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as endpoint:
        yield endpoint


def expiry(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def subscription(receiver: Receiver, resource: str, **more: Any) -> dict[str, Any]:
    return {"changeType": "created,updated,deleted", "notificationUrl": f"{receiver.url}/hook",
            "lifecycleNotificationUrl": f"{receiver.url}/lifecycle", "resource": resource,
            "expirationDateTime": expiry(4000), "clientState": CLIENT_STATE, **more}


def event(subject: str) -> dict[str, Any]:
    return {"subject": subject, "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-02T10:00:00", "timeZone": "UTC"}}


async def test_the_handshake_validates_both_urls_before_the_subscription_exists(
        ms: FakeMicrosoft, graph: httpx.AsyncClient, receiver: Receiver) -> None:
    created = await graph.post("/subscriptions", json=subscription(receiver, "me/events"))
    body = created.json()
    assert (created.status_code, body["resource"], body["changeType"], body["clientState"]) == (
        201, "me/events", "created,updated,deleted", CLIENT_STATE)
    sent = [delivery for delivery in ms.subscriptions.deliveries if delivery.kind == "validation"]
    assert [delivery.url.split("?")[0] for delivery in sent] == [f"{receiver.url}/hook", f"{receiver.url}/lifecycle"]
    assert receiver.tokens == [delivery.token for delivery in sent]
    assert all(" " in token and ":" in token for token in receiver.tokens)  # needs encoding in the query
    assert [item["id"] for item in (await graph.get("/subscriptions")).json()["value"]] == [body["id"]]


async def test_a_receiver_that_echoes_the_encoded_token_gets_no_subscription() -> None:
    async with FakeMicrosoft() as ms, graph_client(ms) as graph, Receiver(echo="encoded") as receiver:
        refused = await graph.post("/subscriptions", json=subscription(receiver, "me/events"))
        listed = await graph.get("/subscriptions")
    assert (refused.status_code, refused.json()["error"]["code"], listed.json()["value"]) == (
        400, "ValidationError", [])
    assert check_graph_traffic([*ms.log, *ms.subscriptions.deliveries]) == [
        "validation POST: the receiver did not answer 200 text/plain with the decoded token in 10 s (answered 200)"]


async def test_changes_in_the_subscribed_calendar_are_notified(ms: FakeMicrosoft, graph: httpx.AsyncClient,
                                                               receiver: Receiver) -> None:
    team = ms.add_calendar("Team")
    created = (await graph.post("/subscriptions", json=subscription(receiver, f"me/calendars/{team}/events"))).json()
    by_hand = ms.insert_by_hand(team, event("Dentist"))
    by_api = (await graph.post(f"/me/calendars/{team}/events", json=event("Booking"))).json()
    ms.insert_by_hand(ms.default_calendar_id(), event("Elsewhere"))
    await graph.delete(f"/me/events/{by_api['id']}")
    await ms.notifications_sent()
    user_id = (await graph.get("/me")).json()["id"]
    items = [item for notification in receiver.notifications for item in notification["value"]]
    assert [(item["changeType"], item["resource"]) for item in items] == [
        ("created", f"Users/{user_id}/Events/{by_hand['id']}"), ("created", f"Users/{user_id}/Events/{by_api['id']}"),
        ("deleted", f"Users/{user_id}/Events/{by_api['id']}")]
    assert {(item["subscriptionId"], item["clientState"], item["tenantId"]) for item in items} == {
        (created["id"], CLIENT_STATE, ms.tenant_id)}
    assert [delivery.status for delivery in ms.subscriptions.deliveries if delivery.kind == "notification"] == [202] * 3


async def test_me_events_covers_the_default_calendar_only(ms: FakeMicrosoft, graph: httpx.AsyncClient,
                                                          receiver: Receiver) -> None:
    await graph.post("/subscriptions", json=subscription(receiver, "me/events"))
    ms.insert_by_hand(ms.add_calendar("Team"), event("Team meeting"))
    default = ms.insert_by_hand(ms.default_calendar_id(), event("Dentist"))
    await ms.notifications_sent()
    assert [item["resourceData"]["id"] for notification in receiver.notifications
            for item in notification["value"]] == [default["id"]]


async def test_renewal_lifecycle_and_expiry(ms: FakeMicrosoft, graph: httpx.AsyncClient, receiver: Receiver) -> None:
    created = (await graph.post("/subscriptions", json=subscription(receiver, "me/events"))).json()
    renewed = await graph.patch(f"/subscriptions/{created['id']}", json={"expirationDateTime": expiry(10000)})
    reauthorized = await graph.post(f"/subscriptions/{created['id']}/reauthorize")
    assert (renewed.status_code, renewed.json()["expirationDateTime"] > created["expirationDateTime"],
            reauthorized.status_code) == (200, True, 204)
    ms.send_lifecycle(created["id"], "reauthorizationRequired")
    ms.subscriptions.expire(created["id"])
    ms.insert_by_hand(ms.default_calendar_id(), event("Unseen"))
    await ms.notifications_sent()
    assert ([item["lifecycleEvent"] for body in receiver.lifecycle for item in body["value"]],
            receiver.notifications) == (["reauthorizationRequired"], [])
    assert (await graph.get(f"/subscriptions/{created['id']}")).status_code == 404


async def test_subscription_removed_and_delete(ms: FakeMicrosoft, graph: httpx.AsyncClient,
                                               receiver: Receiver) -> None:
    removed = (await graph.post("/subscriptions", json=subscription(receiver, "me/events"))).json()
    deleted = (await graph.post("/subscriptions", json=subscription(receiver, "me/events"))).json()
    ms.send_lifecycle(removed["id"], "subscriptionRemoved")
    await ms.notifications_sent()
    assert (await graph.delete(f"/subscriptions/{deleted['id']}")).status_code == 204
    assert ((await graph.get("/subscriptions")).json()["value"],
            [item["lifecycleEvent"] for body in receiver.lifecycle for item in body["value"]]) == (
        [], ["subscriptionRemoved"])


async def test_expiry_client_state_and_scheme_limits(ms: FakeMicrosoft, graph: httpx.AsyncClient,
                                                     receiver: Receiver) -> None:
    too_far = await graph.post("/subscriptions", json=subscription(receiver, "me/events",
                                                                   expirationDateTime=expiry(10080)))
    too_long = await graph.post("/subscriptions", json=subscription(receiver, "me/events", clientState="x" * 129))
    one_event = await graph.post("/subscriptions", json=subscription(receiver, "me/events/AAMkAD1"))
    soon = (await graph.post("/subscriptions", json=subscription(receiver, "me/events",
                                                                 expirationDateTime=expiry(5)))).json()
    ms.subscriptions.require_https = True
    insecure = await graph.post("/subscriptions", json=subscription(receiver, "me/events"))
    assert (too_far.status_code, too_far.json()["error"]) == (400, too_far.json()["error"] | {
        "code": "ExtensionError", "message": "Subscription expiration can only be 10070 minutes in the future."})
    assert [answer.status_code for answer in (too_long, one_event, insecure)] == [400, 400, 400]
    granted = datetime.fromisoformat(soon["expirationDateTime"].replace("Z", "+00:00")) - datetime.now(UTC)
    assert timedelta(minutes=44) < granted <= timedelta(minutes=45)
